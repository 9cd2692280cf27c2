//! CQL faults: a stored day that cannot be decoded, loads that race on one month's
//! fence, and loads that race on the schema. Each runs on the test node.

use crate::common::*;
use barstore::store::cql::{Cql, CqlOptions};
use std::collections::BTreeMap;

/// The chunk of one day of AAPL 1min (no adjustment) in a fixture's table, as the CQL
/// `WHERE` clause that names it.
fn day_key(day: &str) -> String {
    let month = &day[..7];
    format!("symbol = 'AAPL' AND timeframe = '1min' AND adjustment = 'none' AND bucket = '{month}' AND day = '{day}'")
}

/// Runs a CQL statement on the fixture's node, returning the rows.
fn cql_rows(fx: &Fixture, cql: &str) -> Vec<scylla::value::Row> {
    let session = Cql::connect(&fx.store_arg(), CqlOptions::default()).unwrap();
    session.block_on(async {
        let result = session.session().query_unpaged(cql, ()).await.unwrap();
        match result.into_rows_result() {
            Ok(rows) => rows
                .rows::<scylla::value::Row>()
                .unwrap()
                .map(Result::unwrap)
                .collect(),
            Err(_) => Vec::new(),
        }
    })
}

/// A stored day whose chunk cannot be decoded (a checksum mismatch, an unknown codec)
/// is never replaced by a merge: a one-bar correction fails that series' month (exit
/// 2, naming the table, series and day), writes nothing of it, and leaves the stored
/// chunk as it was, while the correction's other month is written; with
/// `--overwrite-unreadable` the day becomes the bars loaded now, said in a warning.
#[test]
fn a_merge_into_an_unreadable_day_fails_the_month_and_replaces_nothing() {
    let fx = cql_or_skip!("a_merge_into_an_unreadable_day_fails_the_month_and_replaces_nothing");
    let src = data("AAPL_1min_sample_headerless.txt");
    fx.ok(&["load", src.to_str().unwrap()], 0);
    let ks = fx.keyspace().to_string();
    let table = format!("{ks}.bars_1m");
    let want = csv_bars(&std::fs::read_to_string(&src).unwrap());
    let on = |day: &str| -> BTreeMap<String, ([f64; 4], Option<f64>)> {
        want.iter()
            .filter(|(t, _)| t.starts_with(day))
            .map(|(t, b)| (t.clone(), *b))
            .collect()
    };
    // 2024-05-02 by its checksum, 2024-05-03 by its codec
    cql_rows(
        &fx,
        &format!(
            "UPDATE {table} SET checksum = 12345 WHERE {}",
            day_key("2024-05-02")
        ),
    );
    cql_rows(
        &fx,
        &format!(
            "UPDATE {table} SET chunk_codec = 99 WHERE {}",
            day_key("2024-05-03")
        ),
    );
    let blobs = |day: &str| {
        cql_rows(
            &fx,
            &format!(
                "SELECT bars, chunk_codec, checksum, ts, close FROM {table} WHERE {}",
                day_key(day)
            ),
        )
    };
    let before = (blobs("2024-05-02"), blobs("2024-05-03"));
    assert_eq!(before.0.len(), 1);
    // a correction of one bar in each unreadable day, one in another day of May and one
    // in April
    let fix = fx.write(
        "fix/AAPL_full_1min.txt",
        b"2024-04-30 10:00:00,1,2,0.5,1.5,7\n\
          2024-05-02 10:00:00,1,2,0.5,1.5,7\n\
          2024-05-03 10:00:00,1,2,0.5,1.5,7\n\
          2024-05-06 10:00:00,1,2,0.5,1.5,7\n",
    );
    // another symbol in the same load is loaded all the same
    fx.write(
        "fix/MSFT_full_1min.txt",
        b"2024-05-02 10:00:00,1,2,0.5,1.5,7\n",
    );
    let run = fx.ok(&["load", fx.path("fix").to_str().unwrap()], 2);
    let error = run
        .stderr
        .lines()
        .find(|l| l.starts_with("failed: "))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let day = if error.contains("2024-05-02") {
        "2024-05-02: checksum mismatch"
    } else {
        "2024-05-03: unknown codec 99"
    };
    for part in [
        &format!("table {table}: AAPL 1min none {day}"),
        "would replace its",
        "nothing of AAPL 1min none 2024-05 was written",
        "--overwrite-unreadable",
    ] {
        assert!(error.contains(part), "{part:?} not in: {error}");
    }
    assert!(
        run.stderr
            .contains("2 files: 1 loaded, 0 skipped (already loaded), 1 failed"),
        "{}",
        run.stderr
    );
    assert_eq!(csv_bars(&fx.read_day("MSFT", "2024-05-02", &[])).len(), 1);
    // the unreadable chunks are as they were, May's readable day untouched, April's bar
    // corrected
    assert_eq!((blobs("2024-05-02"), blobs("2024-05-03")), before);
    assert_eq!(
        csv_bars(&fx.read_day("AAPL", "2024-05-06", &[])),
        on("2024-05-06")
    );
    let april = csv_bars(&fx.read_day("AAPL", "2024-04-30", &[]));
    assert_eq!(
        april["2024-04-30 10:00:00"],
        ([1.0, 2.0, 0.5, 1.5], Some(7.0))
    );
    assert_eq!(april.len(), on("2024-04-30").len());

    // replacing them is asked for: each unreadable day is the one bar loaded now, the
    // readable day merged
    let run = fx.ok(
        &["--overwrite-unreadable", "load", fix.to_str().unwrap()],
        0,
    );
    for (day, held) in [("2024-05-02", 829), ("2024-05-03", 902)] {
        assert!(
            run.stderr.contains(&format!("AAPL 1min none {day}: "))
                && run.stderr.contains(&format!(
                    "replacing the day's {held} stored bars with the 1 loaded now"
                )),
            "{}",
            run.stderr
        );
        let got = csv_bars(&fx.read_day("AAPL", day, &[]));
        assert_eq!(got.len(), 1, "{day}");
    }
    let may6 = csv_bars(&fx.read_day("AAPL", "2024-05-06", &[]));
    assert_eq!(may6.len(), on("2024-05-06").len());
    assert_eq!(
        may6["2024-05-06 10:00:00"],
        ([1.0, 2.0, 0.5, 1.5], Some(7.0))
    );
}

/// Several loads of one series released at the same instant into the same days (each
/// holds every fourth bar of five months): the fence refuses some of their writes (each
/// refusal is logged, target `barstore::fence`), each refused writer merges again, and
/// the store ends with exactly the union of the inputs.
#[test]
fn loads_released_at_once_into_the_same_days_are_fenced_and_lose_nothing() {
    let fx = cql_or_skip!("loads_released_at_once_into_the_same_days_are_fenced_and_lose_nothing");
    const LOADERS: usize = 4;
    let mut all = Vec::new();
    barstore::generate::write_firstrate(&mut all, 100_000, 17).unwrap();
    let text = String::from_utf8(all).unwrap();
    let mut parts = vec![String::new(); LOADERS];
    for (i, line) in text.lines().enumerate() {
        parts[i % LOADERS].push_str(line);
        parts[i % LOADERS].push('\n');
    }
    // the keyspace and tables first: the race is on the month, not on the schema
    fx.ok(
        &[
            "load",
            "-q",
            fx.write("warm/OTHER.txt", b"2024-01-02 09:30:00,1,1,1,1,1\n")
                .to_str()
                .unwrap(),
        ],
        0,
    );
    let loads = parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let file = fx.write(&format!("in{i}/XYZ.txt"), part.as_bytes());
            let mut load = fx.command(&["load", "-q", file.to_str().unwrap()]);
            load.env("BARSTORE_LOG", "warn,scylla=off,barstore::fence=info");
            load
        })
        .collect();
    let runs = release_together(loads);
    let mut refusals = 0;
    for run in &runs {
        assert_eq!(run.code, 0, "{}", run.stderr);
        refusals += run.stderr.matches("fence refused a write of XYZ").count();
    }
    eprintln!("{refusals} writes refused by the fence");
    assert!(
        refusals >= 1,
        "no load was refused: the loads never raced\n{}",
        runs.iter().map(|r| r.stderr.as_str()).collect::<String>()
    );
    let got = csv_bars(&fx.ok(&["read", "XYZ"], 0).stdout);
    let want = csv_bars(&text);
    assert_eq!(want.len(), 100_000);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the store is not the union of the loads");
}

/// First loads that start at the same instant race on the schema: into a new keyspace,
/// and into a table made before the months' version (which gets the column added).
/// Every load exits 0 and every bar is stored.
#[test]
fn first_loads_released_at_once_all_create_or_migrate_the_schema() {
    let fx = cql_or_skip!("first_loads_released_at_once_all_create_or_migrate_the_schema");
    const LOADERS: usize = 4;
    let files: Vec<std::path::PathBuf> = (0..LOADERS)
        .map(|i| {
            let mut bars = Vec::new();
            barstore::generate::write_firstrate(&mut bars, 2_000, i as u64).unwrap();
            fx.write(&format!("in/S{i}.txt"), &bars)
        })
        .collect();
    let check = |fx: &Fixture, runs: Vec<Run>| {
        for run in &runs {
            assert_eq!(run.code, 0, "{}", run.stderr);
        }
        for (i, file) in files.iter().enumerate() {
            let want = csv_bars(&std::fs::read_to_string(file).unwrap());
            let got = csv_bars(&fx.ok(&["read", &format!("S{i}")], 0).stdout);
            assert!(got == want, "S{i}: {} of {} bars", got.len(), want.len());
        }
    };
    let loads = |fx: &Fixture| {
        files
            .iter()
            .map(|f| fx.command(&["load", "-q", f.to_str().unwrap()]))
            .collect()
    };
    // a new keyspace
    check(&fx, release_together(loads(&fx)));

    // a chunked table made by an earlier version, without the months' version
    let old = cql_or_skip!("first_loads_released_at_once_all_create_or_migrate_the_schema");
    let ks = old.keyspace().to_string();
    for ddl in [
        format!("CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"),
        format!("CREATE TABLE {ks}.bars_1m (symbol text, timeframe text, adjustment text, bucket text, day date, bars int, first timestamp, last timestamp, chunk_codec int, checksum bigint, ts blob, open blob, high blob, low blob, close blob, volume blob, PRIMARY KEY ((symbol, timeframe, adjustment, bucket), day))"),
    ] {
        cql_rows(&old, &ddl);
    }
    check(&old, release_together(loads(&old)));
    let columns = cql_rows(
        &old,
        &format!("SELECT column_name FROM system_schema.columns WHERE keyspace_name = '{ks}' AND table_name = 'bars_1m' AND column_name = 'version'"),
    );
    assert_eq!(columns.len(), 1);
}
