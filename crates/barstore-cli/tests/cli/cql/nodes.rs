//! Nodes of the tests' own: one stopped in the middle of a load, one serving CQL over
//! TLS only and requiring client certificates.

use crate::common::*;
use barstore::store::cql::{Cql, CqlOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
