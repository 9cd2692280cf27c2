//! The CQL tables: hostile names, the original text layout (its copies between layouts
//! and stores, its one series per symbol), a corrupt chunk, an index older than its
//! catalog.

use crate::common::*;
use barstore::store::cql::{Cql, CqlOptions};

#[test]
fn hostile_keyspace_and_table_names_are_rejected() {
    let fx = cql_or_skip!("hostile_keyspace_and_table_names_are_rejected");
    let node = fx.node().to_string();
    for (url, why) in [
        (
            format!("cql://{node}/ks;DROP KEYSPACE system"),
            "invalid keyspace name",
        ),
        (
            format!("cql://{node}/ks?table=bars;DROP"),
            "invalid table name",
        ),
        (format!("cql://{node}/ks?table=a'b"), "invalid table name"),
        (format!("cql://{node}/\"Quoted\""), "invalid keyspace name"),
        (
            format!("cql://{node}/ks?table=t&layout=json"),
            "unknown option",
        ),
    ] {
        let run = Fixture::at(&url).ok(&["symbols"], 2);
        assert!(run.stderr.contains(why), "{url}: {}", run.stderr);
    }
    fx.ok(
        &[
            "load",
            data("AAPL_1min_sample_headerless.txt").to_str().unwrap(),
        ],
        0,
    );
    for bad in ["AAPL' OR '1'='1", "../AAPL", "A;B"] {
        let run = fx.ok(&["read", bad], 2);
        assert!(
            run.stderr.contains("invalid symbol"),
            "{bad}: {}",
            run.stderr
        );
    }
}

/// What the original layout's `float` columns hold for a source value.
fn as_float(x: f64) -> f64 {
    f64::from(x as f32)
}

#[test]
fn original_text_layout_is_read_and_copied_to_the_typed_layout() {
    let fx = cql_or_skip!("original_text_layout_is_read_and_copied_to_the_typed_layout");
    let node = fx.node().to_string();
    let ks = fx.keyspace().to_string();
    let text_url = format!("cql://{node}/{ks}?table=minute_bars&layout=text");
    let typed_url = format!("cql://{node}/{ks}?table=bars_typed&layout=typed");
    let src = std::fs::read_to_string(data("AAPL_1min_sample_headerless.txt")).unwrap();
    let source = csv_bars(&src);

    // The table as the earlier notebook created and filled it, written with plain CQL.
    let cql = Cql::connect(&text_url, CqlOptions::default()).unwrap();
    let s = cql.session();
    cql.block_on(async {
        s.query_unpaged(format!("CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"), ()).await.unwrap();
        s.query_unpaged(format!("CREATE TABLE {ks}.minute_bars (symbol text, bucket text, timestamp text, open float, high float, low float, close float, volume float, PRIMARY KEY ((symbol, bucket), timestamp))"), ()).await.unwrap();
        let insert = s
            .prepare(format!("INSERT INTO {ks}.minute_bars (symbol, bucket, timestamp, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"))
            .await
            .unwrap();
        let rows: Vec<_> = source.iter().collect();
        for chunk in rows.chunks(64) {
            let futures = chunk.iter().map(|(t, ([o, h, l, c], v))| {
                let values = ("AAPL", &t[..7], t.as_str(), *o as f32, *h as f32, *l as f32, *c as f32, v.map(|v| v as f32));
                let insert = &insert;
                async move { s.execute_unpaged(insert, values).await.unwrap() }
            });
            futures::future::join_all(futures).await;
        }
    });

    let text = Fixture::at(&text_url);
    let symbols = text.ok(&["symbols"], 0).stdout;
    assert!(
        symbols.contains(
            "\nAAPL,1min,none,8507,2024-04-29 04:00:00,2024-05-13 19:50:00,America/New_York\n"
        ),
        "{symbols}"
    );
    let want: std::collections::BTreeMap<_, _> = source
        .iter()
        .map(|(t, (p, v))| (t.clone(), (p.map(as_float), v.map(as_float))))
        .collect();
    let read = csv_bars(&text.ok(&["read", "AAPL"], 0).stdout);
    assert_eq!(read, want);
    let day = text.read_day("AAPL", "2024-05-01", &["--session", "regular"]);
    assert_eq!(rows(&day), 390);

    let run = text.ok(&["copy", "--to", &typed_url], 0);
    assert!(
        run.stderr
            .contains("2 months copied, 0 skipped (already copied); 8507 rows"),
        "{}",
        run.stderr
    );
    let again = text.ok(&["copy", "--to", &typed_url], 0);
    assert!(
        again.stderr.contains("0 months copied, 2 skipped"),
        "{}",
        again.stderr
    );
    let typed = Fixture::at(&typed_url);
    assert_eq!(csv_bars(&typed.ok(&["read", "AAPL"], 0).stdout), want);
    // the default layout of a new table is chunked; copies convert between all three
    let chunked_url = format!("cql://{node}/{ks}?table=bars_chunked");
    typed.ok(&["copy", "--to", &chunked_url], 0);
    let chunked = Fixture::at(&chunked_url);
    assert_eq!(csv_bars(&chunked.ok(&["read", "AAPL"], 0).stdout), want);
    let back = format!("cql://{node}/{ks}?table=minute_bars_again&layout=text");
    chunked.ok(&["copy", "--to", &back], 0);
    assert_eq!(
        csv_bars(&Fixture::at(&back).ok(&["read", "AAPL"], 0).stdout),
        want
    );

    // and on to the embedded store and back, exactly, with the corporate actions
    let actions = fx.write(
        "actions.csv",
        b"symbol,ex_date,split_from,split_to,dividend\nAAPL,2024-05-10,,,0.25\nAAPL,2020-08-31,1,4,\n",
    );
    typed.ok(&["actions", "load", actions.to_str().unwrap()], 0);
    let embedded = fx.path("local");
    let copied = typed.ok(&["copy", "--to", embedded.to_str().unwrap()], 0);
    assert!(
        copied.stderr.contains("8507 rows, 2 action versions"),
        "{}",
        copied.stderr
    );
    let local = Fixture::at(embedded.to_str().unwrap());
    assert_eq!(csv_bars(&local.ok(&["read", "AAPL"], 0).stdout), want);
    let listed = |f: &Fixture| f.ok(&["actions", "list", "--history"], 0).stdout;
    assert_eq!(listed(&local), listed(&typed));
    assert_eq!(listed(&local).lines().count(), 3);
    let again = typed.ok(&["copy", "--to", embedded.to_str().unwrap()], 0);
    assert!(
        again.stderr.contains("0 action versions"),
        "{}",
        again.stderr
    );
}

/// The text layout holds the 1min series with no adjustment of each symbol: other
/// series are refused whole, before a bar is written.
#[test]
fn the_text_layout_refuses_other_series_than_its_one() {
    let fx = cql_or_skip!("the_text_layout_refuses_other_series_than_its_one");
    let text = Fixture::at(&format!(
        "cql://{}/{}?table=bars_text&layout=text",
        fx.node(),
        fx.keyspace()
    ));
    let five = data("AAPL_5min_sample.csv");
    text.fails_with(
        &["load", five.to_str().unwrap()],
        2,
        "AAPL 5min none cannot be stored apart in it",
    );
    // nothing of the refused file reached the table: the listing is its header alone
    assert_eq!(text.ok(&["symbols"], 0).stdout.lines().count(), 1);
}

/// A chunk altered in the database (here: one bit of one day's close prices) is an error
/// that names the table, the series and the day, never wrong bars; other days still read,
/// and loading the day's source again with --overwrite-unreadable rewrites it.
#[test]
fn a_corrupt_chunk_is_an_error_naming_table_series_and_day() {
    let fx = cql_or_skip!("a_corrupt_chunk_is_an_error_naming_table_series_and_day");
    let src = data("AAPL_1min_sample_headerless.txt");
    fx.ok(&["load", src.to_str().unwrap()], 0);
    let ks = fx.keyspace().to_string();
    let cql = Cql::connect(&fx.store_arg(), CqlOptions::default()).unwrap();
    let key = "symbol = 'AAPL' AND timeframe = '1min' AND adjustment = 'none' AND bucket = '2024-05' AND day = '2024-05-01'";
    cql.block_on(async {
        let s = cql.session();
        let rows = s
            .query_unpaged(format!("SELECT close FROM {ks}.bars_1m WHERE {key}"), ())
            .await
            .unwrap()
            .into_rows_result()
            .unwrap();
        let (mut close,): (Vec<u8>,) = rows.first_row().unwrap();
        let last = close.len() - 1;
        close[last] ^= 1;
        s.query_unpaged(
            format!("UPDATE {ks}.bars_1m SET close = ? WHERE {key}"),
            (close,),
        )
        .await
        .unwrap();
    });
    fx.fails_with(
        &[
            "read",
            "AAPL",
            "--start",
            "2024-05-01",
            "--end",
            "2024-05-01",
        ],
        2,
        &format!("table {ks}.bars_1m: AAPL 1min none 2024-05-01: checksum mismatch"),
    );
    fx.fails_with(&["verify", src.to_str().unwrap()], 2, "checksum mismatch");
    let want = csv_bars(&std::fs::read_to_string(&src).unwrap());
    let day = csv_bars(&fx.read_day("AAPL", "2024-05-02", &[]));
    assert_eq!(
        day.len(),
        want.keys().filter(|t| t.starts_with("2024-05-02")).count()
    );
    // loading the source again merges into the day it cannot read: refused, until
    // asked to replace the day
    fx.fails_with(
        &["load", "--force", src.to_str().unwrap()],
        2,
        "AAPL 1min none 2024-05-01: checksum mismatch",
    );
    fx.ok(
        &[
            "--overwrite-unreadable",
            "load",
            "--force",
            src.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(csv_bars(&fx.ok(&["read", "AAPL"], 0).stdout), want);
}

/// Two loads writing overlapping bars of one series at the same moment: every bar of
/// both files is stored (each write of a month is fenced by the month's version), and
/// each stored bar is one of the two files'.
#[test]
fn an_index_older_than_its_catalog_is_catalogued_at_the_next_load() {
    let fx = cql_or_skip!("an_index_older_than_its_catalog_is_catalogued_at_the_next_load");
    let day = |symbol: &str| {
        let mut all = Vec::new();
        barstore::generate::write_firstrate(&mut all, 2_000, 5).unwrap();
        fx.write(&format!("{symbol}/{symbol}_full_1min_adjsplit.txt"), &all)
    };
    let (a, b) = (day("AAA"), day("BBB"));
    fx.ok(&["load", "-q", a.to_str().unwrap()], 0);
    let listed = fx.ok(&["symbols"], 0).stdout;
    let ks = fx.keyspace().to_string();
    let cql = Cql::connect(&fx.store_arg(), CqlOptions::default()).unwrap();
    let catalogued = |what: &str| -> Vec<String> {
        cql.block_on(
            cql.session()
                .query_unpaged(format!("SELECT symbol FROM {ks}.bars_1m_catalog"), ()),
        )
        .map_err(|e| format!("{what}: {e}"))
        .unwrap()
        .into_rows_result()
        .unwrap()
        .rows::<(String,)>()
        .unwrap()
        .map(|r| r.unwrap().0)
        .collect()
    };
    assert!(!catalogued("after the first load").is_empty());
    cql.block_on(
        cql.session()
            .query_unpaged(format!("DROP TABLE {ks}.bars_1m_catalog"), ()),
    )
    .unwrap();
    assert_eq!(fx.ok(&["symbols"], 0).stdout, listed);
    fx.ok(&["load", "-q", b.to_str().unwrap()], 0);
    let mut symbols = catalogued("after the second load");
    symbols.sort();
    symbols.dedup();
    assert_eq!(symbols, ["AAA", "BBB"]);
    // the catalog alone lists both: the index no longer matters for a listing
    cql.block_on(
        cql.session()
            .query_unpaged(format!("TRUNCATE {ks}.bars_1m_symbols"), ()),
    )
    .unwrap();
    let both = fx.ok(&["symbols"], 0).stdout;
    assert!(both.contains("AAA") && both.contains("BBB"), "{both}");
    assert!(both.starts_with(listed.lines().next().unwrap()), "{both}");
}
