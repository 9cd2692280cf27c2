//! The embedded store's versions: concurrent loads, reads beside writers, reads as of
//! a version, a time or a snapshot, history and vacuum.

use crate::common::*;

/// A day of 390 regular-session bars of `symbol`'s file at `price` (March 2024).
fn day(day: u32, price: f64) -> String {
    let mut out = String::new();
    for m in 0..390 {
        let (h, min) = (9 + (30 + m) / 60, (30 + m) % 60);
        out.push_str(&format!(
            "2024-03-{day:02} {h:02}:{min:02}:00,{price},{},{},{price},{m}\n",
            price + 1.0,
            price / 2.0
        ));
    }
    out
}

fn days(range: std::ops::RangeInclusive<u32>, price: f64) -> String {
    range.map(|d| day(d, price)).collect()
}

#[test]
fn loads_released_together_into_one_store_equal_a_fresh_load_of_their_union() {
    let fx = Fixture::new();
    // overlapping days of one symbol (equal where they overlap), and other symbols
    let inputs = [
        fx.write("a/SPY_1min.txt", days(4..=8, 5.0).as_bytes()),
        fx.write("b/SPY_1min.txt", days(6..=12, 5.0).as_bytes()),
        fx.write("c/SPY_1min.txt", days(11..=14, 5.0).as_bytes()),
        fx.write("d/QQQ_1min.txt", days(4..=14, 3.0).as_bytes()),
        fx.write("e/IWM_1min.txt", days(4..=5, 2.0).as_bytes()),
    ];
    fx.ok(&["load", inputs[4].to_str().unwrap()], 0);
    let loads = inputs
        .iter()
        .map(|p| fx.command(&["load", "-q", p.to_str().unwrap()]))
        .collect();
    for run in release_together(loads) {
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let fresh = Fixture::new();
    for p in &inputs {
        fresh.ok(&["load", p.to_str().unwrap()], 0);
    }
    for symbol in ["SPY", "QQQ", "IWM"] {
        assert_eq!(
            fx.ok(&["read", symbol], 0).stdout,
            fresh.ok(&["read", symbol], 0).stdout,
            "{symbol}"
        );
    }
    assert_eq!(
        fx.ok(&["symbols"], 0).stdout,
        fresh.ok(&["symbols"], 0).stdout
    );
    assert!(fx
        .ok(&["symbols"], 0)
        .stdout
        .contains("\nSPY,1min,none,4290,"));
}

#[test]
fn reads_beside_loads_and_compactions_each_see_one_committed_version() {
    let fx = Fixture::new();
    let file = fx.write("in/SPY_1min.txt", days(1..=5, 1.0).as_bytes());
    fx.ok(&["load", file.to_str().unwrap()], 0);
    // a writer in another process: each step replaces the file by one with every bar
    // at a new price, loads it (a merge of every year file) and compacts
    let bin = env!("CARGO_BIN_EXE_barstore");
    let mut writer_script = String::new();
    for k in 2..=9 {
        let step = fx.write(&format!("steps/{k}.txt"), days(1..=5, k as f64).as_bytes());
        writer_script.push_str(&format!(
            "cp {step} {file}.next && mv {file}.next {file} && {bin} load -q {file} && {bin} compact || exit 1; ",
            step = step.display(),
            file = file.display(),
        ));
    }
    let mut writer = std::process::Command::new("sh")
        .args(["-c", &writer_script])
        .current_dir(fx.dir.path())
        .env("BARSTORE_STORE", fx.store())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut reads = 0;
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let done = writer.try_wait().unwrap().is_some();
        let out = fx.ok(&["read", "SPY"], 0).stdout;
        let prices: std::collections::BTreeSet<&str> = out
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap())
            .collect();
        assert_eq!(
            out.lines().count(),
            1 + 5 * 390,
            "read {reads}: a bar missing or twice"
        );
        assert_eq!(prices.len(), 1, "read {reads} mixed versions: {prices:?}");
        seen.extend(prices.into_iter().map(str::to_string));
        reads += 1;
        if done && reads >= 20 {
            break;
        }
    }
    let status = writer.wait().unwrap();
    assert!(status.success(), "the writer failed");
    assert!(seen.contains("9.0") || seen.contains("9"), "{seen:?}");
}

#[test]
fn reads_as_of_a_version_a_time_or_a_snapshot_and_vacuum_keeps_what_they_need() {
    let fx = Fixture::new();
    let file = fx.write("SPY_1min.txt", days(1..=3, 1.0).as_bytes());
    fx.ok(&["load", file.to_str().unwrap()], 0);
    let first = fx.ok(&["read", "SPY"], 0).stdout;
    fx.ok(&["snapshot", "create", "friday"], 0);
    // a name that could reach the file system or read as a version is refused
    for bad in ["../etc", "7", ".hidden", ""] {
        fx.fails_with(&["snapshot", "create", bad], 2, "use 1 to 64 letters");
    }
    // a vendor correction replaces day 2
    let mut corrected = days(1..=1, 1.0);
    corrected.push_str(&days(2..=2, 7.0));
    corrected.push_str(&days(3..=3, 1.0));
    fx.write("SPY_1min.txt", corrected.as_bytes());
    fx.ok(&["load", file.to_str().unwrap()], 0);
    let second = fx.ok(&["read", "SPY"], 0).stdout;
    assert_ne!(first, second);
    let history = fx.ok(&["history"], 0).stdout;
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(
        lines[0],
        "version,time,operation,series,rows,files_added,files_replaced,sources,snapshots"
    );
    assert!(
        lines[1].starts_with("2,") && lines[1].contains(",load,1,1170,1,1,1,"),
        "{history}"
    );
    assert!(
        lines[2].starts_with("1,") && lines[2].ends_with(",load,1,1170,1,0,1,friday"),
        "{history}"
    );
    for as_of in ["1", "friday"] {
        assert_eq!(
            fx.ok(&["read", "SPY", "--as-of", as_of], 0).stdout,
            first,
            "{as_of}"
        );
    }
    assert_eq!(fx.ok(&["read", "SPY", "--as-of", "2"], 0).stdout, second);
    fx.fails_with(
        &["read", "SPY", "--as-of", "9"],
        2,
        "there is no version 9: the versions are 0 to 2",
    );
    fx.fails_with(
        &["read", "SPY", "--as-of", "monday"],
        2,
        "there is no snapshot named monday",
    );
    // before the first version: the bars as they are, the actions as known then
    let early = fx.ok(&["read", "SPY", "--as-of", "1999-01-01"], 0);
    assert_eq!(early.stdout, second);
    assert!(
        early
            .stderr
            .contains("no version of the bars was committed by 1999-01-01T23:59:59.999Z"),
        "{}",
        early.stderr
    );
    // the snapshot keeps version 1's replaced file; unnamed, it goes
    let dry = fx.ok(&["vacuum", "--retain", "0", "--dry-run"], 0);
    assert!(dry.stdout.is_empty(), "{}", dry.stdout);
    fx.ok(&["snapshot", "delete", "friday"], 0);
    let run = fx.ok(&["vacuum", "--retain", "0"], 0);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(run.stderr.contains("removed 1 files"), "{}", run.stderr);
    fx.fails_with(
        &["read", "SPY", "--as-of", "1"],
        2,
        "version 1 was vacuumed: the oldest version kept is 2",
    );
    assert_eq!(fx.ok(&["read", "SPY"], 0).stdout, second);
    fx.ok(&["verify", file.to_str().unwrap()], 0);
}

#[test]
fn version_commands_on_a_cql_store_say_it_keeps_no_versions() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_barstore"))
        .args(["--store", "cql://127.0.0.1:1/ks", "history"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "barstore history works on the embedded store: a CQL keyspace keeps no versions of its bars"
        ),
        "{stderr}"
    );
}
