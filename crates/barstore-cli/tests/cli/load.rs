//! Loading: exact round trips of the real files, bad lines, exit codes, idempotence.

use crate::common::*;

both_stores!(
    firstrate_file_round_trips_exactly,
    utc_file_with_header_round_trips_in_its_zone,
    file_whose_header_lies_about_its_columns_round_trips,
    seeded_bad_lines_are_logged_and_every_good_row_loads,
    duplicates_and_out_of_order_rows_load_last_wins_with_warnings,
    loading_twice_never_duplicates_and_skips_unchanged_files,
    overlapping_reload_replaces_the_overlap,
    fatal_errors_exit_2_with_a_message,
    hostile_symbols_are_refused
);

fn firstrate_file_round_trips_exactly(fx: Fixture) {
    let src = data("AAPL_1min_sample_headerless.txt");
    let run = fx.ok(&["load", src.to_str().unwrap()], 0);
    assert!(
        run.stderr.contains("8507 rows loaded, 0 rejected"),
        "{}",
        run.stderr
    );
    let out = fx.ok(&["read", "AAPL"], 0).stdout;
    assert!(out.starts_with("timestamp,open,high,low,close,volume\n"));
    let want = csv_bars(&std::fs::read_to_string(&src).unwrap());
    assert_eq!(want.len(), 8507);
    assert_eq!(csv_bars(&out), want);
    fx.ok(&["verify", src.to_str().unwrap()], 0);
}

fn utc_file_with_header_round_trips_in_its_zone(fx: Fixture) {
    let src = data("DBB_1min_2023-07-10_to_2025-07-08.csv");
    fx.ok(&["load", "--tz", "UTC", src.to_str().unwrap()], 0);
    let out = fx.ok(&["read", "DBB"], 0).stdout;
    let want = csv_bars(&std::fs::read_to_string(&src).unwrap());
    assert_eq!(want.len(), 38964);
    assert_eq!(csv_bars(&out), want);
    // the same bars shown in New York time: 13:30 UTC in July is 09:30 EDT
    let ny = fx.ok(
        &[
            "read",
            "DBB",
            "--tz",
            "America/New_York",
            "--end",
            "2023-07-10",
        ],
        0,
    );
    assert!(ny
        .stdout
        .contains("\n2023-07-10 09:30:00,17.9,17.91,17.9,17.91,3057\n"));
    fx.ok(&["verify", "--tz", "UTC", src.to_str().unwrap()], 0);
    let wrong_zone = fx.run(&["load", "--force", src.to_str().unwrap()]);
    assert_eq!(wrong_zone.code, 2);
    assert!(
        wrong_zone
            .stderr
            .contains("DBB 1min none is stored with time zone UTC, not America/New_York; load it with time zone UTC"),
        "{}",
        wrong_zone.stderr
    );
}

fn file_whose_header_lies_about_its_columns_round_trips(fx: Fixture) {
    let src = data("2006-01-02-volume-min-001.txt");
    fx.ok(
        &[
            "load",
            "--tz",
            "Europe/Berlin",
            "--pattern",
            "{symbol}-volume-min-001.txt",
            src.to_str().unwrap(),
        ],
        0,
    );
    let out = fx.ok(&["read", "2006-01-02"], 0).stdout;
    let want = split_csv_bars(&std::fs::read_to_string(&src).unwrap());
    assert_eq!(want.len(), 30889);
    assert_eq!(csv_bars(&out), want);
}

fn seeded_bad_lines_are_logged_and_every_good_row_loads(fx: Fixture) {
    let text = std::fs::read_to_string(data("AAPL_1min_sample_headerless.txt")).unwrap();
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    let bad = [
        (
            10,
            "2024-04-29 05:00:77,1,2,0.5,1.5,10\r\n",
            "cannot parse \"2024-04-29 05:00:77\" as a date-time",
        ),
        (
            500,
            "2024-04-30 09:00:00,1,2,0.5,1.5\r\n",
            "expected 6 fields, found 5",
        ),
        (
            3000,
            "2024-05-03 09:00:00,1,0.5,2,1.5,10\r\n",
            "high 0.5 is below low 2",
        ),
        (
            8000,
            "2024-05-13 09:00:00,1,2,0.5,1.5,-4\r\n",
            "volume is negative (-4)",
        ),
    ];
    for (at, line, _) in bad {
        lines.insert(at - 1, line);
    }
    let src = fx.write("in/AAPL_full_1min_adjsplit.txt", lines.concat().as_bytes());
    let run = fx.fails_with(
        &["load", "--errors", "bad.jsonl", src.to_str().unwrap()],
        1,
        "8507 rows loaded, 4 rejected",
    );
    assert!(run.stderr.contains("bad.jsonl"), "{}", run.stderr);
    let log: Vec<serde_json::Value> = std::fs::read_to_string(fx.path("bad.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(log.len(), 4);
    for (entry, (at, line, reason)) in log.iter().zip(bad) {
        assert_eq!(entry["file"], src.to_str().unwrap());
        assert_eq!(entry["line"], at as u64);
        assert_eq!(entry["raw"], line.trim_end());
        assert!(
            entry["reason"].as_str().unwrap().contains(reason),
            "{entry}"
        );
        assert_eq!(entry["severity"], "rejected");
    }
    let out = fx.ok(&["read", "AAPL"], 0).stdout;
    assert_eq!(csv_bars(&out), csv_bars(&text));
}

fn duplicates_and_out_of_order_rows_load_last_wins_with_warnings(fx: Fixture) {
    let src = fx.write(
        "SPY.csv",
        b"2024-01-02 09:32:00,3,3,3,3,3\n2024-01-02 09:30:00,1,1,1,1,1\n2024-01-02 09:31:00,2,2,2,2,2\n2024-01-02 09:30:00,9,9,9,9,9\n2024-01-02 09:33:00,5,4,3,3.5,1\n",
    );
    let run = fx.ok(&["load", src.to_str().unwrap()], 0);
    assert!(
        run.stderr.contains("4 rows loaded, 0 rejected, 2 warnings"),
        "{}",
        run.stderr
    );
    let out = fx.ok(&["read", "SPY"], 0).stdout;
    assert_eq!(
        out,
        "timestamp,open,high,low,close,volume\n2024-01-02 09:30:00,9,9,9,9,9\n2024-01-02 09:31:00,2,2,2,2,2\n2024-01-02 09:32:00,3,3,3,3,3\n2024-01-02 09:33:00,5,4,3,3.5,1\n"
    );
    let log = std::fs::read_to_string(fx.path("barstore-errors.jsonl")).unwrap();
    assert!(log.contains(r#""line":2,"raw":"","reason":"duplicate timestamp: replaced by line 4","severity":"warning""#), "{log}");
    assert!(
        log.contains("open 5 or close 3.5 is outside [low 3, high 4]"),
        "{log}"
    );
}

fn loading_twice_never_duplicates_and_skips_unchanged_files(fx: Fixture) {
    let src = data("AAPL_1min_sample_headerless.txt");
    fx.ok(&["load", src.to_str().unwrap()], 0);
    let again = fx.ok(&["load", src.to_str().unwrap()], 0);
    assert!(
        again.stderr.contains("0 loaded, 1 skipped"),
        "{}",
        again.stderr
    );
    let forced = fx.ok(&["load", "--force", src.to_str().unwrap()], 0);
    assert!(
        forced.stderr.contains("1 loaded, 0 skipped"),
        "{}",
        forced.stderr
    );
    let symbols = fx.ok(&["symbols"], 0).stdout;
    assert_eq!(
        symbols,
        "symbol,timeframe,adjustment,rows,first,last,tz\nAAPL,1min,none,8507,2024-04-29 04:00:00,2024-05-13 19:50:00,America/New_York\n"
    );
    // the same rows in another file (with a header) replace, never add
    fx.ok(&["load", data("AAPL_1min_sample.csv").to_str().unwrap()], 0);
    assert!(fx
        .ok(&["symbols"], 0)
        .stdout
        .contains("AAPL,1min,none,8507,"));
}

fn overlapping_reload_replaces_the_overlap(fx: Fixture) {
    let a = fx.write(
        "a/X.csv",
        b"2024-01-02 09:30:00,1,1,1,1,1\n2024-01-02 09:31:00,1,1,1,1,1\n",
    );
    // b overlaps a's month and opens a new one
    let b = fx.write(
        "b/X.csv",
        b"2024-01-02 09:31:00,2,2,2,2,2\n2024-01-02 09:32:00,2,2,2,2,2\n2024-02-01 09:30:00,3,3,3,3,3\n",
    );
    fx.ok(&["load", a.to_str().unwrap()], 0);
    fx.ok(&["load", b.to_str().unwrap()], 0);
    assert_eq!(
        fx.ok(&["read", "X"], 0).stdout,
        "timestamp,open,high,low,close,volume\n2024-01-02 09:30:00,1,1,1,1,1\n2024-01-02 09:31:00,2,2,2,2,2\n2024-01-02 09:32:00,2,2,2,2,2\n2024-02-01 09:30:00,3,3,3,3,3\n"
    );
    assert_eq!(
        fx.ok(&["symbols"], 0).stdout,
        "symbol,timeframe,adjustment,rows,first,last,tz\nX,1min,none,4,2024-01-02 09:30:00,2024-02-01 09:30:00,America/New_York\n"
    );
}

fn fatal_errors_exit_2_with_a_message(fx: Fixture) {
    let junk = fx.write("JUNK.csv", b"hello,world\nthis is,not bars\n");
    let run = fx.fails_with(
        &["load", junk.to_str().unwrap()],
        2,
        "JUNK.csv: cannot recognise the layout",
    );
    assert!(run.stderr.contains("state the format"), "{}", run.stderr);
    fx.fails_with(
        &["load", fx.path("nowhere").to_str().unwrap()],
        2,
        "nowhere",
    );
    fx.fails_with(
        &["load", "--tz", "Mars/Base", junk.to_str().unwrap()],
        2,
        "invalid time zone \"Mars/Base\"",
    );
    fx.fails_with(&["read", "NOPE"], 2, "symbol \"NOPE\" is not in the store");
}

fn hostile_symbols_are_refused(fx: Fixture) {
    let weird = fx.write("in2/a b_1min.csv", b"2024-01-02 09:30:00,1,1,1,1,1\n");
    fx.fails_with(
        &["load", weird.to_str().unwrap()],
        2,
        "invalid symbol \"a b\"",
    );
    for bad in ["../x", "..", "a/b", "x;DROP"] {
        let run = fx.ok(&["read", bad], 2);
        assert!(
            run.stderr.contains("invalid symbol"),
            "{bad}: {}",
            run.stderr
        );
    }
    assert!(!fx.path("x").exists());
}
