use super::*;
use crate::store::cql::Cql;
use crate::store::Store;

/// Minute bars of 2024-05-06..08 (UTC) whose minute index `i` passes `keep`, with
/// values that tell the two writers apart.
fn minutes(keep: impl Fn(i64) -> bool, price: f64) -> Bars {
    let start = days_from_civil(2024, 5, 6) * DAY * 1000;
    let mut bars = Bars::default();
    for i in (0..3 * 24 * 60).filter(|&i| keep(i)) {
        let p = price + i as f64 / 100.0;
        bars.push((start + i * 60_000, [p, p + 1.0, p - 1.0, p, i as f64]));
    }
    bars
}

/// A keyspace of its own on the node the tests use (`BARSTORE_TEST_CQL=host:port`, the
/// test command starts one; without it the test is skipped), dropped at the end.
struct Node {
    cql: Cql,
    keyspace: String,
}

impl Node {
    fn open(name: &str) -> Option<Node> {
        let node = crate::testing::cql_node(&format!("store::cql::layout::chunked::{name}"))?;
        let keyspace = format!("{name}_{}", std::process::id());
        let url = format!("cql://{node}/{keyspace}");
        let cql = Cql::connect(&url, Default::default()).unwrap();
        cql.begin_load().unwrap();
        Some(Node { cql, keyspace })
    }

    fn series(&self) -> Series {
        Series::minute("XYZ").unwrap()
    }

    fn zone(&self) -> Zone {
        Zone::new("UTC").unwrap()
    }

    /// The month of [`minutes`].
    fn month(&self) -> Month {
        Month::of_local(days_from_civil(2024, 5, 6) * DAY)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let drop = format!("DROP KEYSPACE IF EXISTS {}", self.keyspace);
        let _ = self
            .cql
            .block_on(self.cql.session().query_unpaged(drop, ()));
    }
}

fn rows(bars: &Bars) -> Vec<crate::bars::Row> {
    (0..bars.len()).map(|i| bars.row(i)).collect()
}

/// A writer that read the month, then saw another writer commit before its own
/// commit, is refused by the version it read; writing again merges both writers'
/// bars. Needs a node: `BARSTORE_TEST_CQL=host:port` (the test command starts one).
#[test]
fn a_write_on_a_stale_version_is_refused_and_merged_again() {
    let Some(node) = Node::open("fence") else {
        return;
    };
    let (db, series, zone, month) = (&node.cql.db, node.series(), node.zone(), node.month());
    let (a, b) = (
        minutes(|i| i % 2 == 0, 100.0),
        minutes(|i| i % 2 == 1, 200.0),
    );
    node.cql.block_on(async {
        let layout = Chunked::open(db).await.unwrap();
        let part = Partition::of(&series, month);
        // A reads the empty month, then B writes every day of it
        let mut days = chunk_days(&series, &a, &mut zone.clone());
        let mut stale = layout
            .stored(db, &series, &part, &days)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stale.version, None);
        let b_month = MonthBars {
            month,
            bars: b.clone(),
        };
        layout
            .write_month(db, &series, &b_month, &mut zone.clone())
            .await
            .unwrap();
        // A's commit on what it read is refused, and writes nothing
        let refused = layout
            .commit(db, &series, &part, &a, &mut days, &mut stale)
            .await
            .unwrap();
        assert_eq!(refused, None);
        let stored = layout
            .read(db, &series, &zone, month, i64::MIN, i64::MAX)
            .await
            .unwrap();
        assert_eq!(rows(&stored), rows(&b));
        // a write from the start merges into B's days
        let a_month = MonthBars {
            month,
            bars: a.clone(),
        };
        layout
            .write_month(db, &series, &a_month, &mut zone.clone())
            .await
            .unwrap();
        let stored = layout
            .read(db, &series, &zone, month, i64::MIN, i64::MAX)
            .await
            .unwrap();
        assert_eq!(rows(&stored), rows(&Bars::merge(&a, &b)));
    });
}

/// A writer that appends days after the last bar it saw writes without reading the
/// month; when another writer changed the month meanwhile, the fence refuses that
/// write, and the writer reads and merges: every bar is kept, and the month's stats
/// count them all.
#[test]
fn an_append_from_stale_stats_is_refused_and_merged_again() {
    let Some(node) = Node::open("append") else {
        return;
    };
    let (db, series, zone, month) = (&node.cql.db, node.series(), node.zone(), node.month());
    let all = minutes(|_| true, 100.0);
    let day = |d: i64| {
        let start = all.ts[0] + d * DAY * 1000;
        MonthBars {
            month,
            bars: all.slice(all.range(start, start + DAY * 1000 - 1)),
        }
    };
    node.cql.block_on(async {
        let (a, b) = (
            Chunked::open(db).await.unwrap(),
            Chunked::open(db).await.unwrap(),
        );
        a.write_month(db, &series, &day(0), &mut zone.clone())
            .await
            .unwrap();
        b.write_month(db, &series, &day(1), &mut zone.clone())
            .await
            .unwrap();
        // A saw the month after day 0 only: its append of day 2 starts from that
        assert!(a
            .index
            .seen(&series, month)
            .is_some_and(|(s, v)| s.0 == 1440 && v.is_some()));
        a.write_month(db, &series, &day(2), &mut zone.clone())
            .await
            .unwrap();
        let stored = a
            .read(db, &series, &zone, month, i64::MIN, i64::MAX)
            .await
            .unwrap();
        assert_eq!(rows(&stored), rows(&all));
        assert_eq!(
            a.index.seen(&series, month).map(|(s, _)| s),
            Some((all.len() as i64, all.ts[0], all.ts[all.len() - 1]))
        );
    });
}
