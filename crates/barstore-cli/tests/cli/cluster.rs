//! A three-node cluster (scripts/cassandra/cluster) in two datacenters, keyspaces
//! replicated dc1=2,dc2=1 (a replica on every node): every layout loads with the default
//! options through the loss of one node, the repaired cluster holds every bar on every
//! node, with two nodes lost a load stops clearly and the same command later completes,
//! and fenced loads in both datacenters at once lose none of each other's bars.
//!
//! scripts/test starts the cluster and sets BARSTORE_TEST_CLUSTER (contact points),
//! BARSTORE_TEST_CLUSTER_DIR and BARSTORE_REQUIRE_CLUSTER=1 (unless
//! BARSTORE_SKIP_CLUSTER=1 asks for a quick local run); without them the test is skipped,
//! with a line on stderr.

use crate::common::*;
use barstore::store::cql::{Cql, CqlOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every layout, slowest load first: each load starts once the one before writes, and
/// the fastest (chunked) must still find the others running.
const LAYOUTS: [&str; 3] = ["text", "typed", "chunked"];

/// A replica of everything on every node, in both datacenters.
const REPLICATION: &str = "NetworkTopologyStrategy:dc1=2,dc2=1";

/// Seconds each load retries a request: with a node killed, the fenced (Paxos) writes of
/// the chunked layout time out again and again on a machine whose cores also run the
/// three nodes and other tests' node, for longer than the default budget. The loads
/// meant to stop are bounded by `--cql-attempts` instead.
const RETRY_FOR: &str = "600";

/// The cluster's contact points and state directory, or `None`: skipped.
fn cluster() -> Option<(String, PathBuf)> {
    match std::env::var("BARSTORE_TEST_CLUSTER") {
        Ok(hosts) => Some((
            hosts,
            std::env::var("BARSTORE_TEST_CLUSTER_DIR")
                .expect("BARSTORE_TEST_CLUSTER_DIR names the cluster's state directory")
                .into(),
        )),
        Err(_) if std::env::var("BARSTORE_REQUIRE_CLUSTER").as_deref() == Ok("1") => panic!(
            "BARSTORE_TEST_CLUSTER is not set and BARSTORE_REQUIRE_CLUSTER=1: scripts/test \
             starts a three-node cluster and sets it"
        ),
        Err(_) => {
            // straight to stderr: the test harness captures only print macros
            let _ = writeln!(
                std::io::stderr(),
                "skipped (no cluster): the three-node cluster test; run scripts/test, or set \
                 BARSTORE_TEST_CLUSTER and BARSTORE_TEST_CLUSTER_DIR"
            );
            None
        }
    }
}

/// Runs `scripts/cassandra/cluster COMMAND DIR ARGS...` and asserts it succeeded.
fn cluster_script(dir: &Path, command: &str, args: &[&str]) {
    let out =
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cassandra/cluster"))
            .arg(command)
            .arg(dir)
            .args(args)
            .output()
            .unwrap();
    assert!(
        out.status.success(),
        "cluster {command} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One layout's keyspace and the files loaded into it.
struct Case {
    layout: &'static str,
    keyspace: String,
    fx: Fixture,
    /// A small file that creates the keyspace and tables (schema changes on a cluster
    /// take seconds) before the timed part.
    warm: PathBuf,
    first: PathBuf,
    second: PathBuf,
}

impl Case {
    fn new(hosts: &str, layout: &'static str, symbols: usize, rows: u64) -> Case {
        let ks = format!("cluster_{layout}_{}", std::process::id());
        let fx = Fixture::at(&format!("cql://{hosts}/{ks}?layout={layout}"));
        let (warm, first, second) = (fx.path("warm"), fx.path("first"), fx.path("second"));
        for (dir, n, rows, seed) in [
            (&warm, 1, 1000, 200),
            (&first, symbols, rows, 0),
            (&second, 1, 100_000, 100),
        ] {
            std::fs::create_dir_all(dir).unwrap();
            for i in 0..n {
                // no adjustment in the names: the text layout holds 1min bars without one
                let symbol = symbol(layout, seed, i);
                let file =
                    std::fs::File::create(dir.join(format!("{symbol}_full_1min.txt"))).unwrap();
                barstore::generate::write_firstrate(
                    &mut std::io::BufWriter::new(file),
                    rows,
                    seed + i as u64,
                )
                .unwrap();
            }
        }
        Case {
            layout,
            keyspace: ks,
            fx,
            warm,
            first,
            second,
        }
    }

    /// A load of `dir` with the default options, as a user would run it.
    fn load(&self, dir: &Path) -> Child {
        self.load_with(dir, &[])
    }

    fn load_with(&self, dir: &Path, options: &[&str]) -> Child {
        let mut args = vec!["--replication", REPLICATION, "--cql-retry-for", RETRY_FOR];
        args.extend_from_slice(options);
        args.extend_from_slice(&["load", "-q", dir.to_str().unwrap()]);
        self.fx
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn verify(&self, consistency: &str, dir: &Path) {
        let run = self.fx.ok(
            &[
                "--consistency",
                consistency,
                "verify",
                dir.to_str().unwrap(),
            ],
            0,
        );
        assert!(
            run.stderr.contains("identical"),
            "{}: {}",
            self.layout,
            run.stderr
        );
    }

    /// True once the load of `first` has written bars (seen through `cql`, a session of
    /// the test): a partition of a symbol other than the warm-up file's.
    fn writing(&self, cql: &Cql) -> bool {
        let key = match self.layout {
            "text" => "symbol, bucket",
            _ => "symbol, timeframe, adjustment, bucket",
        };
        let warm = self.symbol(200, 0);
        cql.block_on(async {
            cql.session()
                .query_unpaged(
                    format!("SELECT DISTINCT {key} FROM {}.bars_1m", self.keyspace),
                    (),
                )
                .await
                .ok()
                .and_then(|r| r.into_rows_result().ok())
                .is_some_and(|r| {
                    r.rows::<scylla::value::Row>()
                        .into_iter()
                        .flatten()
                        .flatten()
                        .any(|row| {
                            row.columns[0]
                                .as_ref()
                                .and_then(|v| v.as_text())
                                .is_some_and(|symbol| *symbol != warm)
                        })
                })
        })
    }

    /// The `i`th symbol of the file set made with `seed`.
    fn symbol(&self, seed: u64, i: usize) -> String {
        symbol(self.layout, seed, i)
    }
}

/// The `i`th symbol of a layout's file set made with `seed`.
fn symbol(layout: &str, seed: u64, i: usize) -> String {
    format!("{}{}{i}", &layout[..2].to_uppercase(), seed / 100)
}

/// Loads paused with SIGSTOP; dropping this lets them go on (SIGCONT), also when a
/// test fails while they are paused.
#[derive(Default)]
struct Paused(Vec<u32>);

impl Paused {
    fn stop(&mut self, child: &Child) {
        signal("-STOP", child.id());
        self.0.push(child.id());
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        for &pid in &self.0 {
            signal("-CONT", pid);
        }
    }
}

fn signal(which: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {which} {pid}: {status}");
}

fn finish(layout: &str, child: Child) -> Run {
    let run: Run = child.wait_with_output().unwrap().into();
    eprintln!("{layout}: exit {}\n{}", run.code, run.stderr);
    run
}

#[test]
fn every_layout_survives_one_lost_node_and_stops_clearly_without_two() {
    let Some((hosts, dir)) = cluster() else {
        return;
    };
    let started = Instant::now();
    let cases: Vec<Case> = LAYOUTS
        .iter()
        .map(|&layout| match layout {
            // a chunked load writes far faster: more rows keep it writing until it is paused
            "chunked" => Case::new(&hosts, layout, 4, 300_000),
            _ => Case::new(&hosts, layout, 3, 600_000),
        })
        .collect();

    // 1. node 3 is killed (-9) while every load is in the middle of its writes: all
    // finish, exact. Each load is paused (SIGSTOP) once it has written bars, so that all
    // three are mid-load when the node goes however fast or slow the machine is; they
    // go on (SIGCONT) with the node gone.
    for case in &cases {
        let run = finish(case.layout, case.load(&case.warm));
        assert_eq!(run.code, 0, "{}: {}", case.layout, run.stderr);
    }
    let cql = Cql::connect(&format!("cql://{hosts}/system"), CqlOptions::default()).unwrap();
    let mut loads: Vec<Child> = Vec::new();
    let mut paused = Paused::default();
    for case in &cases {
        let mut load = case.load(&case.first);
        let since = Instant::now();
        while !case.writing(&cql) {
            if let Some(status) = load.try_wait().unwrap() {
                let mut stderr = String::new();
                std::io::Read::read_to_string(load.stderr.as_mut().unwrap(), &mut stderr).unwrap();
                panic!(
                    "the {} load ended ({status}) before it wrote: {stderr}",
                    case.layout
                );
            }
            assert!(
                since.elapsed() < Duration::from_secs(600),
                "the {} load never wrote",
                case.layout
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        paused.stop(&load);
        loads.push(load);
    }
    for (case, load) in cases.iter().zip(&mut loads) {
        assert!(
            load.try_wait().unwrap().is_none(),
            "the {} load ended before node 3 was killed: give it more rows",
            case.layout
        );
    }
    drop(cql);
    cluster_script(&dir, "kill", &["3"]);
    drop(paused);
    let killed = Instant::now();
    for (case, load) in cases.iter().zip(loads) {
        let run = finish(case.layout, load);
        assert_eq!(run.code, 0, "{}: {}", case.layout, run.stderr);
        assert!(run.stderr.contains("0 failed"), "{}", run.stderr);
    }
    eprintln!(
        "loads with node 3 killed: {:.0} s after the kill",
        killed.elapsed().as_secs_f64()
    );
    for case in &cases {
        case.verify("QUORUM", &case.first);
    }

    // 2. node 3 back and repaired: alone, it holds every bar
    cluster_script(&dir, "restart", &["3"]);
    for case in &cases {
        cluster_script(&dir, "nodetool", &["1", "repair", "-full", &case.keyspace]);
    }
    for case in &cases {
        case.verify("ALL", &case.first);
    }
    cluster_script(&dir, "kill", &["1"]);
    cluster_script(&dir, "kill", &["2"]);
    for case in &cases {
        case.verify("ONE", &case.first);
    }

    // 3. two nodes lost: a load that wants a majority of all replicas (node 3 alone is
    // a quorum of its own datacenter) and at most 3 attempts stops (exit 2) naming the
    // consistency level and the replicas out of reach, its retries reported without
    // flooding
    for case in &cases {
        let options = ["--consistency", "QUORUM", "--cql-attempts", "3"];
        let run = finish(case.layout, case.load_with(&case.second, &options));
        assert_eq!(run.code, 2, "{}: {}", case.layout, run.stderr);
        let error = run
            .stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("{}", run.stderr));
        assert!(
            error.contains("gave up after 3 attempts at QUORUM"),
            "{error}"
        );
        assert!(error.contains("needs 2 replicas"), "{error}");
        assert!(
            error.contains("unreachable: ")
                && error.contains("127.0.0.1:")
                && error.contains("127.0.0.2:"),
            "{error}"
        );
        assert!(error.contains("run the same command again"), "{error}");
        let retries = run.stderr.matches("retrying ").count();
        assert!(
            (1..=2).contains(&retries),
            "{} retry lines:\n{}",
            retries,
            run.stderr
        );
        assert!(run.stderr.contains("attempt 2 of 3"), "{}", run.stderr);
    }

    // 4. the nodes back, the same command completes with the exact rows
    cluster_script(&dir, "restart", &["1", "2"]);
    for case in &cases {
        let run = finish(case.layout, case.load(&case.second));
        assert_eq!(run.code, 0, "{}: {}", case.layout, run.stderr);
        case.verify("QUORUM", &case.second);
        case.verify("QUORUM", &case.first);
    }

    // 5. fenced loads in both datacenters at once, released together into the same days
    // of one series (each every fourth bar): the fence (at SERIAL) refuses some writes
    // and the store ends with exactly the union
    let chunked = cases.iter().find(|c| c.layout == "chunked").unwrap();
    let mut all = Vec::new();
    barstore::generate::write_firstrate(&mut all, 40_000, 5).unwrap();
    let text = String::from_utf8(all).unwrap();
    let mut parts = vec![String::new(); 4];
    for (i, line) in text.lines().enumerate() {
        parts[i % 4].push_str(line);
        parts[i % 4].push('\n');
    }
    let loads = parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let file = chunked
                .fx
                .write(&format!("dcs{i}/FENCED_full_1min.txt"), part.as_bytes());
            let dc = if i % 2 == 0 { "dc1" } else { "dc2" };
            let mut load = chunked
                .fx
                .command(&["--dc", dc, "load", "-q", file.to_str().unwrap()]);
            load.env("BARSTORE_LOG", "warn,scylla=off,barstore::fence=info");
            load
        })
        .collect();
    let mut refusals = 0;
    for run in release_together(loads) {
        eprintln!("fenced load: exit {}", run.code);
        assert_eq!(run.code, 0, "{}", run.stderr);
        refusals += run.stderr.matches("fence refused a write").count();
    }
    eprintln!("fenced loads in two datacenters: {refusals} writes refused by the fence");
    assert!(refusals >= 1, "the loads in two datacenters never raced");
    let got = csv_bars(
        &chunked
            .fx
            .ok(&["--consistency", "QUORUM", "read", "FENCED"], 0)
            .stdout,
    );
    assert!(got == csv_bars(&text), "{} of 40000 bars", got.len());
    eprintln!("cluster test: {:.0} s", started.elapsed().as_secs_f64());
}
