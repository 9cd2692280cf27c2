//! The typed layout: a CQL row per bar, `ts timestamp` and `double` prices, in
//! `(symbol, timeframe, adjustment, bucket)` partitions of a month.

use super::{write_rows, Kind, TableLayout};
use crate::bars::Bars;
use crate::bucket::Month;
use crate::error::Result;
use crate::series::Series;
use crate::store::cql::db::{now_micros, Db, Keyed, MonthStats};
use crate::store::cql::index::{Index, KEY, MARKS, WHERE_KEY};
use crate::store::cql::target::Target;
use crate::store::MonthBars;
use crate::zone::Zone;
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;

/// The DDL of a typed table and its index.
pub fn create(t: &Target, compaction: &str) -> Vec<String> {
    let (ks, tb) = (&t.keyspace, &t.table);
    vec![
        format!("CREATE TABLE IF NOT EXISTS {ks}.{tb} (symbol text, timeframe text, adjustment text, bucket text, ts timestamp, open double, high double, low double, close double, volume double, PRIMARY KEY ((symbol, timeframe, adjustment, bucket), ts)) WITH CLUSTERING ORDER BY (ts ASC) AND compaction = {compaction}"),
        format!("CREATE TABLE IF NOT EXISTS {ks}.{tb}_symbols (symbol text, timeframe text, adjustment text, bucket text, zone text, rows bigint, first timestamp, last timestamp, PRIMARY KEY (symbol, timeframe, adjustment, bucket))"),
    ]
}

/// A typed table's statements.
pub struct Typed {
    index: Index,
    insert: PreparedStatement,
    range: PreparedStatement,
    stats: PreparedStatement,
}

impl Typed {
    /// Prepares the statements on an existing table.
    pub async fn open(db: &Db) -> Result<Typed> {
        let (ks, tb) = (&db.target.keyspace, &db.target.table);
        Ok(Typed {
            index: Index::prepare(db).await?,
            insert: db.prepare(format!("INSERT INTO {ks}.{tb} ({KEY}, bucket, ts, open, high, low, close, volume) VALUES ({MARKS}, ?, ?, ?, ?, ?, ?, ?)")).await?,
            range: db.prepare(format!("SELECT ts, open, high, low, close, volume FROM {ks}.{tb} WHERE {WHERE_KEY} AND bucket = ? AND ts >= ? AND ts <= ?")).await?,
            stats: db.prepare(format!("SELECT count(*), min(ts), max(ts) FROM {ks}.{tb} WHERE {WHERE_KEY} AND bucket = ?")).await?,
        })
    }

    /// Row count and first and last bar of one partition, counted on the server.
    async fn month_stats(&self, db: &Db, series: &Series, month: Month) -> Result<MonthStats> {
        let (tf, bucket) = (series.timeframe.to_string(), month.to_string());
        let mut key = self.index.key(series, &tf);
        key.push(&bucket);
        let mut out = (0, 0, 0);
        db.pages(
            || format!("counting {series} {bucket}"),
            &self.stats,
            Keyed {
                key: &key,
                rest: (),
            },
            |(n, lo, hi): (i64, Option<CqlTimestamp>, Option<CqlTimestamp>)| {
                out = (n, lo.map_or(0, |t| t.0), hi.map_or(0, |t| t.0));
            },
        )
        .await?;
        Ok(out)
    }
}

impl TableLayout for Typed {
    fn kind(&self) -> Kind {
        Kind::Typed
    }

    fn index(&self) -> Option<&Index> {
        Some(&self.index)
    }

    fn write<'a>(
        &'a self,
        db: &'a Db,
        series: &'a Series,
        zone: &'a Zone,
        months: &'a [MonthBars],
    ) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            // the months that held bars before this write, then the index rows of all
            let stored = self
                .index
                .months(db, series)
                .await
                .map_err(|e| super::super::while_writing(e, months))?;
            self.index.put(db, series, months, zone.name()).await?;
            let tf = series.timeframe.to_string();
            let key = self.index.key(series, &tf);
            write_rows(db, &self.insert, series, &key, months, |m, i| {
                let (b, v) = (&m.bars, m.bars.volume[i]);
                (
                    CqlTimestamp(b.ts[i]),
                    b.open[i],
                    b.high[i],
                    b.low[i],
                    b.close[i],
                    (!v.is_nan()).then_some(v),
                )
            })
            .await?;
            // a month new to the index holds only the bars just written (bars are written
            // after their index row); one that held bars before is counted on the server
            for m in months {
                let ts = &m.bars.ts;
                let stats = match (stored.contains(&m.month), ts.first(), ts.last()) {
                    (false, Some(&first), Some(&last)) => (ts.len() as i64, first, last),
                    _ => self.month_stats(db, series, m.month).await?,
                };
                self.index
                    .set_stats(db, series, m.month, stats, now_micros())
                    .await?;
            }
            Ok(())
        }
        .boxed_local()
    }

    fn read<'a>(
        &'a self,
        db: &'a Db,
        series: &'a Series,
        _zone: &'a Zone,
        month: Month,
        start: i64,
        end: i64,
    ) -> LocalBoxFuture<'a, Result<Bars>> {
        async move {
            let (tf, bucket) = (series.timeframe.to_string(), month.to_string());
            let mut key = self.index.key(series, &tf);
            key.push(&bucket);
            let mut bars = Bars::default();
            db.pages(
                || format!("reading {series} {bucket}"),
                &self.range,
                Keyed {
                    key: &key,
                    rest: (CqlTimestamp(start), CqlTimestamp(end)),
                },
                |(t, o, h, l, c, v): (CqlTimestamp, f64, f64, f64, f64, Option<f64>)| {
                    bars.push((t.0, [o, h, l, c, v.unwrap_or(f64::NAN)]))
                },
            )
            .await?;
            Ok(bars)
        }
        .boxed_local()
    }
}
