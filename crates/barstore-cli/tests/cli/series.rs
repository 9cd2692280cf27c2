//! Series: a FirstRate download with several timeframes and adjustments of one ticker
//! loads without mixing; timeframes that do not fit the data are refused; stores of the
//! earlier single-series layout keep working.

use crate::common::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

both_stores!(
    a_firstrate_download_loads_every_series_apart,
    one_and_five_minute_files_of_a_ticker_stay_apart,
    a_file_closer_than_its_timeframe_is_refused_whole,
);

/// The FirstRate-style test download (see tests/data/SOURCES.md).
fn download(fx: &Fixture) -> String {
    let dir = fx.path("download");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(data("firstrate")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".txt") || name.ends_with(".zip") {
            std::fs::copy(entry.path(), dir.join(name)).unwrap();
        }
    }
    dir.display().to_string()
}

/// A member of the test download's zip.
fn zipped(member: &str) -> String {
    let file = std::fs::File::open(data("firstrate/stock_A_full_adjsplit_hour_day.zip")).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name(member).unwrap(), &mut text).unwrap();
    text
}

/// Bars of a daily file (`YYYY-MM-DD,o,h,l,c,v`) keyed as reads show them.
fn daily_bars(text: &str) -> BTreeMap<String, ([f64; 4], Option<f64>)> {
    let at_midnight: String = text
        .lines()
        .map(|l| {
            let (date, rest) = l.split_once(',').unwrap();
            format!("{date} 00:00:00,{rest}\n")
        })
        .collect();
    csv_bars(&at_midnight)
}

fn a_firstrate_download_loads_every_series_apart(fx: Fixture) {
    let dir = download(&fx);
    let run = fx.ok(&["load", &dir], 0);
    assert!(run.stderr.contains("5 files: 5 loaded"), "{}", run.stderr);
    let listed = fx.ok(&["symbols"], 0).stdout;
    let series: Vec<String> = listed
        .lines()
        .skip(1)
        .map(|l| l.split(',').take(4).collect::<Vec<_>>().join(","))
        .collect();
    assert_eq!(
        series,
        [
            "AAPL,1min,adjsplit,8507",
            "AAPL,1min,unadjusted,2337",
            "AAPL,5min,adjsplit,2046",
            "AAPL,1h,adjsplit,176",
            "AAPL,1d,adjsplit,11",
        ],
        "{listed}"
    );
    let file = |name: &str| std::fs::read_to_string(data("firstrate").join(name)).unwrap();
    for (timeframe, adjustment, want) in [
        (
            "1min",
            "adjsplit",
            csv_bars(&file("AAPL_full_1min_adjsplit.txt")),
        ),
        (
            "1min",
            "unadjusted",
            csv_bars(&file("AAPL_full_1min_UNADJUSTED.txt")),
        ),
        (
            "5min",
            "adjsplit",
            csv_bars(&file("AAPL_full_5min_adjsplit.txt")),
        ),
        (
            "1h",
            "adjsplit",
            csv_bars(&zipped("AAPL_full_1hour_adjsplit.txt")),
        ),
        (
            "1d",
            "adjsplit",
            daily_bars(&zipped("AAPL_full_1day_adjsplit.txt")),
        ),
    ] {
        let args = [
            "read",
            "AAPL",
            "--timeframe",
            timeframe,
            "--adjustment",
            adjustment,
        ];
        let got = csv_bars(&fx.ok(&args, 0).stdout);
        assert_eq!(got.len(), want.len(), "{timeframe} {adjustment}");
        assert_eq!(got, want, "{timeframe} {adjustment}");
    }
    fx.ok(&["verify", &dir], 0);
    // two adjustments of the finest timeframe: a read must say which
    fx.fails_with(
        &["read", "AAPL"],
        2,
        "AAPL has several 1min adjustments stored: adjsplit, unadjusted; choose one",
    );
    // the finest timeframe of the adjustment asked for, resampled from it
    let hourly = fx.ok(
        &[
            "read",
            "AAPL",
            "--adjustment",
            "adjsplit",
            "--resample",
            "1h",
        ],
        0,
    );
    assert_eq!(
        csv_bars(&hourly.stdout),
        csv_bars(&zipped("AAPL_full_1hour_adjsplit.txt"))
    );
    fx.fails_with(
        &["read", "AAPL", "--timeframe", "30min"],
        2,
        "AAPL has no 30min series; stored: 1min adjsplit, 1min unadjusted, 5min adjsplit, 1h adjsplit, 1d adjsplit",
    );
    fx.fails_with(
        &["read", "AAPL", "--timeframe", "5min", "--resample", "1min"],
        2,
        "cannot resample AAPL 5min adjsplit into 1min bars",
    );
    // daily bars are kept whatever the session filter
    let days = fx.ok(
        &["read", "AAPL", "--timeframe", "1d", "--session", "regular"],
        0,
    );
    assert_eq!(rows(&days.stdout), 11);
    // loading the download again skips every file
    let again = fx.ok(&["load", &dir], 0);
    assert!(again.stderr.contains("5 skipped"), "{}", again.stderr);
}

fn one_and_five_minute_files_of_a_ticker_stay_apart(fx: Fixture) {
    let one = fx.write(
        "SPY_1min.csv",
        &std::fs::read(data("AAPL_1min_sample.csv")).unwrap(),
    );
    let five = fx.write(
        "SPY_5min.csv",
        &std::fs::read(data("AAPL_5min_sample.csv")).unwrap(),
    );
    fx.ok(&["load", one.to_str().unwrap(), five.to_str().unwrap()], 0);
    let at = |extra: &[&str]| {
        let csv = fx.read_day("SPY", "2024-05-01", extra);
        csv.lines()
            .find(|l| l.starts_with("2024-05-01 10:05:00"))
            .unwrap()
            .to_string()
    };
    let minute = csv_bars(&std::fs::read_to_string(&one).unwrap());
    let bar = &minute["2024-05-01 10:05:00"];
    assert_eq!(at(&[]), at(&["--timeframe", "1min"]));
    assert!(
        at(&[]).ends_with(&format!(",{}", bar.1.unwrap())),
        "{}",
        at(&[])
    );
    let five_bars = csv_bars(&std::fs::read_to_string(&five).unwrap());
    let five_bar = &five_bars["2024-05-01 10:05:00"];
    assert!(
        at(&["--timeframe", "5min"]).ends_with(&format!(",{}", five_bar.1.unwrap())),
        "{}",
        at(&["--timeframe", "5min"])
    );
    assert_ne!(bar.1, five_bar.1);
}

fn a_file_closer_than_its_timeframe_is_refused_whole(fx: Fixture) {
    let minute = std::fs::read(data("AAPL_1min_sample_headerless.txt")).unwrap();
    let named = fx.write("SPY_full_5min_adjsplit.txt", &minute);
    fx.fails_with(
        &["load", named.to_str().unwrap()],
        2,
        "SPY_full_5min_adjsplit.txt: line 2: its bars are 1min apart (here less than 5min after the one before), but its timeframe is 5min (from the file name)",
    );
    let flagged = fx.write("QQQ.txt", &minute);
    fx.fails_with(
        &["load", "--timeframe", "5min", flagged.to_str().unwrap()],
        2,
        "but its timeframe is 5min (as given)",
    );
    let daily = fx.write(
        "IWM_full_1min.txt",
        b"2024-05-01,1,2,0.5,1.5,7\n2024-05-02,1,2,0.5,1.5,8\n",
    );
    fx.fails_with(
        &["load", daily.to_str().unwrap()],
        2,
        "its rows carry a date only (1d bars), but its timeframe is 1min",
    );
    let listed = fx.ok(&["symbols"], 0).stdout;
    assert_eq!(listed.lines().count(), 1, "nothing stored:\n{listed}");
    // the same daily rows without a name token load as 1d bars
    let plain = fx.write("IWM.txt", &std::fs::read(&daily).unwrap());
    fx.ok(&["load", plain.to_str().unwrap()], 0);
    let listed = fx.ok(&["symbols"], 0).stdout;
    assert!(
        listed
            .contains("\nIWM,1d,none,2,2024-05-01 00:00:00,2024-05-02 00:00:00,America/New_York\n"),
        "{listed}"
    );
}

/// A store written before versions (tests/data/store-before-table: a year's base file
/// and an appended part, with its series index and manifest) reads as it is, and its
/// first write makes it a table that adopts both files without rewriting them.
#[test]
fn a_store_written_before_versions_reads_and_is_adopted_by_its_first_write() {
    let fx = Fixture::new();
    copy_dir(&data("store-before-table"), &fx.store());
    let dir = "bars/symbol=AAPL/timeframe=1min/adjustment=none/year=2024";
    let before: Vec<(PathBuf, Vec<u8>)> = fx
        .data_files(dir)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    assert_eq!(before.len(), 2);
    let src = data("AAPL_1min_sample_headerless.txt");
    let text = std::fs::read_to_string(&src).unwrap();
    let stored: String = text.lines().take(1900).map(|l| format!("{l}\n")).collect();
    let listed = fx.ok(&["symbols"], 0).stdout;
    assert!(
        listed.contains("\nAAPL,1min,none,1900,2024-04-29 04:00:00,"),
        "{listed}"
    );
    assert_eq!(
        csv_bars(&fx.ok(&["read", "AAPL"], 0).stdout),
        csv_bars(&stored)
    );
    let run = fx.ok(&["upgrade"], 0);
    assert!(
        run.stderr.contains("now a versioned table"),
        "{}",
        run.stderr
    );
    assert!(!fx.store().join("_barstore/series.jsonl").exists());
    for (path, bytes) in &before {
        assert_eq!(
            &std::fs::read(path).unwrap(),
            bytes,
            "{path:?} was rewritten"
        );
    }
    let history = fx.ok(&["history"], 0).stdout;
    assert!(
        history.contains("\n0,") && history.contains(",upgrade,1,1900,2,0,2,"),
        "{history}"
    );
    assert_eq!(
        fx.ok(&["upgrade"], 0).stderr.trim(),
        "the store is already a versioned table"
    );
    fx.ok(&["load", src.to_str().unwrap()], 0);
    assert_eq!(
        csv_bars(&fx.ok(&["read", "AAPL"], 0).stdout),
        csv_bars(&text)
    );
    fx.ok(&["verify", src.to_str().unwrap()], 0);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
