//! Several writers on one CQL store: two loads of one series at once, a load paused
//! while another runs, a load split into shards.

use crate::common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
