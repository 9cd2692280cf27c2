//! CQL-only behaviour on a real node: the original text layout, copying between
//! layouts and stores, hostile names, and a node that stops in the middle of a load.

use crate::common::*;
use barstore::store::cql::{Cql, CqlOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// Tables made before series existed (keys without timeframe and adjustment) hold the
/// 1min series with no adjustment: loads of it go on, other series are refused whole, and
/// the text layout refuses them too.
#[test]
fn tables_made_before_series_keep_their_one_series() {
    let fx = cql_or_skip!("tables_made_before_series_keep_their_one_series");
    let node = fx.node().to_string();
    let ks = fx.keyspace().to_string();
    let old_url = format!("cql://{node}/{ks}?table=bars_old");
    let cql = Cql::connect(&old_url, CqlOptions::default()).unwrap();
    let s = cql.session();
    cql.block_on(async {
        for ddl in [
            format!("CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"),
            format!("CREATE TABLE {ks}.bars_old (symbol text, bucket text, ts timestamp, open double, high double, low double, close double, volume double, PRIMARY KEY ((symbol, bucket), ts))"),
            format!("CREATE TABLE {ks}.bars_old_symbols (symbol text, bucket text, zone text, rows bigint, first timestamp, last timestamp, PRIMARY KEY (symbol, bucket))"),
            format!("CREATE TABLE {ks}.bars_old_manifest (source text PRIMARY KEY, size bigint, mtime_ns bigint, hash text, rows bigint, symbol text)"),
        ] {
            s.query_unpaged(ddl, ()).await.unwrap();
        }
    });
    let old = Fixture::at(&old_url);
    let src = data("AAPL_1min_sample_headerless.txt");
    old.ok(&["load", src.to_str().unwrap()], 0);
    let symbols = old.ok(&["symbols"], 0).stdout;
    assert!(symbols.contains("\nAAPL,1min,none,8507,"), "{symbols}");
    let want = csv_bars(&std::fs::read_to_string(&src).unwrap());
    assert_eq!(csv_bars(&old.ok(&["read", "AAPL"], 0).stdout), want);
    old.ok(&["verify", src.to_str().unwrap()], 0);
    let five = data("AAPL_5min_sample.csv");
    let refused = "AAPL 5min none cannot be stored apart in it";
    old.fails_with(&["load", five.to_str().unwrap()], 2, refused);
    let text = Fixture::at(&format!("cql://{node}/{ks}?table=bars_text&layout=text"));
    text.fails_with(&["load", five.to_str().unwrap()], 2, refused);
    // nothing of the refused file reached either table
    assert_eq!(csv_bars(&old.ok(&["read", "AAPL"], 0).stdout), want);
    assert_eq!(text.ok(&["symbols"], 0).stdout.lines().count(), 1);
}

/// A chunk altered in the database (here: one bit of one day's close prices) is an error
/// that names the table, the series and the day, never wrong bars; other days still read.
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
    // loading the source again rewrites the day
    fx.ok(&["load", "--force", src.to_str().unwrap()], 0);
    assert_eq!(csv_bars(&fx.ok(&["read", "AAPL"], 0).stdout), want);
}

/// Two loads writing overlapping bars of one series at the same moment: every bar of
/// both files is stored (each write of a month is fenced by the month's version), and
/// each stored bar is one of the two files'.
#[test]
fn two_loads_of_one_series_at_once_lose_no_bars() {
    let fx = cql_or_skip!("two_loads_of_one_series_at_once_lose_no_bars");
    let make = |name: &str, seed: u64, lines: std::ops::Range<usize>| {
        let mut all = Vec::new();
        barstore::generate::write_firstrate(&mut all, 60_000, seed).unwrap();
        let text = String::from_utf8(all).unwrap();
        let kept: String = text
            .lines()
            .skip(lines.start)
            .take(lines.len())
            .map(|l| format!("{l}\n"))
            .collect();
        fx.write(name, kept.as_bytes())
    };
    let a = make("a/XYZ.txt", 1, 0..40_000);
    let b = make("b/XYZ.txt", 2, 20_000..60_000);
    let children: Vec<_> = [&a, &b]
        .iter()
        .map(|f| {
            fx.command(&["load", "-q", f.to_str().unwrap()])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (bars_a, bars_b) = (
        csv_bars(&std::fs::read_to_string(&a).unwrap()),
        csv_bars(&std::fs::read_to_string(&b).unwrap()),
    );
    let got = csv_bars(&fx.ok(&["read", "XYZ"], 0).stdout);
    let union: std::collections::BTreeSet<&String> = bars_a.keys().chain(bars_b.keys()).collect();
    assert!(union.len() > 50_000 && bars_a.len() + bars_b.len() > union.len());
    assert_eq!(got.keys().collect::<std::collections::BTreeSet<_>>(), union);
    for (t, bar) in &got {
        assert!(
            bars_a.get(t) == Some(bar) || bars_b.get(t) == Some(bar),
            "{t}: {bar:?} is in neither file"
        );
    }
}

/// A load paused in the middle (SIGSTOP) while another load writes the same days, then
/// resumed: whatever it had read before the pause is stale, and its writes must neither
/// drop the other load's bars nor be dropped. The store ends with the union of both
/// inputs, exactly. (There is no lease to outlive: the pause lasts the other load's
/// whole run.)
#[test]
fn a_paused_load_loses_no_bars_of_a_load_that_ran_meanwhile() {
    let fx = cql_or_skip!("a_paused_load_loses_no_bars_of_a_load_that_ran_meanwhile");
    let mut all = Vec::new();
    barstore::generate::write_firstrate(&mut all, 400_000, 7).unwrap();
    let text = String::from_utf8(all).unwrap();
    // the same days in both: even lines in A (a file per day, loaded one after another),
    // odd lines in B (one file)
    let (mut a_days, mut b) = (
        std::collections::BTreeMap::<&str, String>::new(),
        String::new(),
    );
    for (i, line) in text.lines().enumerate() {
        if i % 2 == 0 {
            let day = a_days.entry(&line[..10]).or_default();
            day.push_str(line);
            day.push('\n');
        } else {
            b.push_str(line);
            b.push('\n');
        }
    }
    assert!(a_days.len() > 300);
    for (day, lines) in &a_days {
        fx.write(&format!("a/{day}/XYZ.txt"), lines.as_bytes());
    }
    let b_file = fx.write("b/XYZ.txt", b.as_bytes());
    let mut a = fx
        .command(&["load", "-q", fx.path("a").to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // pause A once it has written bars (the keyspace does not exist before it starts)
    let started = Instant::now();
    while !fx.run(&["symbols"]).stdout.contains("XYZ") {
        assert!(
            a.try_wait().unwrap().is_none(),
            "A ended before it could be paused"
        );
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "A wrote nothing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = a.id().to_string();
    let signal = |name: &str| {
        let status = Command::new("kill").args([name, &pid]).status().unwrap();
        assert!(status.success());
    };
    signal("-STOP");
    assert!(
        a.try_wait().unwrap().is_none(),
        "A ended before it was paused"
    );
    fx.ok(&["load", "-q", b_file.to_str().unwrap()], 0);
    signal("-CONT");
    let out = a.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut want = csv_bars(&b);
    for lines in a_days.values() {
        want.extend(csv_bars(lines));
    }
    assert_eq!(want.len(), 400_000);
    let got = csv_bars(&fx.ok(&["read", "XYZ"], 0).stdout);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the store is not the union of both loads");
}

/// A table whose index predates the catalog (the catalog dropped here): listing still
/// finds every series from the index, and the next load makes the catalog and fills it
/// from the index, after which listing reads the catalog alone.
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

/// A node of the test's own (other ports, its own data), stopped when dropped.
struct OwnNode {
    state: PathBuf,
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cassandra")
}

impl OwnNode {
    /// Starts a node on `cql_port` (storage port `cql_port - 2042`) with `env` added to
    /// the start script's environment.
    fn start(state: &Path, cql_port: u16, env: &[(&str, &Path)]) -> OwnNode {
        let out = Command::new(scripts().join("start"))
            .arg(state)
            .env("CASSANDRA_CQL_PORT", cql_port.to_string())
            .env("CASSANDRA_STORAGE_PORT", (cql_port - 2042).to_string())
            .env("CASSANDRA_HEAP", "768M")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the test node did not start:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        OwnNode {
            state: state.to_path_buf(),
        }
    }

    fn stop(&self) {
        let status = Command::new(scripts().join("stop"))
            .arg(&self.state)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for OwnNode {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The retries and their final error are the same for every layout (one session code
/// path); the typed layout is used here because a chunked load of these 1.5M rows lasts
/// under a second, too short a window to stop a node inside it every time.
#[test]
fn a_node_stopped_mid_load_fails_clearly_and_a_rerun_completes() {
    // starts a node of its own: a database environment, like the other CQL cases
    if barstore::testing::cql_node(concat!(
        module_path!(),
        "::a_node_stopped_mid_load_fails_clearly_and_a_rerun_completes"
    ))
    .is_none()
    {
        return;
    }
    let work = Fixture::new();
    let state = work.path("node");
    let node = OwnNode::start(&state, 9143, &[]);
    let fx = Fixture::at("cql://127.0.0.1:9143/resilience?layout=typed");
    let first = data("AAPL_1min_sample_headerless.txt");
    fx.ok(&["load", first.to_str().unwrap()], 0);

    let big = work.path("big");
    std::fs::create_dir_all(&big).unwrap();
    for (i, sym) in ["AAA", "BBB", "CCC"].iter().enumerate() {
        let file =
            std::fs::File::create(big.join(format!("{sym}_full_1min_adjsplit.txt"))).unwrap();
        barstore::generate::write_firstrate(&mut std::io::BufWriter::new(file), 500_000, i as u64)
            .unwrap();
    }
    let child = fx
        .command(&["--cql-attempts", "3", "load", "-q", big.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // stop the node once the load has started writing months of a generated symbol
    let cql = Cql::connect("cql://127.0.0.1:9143/resilience", CqlOptions::default()).unwrap();
    while !cql.block_on(async {
        let rows = cql
            .session()
            .query_unpaged("SELECT symbol FROM resilience.bars_1m_symbols", ())
            .await
            .unwrap()
            .into_rows_result()
            .unwrap();
        let symbols: Vec<String> = rows
            .rows::<(String,)>()
            .unwrap()
            .map(|r| r.unwrap().0)
            .collect();
        symbols.iter().any(|s| s != "AAPL")
    }) {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the load never started writing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(cql);
    node.stop();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("gave up after 3 attempts"), "{stderr}");
    assert!(stderr.contains("run the same command again"), "{stderr}");
    // The node may go while a month is being written ("writing AAA 1min adjsplit 2001-03"),
    // while a series' months are listed, or while a file is recorded in the manifest: every
    // one of those messages names the generated symbol it was working on.
    assert!(
        ["AAA", "BBB", "CCC"].iter().any(|sym| stderr.contains(sym)),
        "the error names what was being loaded: {stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(600),
        "the loader never gave up"
    );

    let node = OwnNode::start(&state, 9143, &[]);
    let again = fx.ok(&["load", big.to_str().unwrap()], 0);
    assert!(again.stderr.contains("0 failed"), "{}", again.stderr);
    fx.ok(&["verify", big.to_str().unwrap()], 0);
    // the file acknowledged before the outage is intact and still recorded as loaded
    let skip = fx.ok(&["load", first.to_str().unwrap()], 0);
    assert!(skip.stderr.contains("1 skipped"), "{}", skip.stderr);
    fx.ok(&["verify", first.to_str().unwrap()], 0);
    drop(node);
}

#[test]
fn shards_split_a_load_between_machines() {
    let fx = cql_or_skip!("shards_split_a_load_between_machines");
    let dir = fx.path("in");
    for sym in ["A1", "B2", "C3", "D4", "E5", "F6"] {
        fx.write(&format!("in/{sym}.csv"), b"2024-01-02 09:30:00,1,1,1,1,1\n");
    }
    let mut loaded = 0;
    for shard in ["0/3", "1/3", "2/3"] {
        let run = fx.ok(&["load", "--shard", shard, dir.to_str().unwrap()], 0);
        let n: usize = run
            .stderr
            .split(" files:")
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        loaded += n;
    }
    assert_eq!(loaded, 6);
    fx.ok(&["verify", dir.to_str().unwrap()], 0);
    fx.fails_with(
        &["load", "--shard", "3/3", dir.to_str().unwrap()],
        2,
        "0 <= I < N",
    );
}

#[test]
fn a_tls_node_is_reached_only_with_its_certificate_and_a_client_certificate() {
    // starts a node of its own: a database environment, like the other CQL cases
    if barstore::testing::cql_node(concat!(
        module_path!(),
        "::a_tls_node_is_reached_only_with_its_certificate_and_a_client_certificate"
    ))
    .is_none()
    {
        return;
    }
    let work = Fixture::new();
    let tls = work.path("tls");
    let node = OwnNode::start(
        &work.path("node"),
        9144,
        &[
            ("CASSANDRA_TLS_DIR", &tls),
            ("CASSANDRA_TLS_CLIENT_AUTH", Path::new("1")),
        ],
    );
    let ca = tls.join("ca.pem");
    let ca = ca.to_str().unwrap();
    let (cert, key) = (tls.join("client.pem"), tls.join("client.key"));
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let client = ["--tls-ca", ca, "--tls-cert", cert, "--tls-key", key];
    let fx = Fixture::at("cql://127.0.0.1:9144/secure");
    let src = data("AAPL_1min_sample_headerless.txt");
    let loaded = fx.ok(&[&client[..], &["load", src.to_str().unwrap()]].concat(), 0);
    let out = fx.ok(&[&client[..], &["read", "AAPL"]].concat(), 0).stdout;
    assert_eq!(
        csv_bars(&out),
        csv_bars(&std::fs::read_to_string(&src).unwrap())
    );
    // key material never reaches the output, even with every log on
    let key_text = std::fs::read_to_string(tls.join("client.key")).unwrap();
    let secret_line = key_text.lines().nth(1).unwrap();
    let verbose = fx
        .command(&[&client[..], &["symbols"]].concat())
        .env("BARSTORE_LOG", "trace")
        .output()
        .unwrap();
    let all = [loaded.stderr.as_bytes(), &verbose.stdout, &verbose.stderr].concat();
    let all = String::from_utf8_lossy(&all);
    assert!(verbose.status.success());
    assert!(
        !all.contains(secret_line) && !all.contains("PRIVATE KEY"),
        "key material logged"
    );

    // the node requires a client certificate: none, a stranger's, or a key of another
    // certificate are refused with the reason
    fx.fails_with(
        &["--tls-ca", ca, "symbols"],
        2,
        "if the cluster requires a client certificate, give one and its key",
    );
    let stranger = work.path("stranger");
    std::fs::create_dir_all(&stranger).unwrap();
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=stranger",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ])
        .current_dir(&stranger)
        .output()
        .unwrap();
    assert!(made.status.success());
    let (s_cert, s_key) = (stranger.join("cert.pem"), stranger.join("key.pem"));
    let refused = fx.ok(
        &[
            "--tls-ca",
            ca,
            "--tls-cert",
            s_cert.to_str().unwrap(),
            "--tls-key",
            s_key.to_str().unwrap(),
            "symbols",
        ],
        2,
    );
    assert!(
        refused
            .stderr
            .starts_with("error: cannot connect to 127.0.0.1:9144")
            && refused.stderr.contains("it did not accept this one"),
        "{}",
        refused.stderr
    );
    fx.fails_with(
        &[
            "--tls-ca",
            ca,
            "--tls-cert",
            cert,
            "--tls-key",
            s_key.to_str().unwrap(),
            "symbols",
        ],
        2,
        &format!("cannot use {} as a private key", s_key.display()),
    );
    fx.fails_with(
        &["--tls-ca", ca, "--tls-cert", cert, "symbols"],
        2,
        "--tls-key",
    );

    // plain CQL to a TLS-only node, TLS without trusting the node's certificate, and a
    // missing CA file are refused with the reason
    let plain = fx.ok(&["symbols"], 2);
    assert!(
        plain
            .stderr
            .starts_with("error: cannot connect to 127.0.0.1:9144"),
        "{}",
        plain.stderr
    );
    assert_eq!(
        plain.stderr.lines().count(),
        1,
        "one message, no driver log: {}",
        plain.stderr
    );
    fx.fails_with(&["--tls", "symbols"], 2, "certificate verify failed");
    let missing = fx.path("nowhere.pem");
    fx.fails_with(
        &["--tls", "--tls-ca", missing.to_str().unwrap(), "symbols"],
        2,
        &format!("cannot use {} as a CA certificate", missing.display()),
    );
    drop(node);
}
