//! Corporate actions: loading them, adjusting raw series on read (checked against
//! adjusted files computed here, independently, as a vendor computes them), `as_of`,
//! `check --suggest-actions` and `verify --adjusted`.

use crate::common::*;
use barstore::exchange::Calendar;
use barstore::zone::{civil_from_days, days_from_civil};

both_stores!(
    adjusted_reads_equal_the_vendors_adjusted_files,
    actions_load_once_reject_bad_rows_and_keep_old_versions_for_as_of,
    check_suggests_the_splits_and_verify_finds_a_missing_action
);

/// A raw bar: exchange date, minute of the day, open, high, low, close, volume.
type Bar = (i64, i64, [f64; 4], f64);

const SPLITS: [(i64, u32, u32, f64, f64); 2] = [(2022, 6, 6, 1.0, 4.0), (2023, 3, 15, 2.0, 3.0)];
const DIVIDEND: f64 = 0.22;

fn day(y: i64, m: u32, d: u32) -> i64 {
    days_from_civil(y, m, d)
}

fn date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

fn dividend_days() -> Vec<i64> {
    [
        (2022, 2, 10),
        (2022, 5, 12),
        (2022, 8, 11),
        (2022, 11, 10),
        (2023, 2, 9),
        (2023, 5, 11),
        (2023, 8, 10),
        (2023, 11, 9),
    ]
    .iter()
    .map(|&(y, m, d)| day(y, m, d))
    .collect()
}

/// Two years of raw bars (20 a day: 09:30-09:39 and 15:50-15:59 on every US trading
/// day) whose price falls by the split ratio at each split and by the dividend on each
/// ex-date,
/// with small moves otherwise; cents and round lots, as raw vendor files hold.
fn raw_bars() -> Vec<Bar> {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let cents = |x: f64| (x * 100.0).round() / 100.0;
    let mut out = Vec::new();
    let mut close = 400.0;
    for d in day(2022, 1, 3)..=day(2023, 12, 29) {
        if Calendar::UsEquity.session(d).is_none() {
            continue;
        }
        let mut open = close * (1.0 + (rand() - 0.5) * 0.004);
        for &(y, m, dd, from, to) in &SPLITS {
            if d == day(y, m, dd) {
                open *= from / to;
            }
        }
        if dividend_days().contains(&d) {
            open -= DIVIDEND;
        }
        open = cents(open);
        for minute in (570..580).chain(950..960) {
            close = cents(open * (1.0 + (rand() - 0.5) * 0.002));
            let high = open.max(close) + 0.01;
            let low = open.min(close) - 0.01;
            let volume = 200.0 * (1.0 + (rand() * 50.0).floor());
            out.push((d, minute, [open, high, low, close], volume));
            open = close;
        }
    }
    out
}

fn firstrate(bars: &[Bar], decimals: usize) -> String {
    let mut s = String::new();
    for (d, minute, p, v) in bars {
        s.push_str(&format!(
            "{} {:02}:{:02}:00,{:.*},{:.*},{:.*},{:.*},{}\n",
            date(*d),
            minute / 60,
            minute % 60,
            decimals,
            p[0],
            decimals,
            p[1],
            decimals,
            p[2],
            decimals,
            p[3],
            v
        ));
    }
    s
}

/// The bars adjusted as a vendor adjusts them, by the backward method, for the given
/// splits `(ex_date, from, to)` and dividends `(ex_date, cash)`.
fn vendor_adjusted(raw: &[Bar], splits: &[(i64, f64, f64)], dividends: &[(i64, f64)]) -> Vec<Bar> {
    let close_before = |ex: i64| raw.iter().rev().find(|b| b.0 < ex).map(|b| b.2[3]).unwrap();
    raw.iter()
        .map(|&(d, minute, p, v)| {
            let mut price = 1.0;
            let mut volume = 1.0;
            for &(_, from, to) in splits.iter().filter(|s| s.0 > d) {
                price *= from / to;
                volume *= to / from;
            }
            for &(ex, cash) in dividends.iter().filter(|x| x.0 > d) {
                price *= 1.0 - cash / close_before(ex);
            }
            (d, minute, p.map(|x| x * price), v * volume)
        })
        .collect()
}

fn splits() -> Vec<(i64, f64, f64)> {
    SPLITS
        .iter()
        .map(|&(y, m, d, from, to)| (day(y, m, d), from, to))
        .collect()
}

fn dividends() -> Vec<(i64, f64)> {
    dividend_days().into_iter().map(|d| (d, DIVIDEND)).collect()
}

/// Writes the raw file and the two actions files, loads them; returns the raw bars.
fn load_raw_and_actions(fx: &Fixture) -> Vec<Bar> {
    let raw = raw_bars();
    let file = fx.write(
        "raw/XYZ_full_1min_UNADJUSTED.txt",
        firstrate(&raw, 2).as_bytes(),
    );
    fx.ok(&["load", "-q", file.to_str().unwrap()], 0);
    let mut splits_csv = String::from("symbol,ex_date,split_from,split_to\n");
    for (ex, from, to) in splits() {
        splits_csv.push_str(&format!("XYZ,{},{from},{to}\n", date(ex)));
    }
    let mut dividends_csv = String::from("symbol,ex_date,dividend\n");
    for (ex, cash) in dividends() {
        dividends_csv.push_str(&format!("XYZ,{},{cash}\n", date(ex)));
    }
    fx.write("splits.csv", splits_csv.as_bytes());
    fx.write("dividends.csv", dividends_csv.as_bytes());
    let run = fx.ok(&["actions", "load", "splits.csv"], 0);
    assert!(
        run.stderr.contains("2 rows: 2 actions added"),
        "{}",
        run.stderr
    );
    fx.ok(&["actions", "load", "dividends.csv"], 0);
    raw
}

/// Asserts that a read's CSV equals `want` to the vendor's 4 decimals, volumes exactly.
fn assert_matches(csv: &str, want: &[Bar]) {
    let got = csv_bars(csv);
    assert_eq!(got.len(), want.len());
    for (d, minute, p, v) in want {
        let ts = format!("{} {:02}:{:02}:00", date(*d), minute / 60, minute % 60);
        let (prices, volume) = got.get(&ts).unwrap_or_else(|| panic!("{ts} missing"));
        for (g, w) in prices.iter().zip(p) {
            let vendor = (w * 1e4).round() / 1e4;
            assert!(
                (g - vendor).abs() <= 0.00005 + 1e-9,
                "{ts}: {g} vs {vendor}"
            );
        }
        assert_eq!(*volume, Some(*v), "{ts}");
    }
}

fn adjusted_reads_equal_the_vendors_adjusted_files(fx: Fixture) {
    let raw = load_raw_and_actions(&fx);
    let all = fx.ok(&["read", "XYZ", "--adjust", "split+div"], 0).stdout;
    assert_matches(&all, &vendor_adjusted(&raw, &splits(), &dividends()));
    let split = fx.ok(&["read", "XYZ", "--adjust", "split"], 0).stdout;
    assert_matches(&split, &vendor_adjusted(&raw, &splits(), &[]));
    // as of a date before every event: the raw bars, exactly
    let plain = fx.ok(&["read", "XYZ"], 0).stdout;
    let early = fx.ok(
        &[
            "read",
            "XYZ",
            "--adjust",
            "split+div",
            "--as-of",
            "2022-02-09",
        ],
        0,
    );
    assert_eq!(early.stdout, plain);
    // as of the end of 2022: the 2023 events are not known; bars after it are raw
    let as_of = day(2022, 12, 31);
    let then = fx.ok(
        &[
            "read",
            "XYZ",
            "--adjust",
            "split+div",
            "--as-of",
            "2022-12-31",
        ],
        0,
    );
    let known_splits: Vec<_> = splits().into_iter().filter(|s| s.0 <= as_of).collect();
    let known_dividends: Vec<_> = dividends().into_iter().filter(|x| x.0 <= as_of).collect();
    let want = vendor_adjusted(&raw, &known_splits, &known_dividends);
    assert_matches(&then.stdout, &want);
    assert!(want
        .iter()
        .zip(&raw)
        .filter(|(_, r)| r.0 > as_of)
        .all(|(w, r)| w == r));
    // adjusting applies before the session filter, resampling and rounding
    let daily = fx.ok(
        &[
            "read",
            "XYZ",
            "--adjust",
            "split",
            "--resample",
            "1d",
            "--round",
            "2",
            "--start",
            "2022-06-03",
            "--end",
            "2022-06-03",
        ],
        0,
    );
    let friday = vendor_adjusted(&raw, &splits(), &[]);
    let friday: Vec<&Bar> = friday.iter().filter(|b| b.0 == day(2022, 6, 3)).collect();
    let high = friday.iter().map(|b| b.2[1]).fold(f64::MIN, f64::max);
    let line = daily.stdout.lines().nth(1).unwrap().to_string();
    let want_high = (high * 100.0).round() / 100.0;
    assert_eq!(
        line.split(',').nth(2).unwrap().parse::<f64>().unwrap(),
        want_high,
        "{line}"
    );
    // an already adjusted series is refused
    let adjusted = fx.write(
        "vendor/XYZ_full_1min_adjsplit.txt",
        firstrate(&vendor_adjusted(&raw, &splits(), &[]), 4).as_bytes(),
    );
    fx.ok(&["load", "-q", adjusted.to_str().unwrap()], 0);
    fx.fails_with(
        &[
            "read",
            "XYZ",
            "--adjustment",
            "adjsplit",
            "--adjust",
            "split",
        ],
        2,
        "cannot adjust XYZ 1min adjsplit: its prices are already adjusted",
    );
    // many symbols at once adjust each the same way
    let panel = fx.ok(
        &[
            "read",
            "XYZ",
            "XYZ",
            "--adjustment",
            "unadjusted",
            "--adjust",
            "split+div",
        ],
        0,
    );
    assert_eq!(rows(&panel.stdout), raw.len());
}

fn actions_load_once_reject_bad_rows_and_keep_old_versions_for_as_of(fx: Fixture) {
    let bars =
        "2024-03-04 15:59:00,100,100.5,99.5,100,1000\n2024-03-05 09:30:00,99,99.5,98.5,99,1000\n";
    let file = fx.write("raw/ABC_full_1min_UNADJUSTED.txt", bars.as_bytes());
    fx.ok(&["load", "-q", file.to_str().unwrap()], 0);
    fx.write(
        "d1.csv",
        b"symbol,ex_date,dividend\nABC,2024-03-05,1\n../etc,2024-03-05,1\nABC,2024-03-09,1\nABC,2024-03-06,0\nABC,2024-03-07,-2\nABC,2024/03/0x,1\n",
    );
    let run = fx.ok(&["actions", "load", "d1.csv"], 1);
    for (line, reason) in [
        (3, "invalid symbol \"../etc\""),
        (4, "ex_date 2024-03-09 is not a trading day"),
        (5, "dividend \"0\" must be a positive number"),
        (6, "dividend \"-2\" must be a positive number"),
        (7, "ex_date \"2024/03/0x\" is not a date"),
    ] {
        assert!(
            run.stderr
                .contains(&format!("d1.csv: line {line}: {reason}")),
            "{reason}: {}",
            run.stderr
        );
    }
    assert!(
        run.stderr
            .contains("6 rows: 1 actions added, 0 changed, 0 unchanged; 5 rows rejected"),
        "{}",
        run.stderr
    );
    let again = fx.ok(&["actions", "load", "d1.csv"], 1);
    assert!(
        again
            .stderr
            .contains("0 actions added, 0 changed, 1 unchanged"),
        "{}",
        again.stderr
    );
    let list = fx.ok(&["actions", "list", "ABC"], 0).stdout;
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(
        list.lines()
            .nth(1)
            .unwrap()
            .starts_with("ABC,2024-03-05,dividend,,,1,d1.csv,"),
        "{list}"
    );
    // a changed value replaces the old one; the old one stays for reads as of before
    fx.write(
        "d2.csv",
        b"symbol,ex_date,dividend,source\nABC,2024-03-05,2,vendor\n",
    );
    let changed = fx.ok(&["actions", "load", "d2.csv"], 0);
    assert!(
        changed.stderr.contains("0 actions added, 1 changed"),
        "{}",
        changed.stderr
    );
    let history = fx.ok(&["actions", "list", "--history"], 0).stdout;
    assert_eq!(history.lines().count(), 3, "{history}");
    assert!(history.contains(",dividend,,,2,vendor,"), "{history}");
    let first_close = |extra: &[&str]| {
        let mut args = vec!["read", "ABC", "--adjust", "split+div"];
        args.extend_from_slice(extra);
        let out = fx.ok(&args, 0).stdout;
        out.lines()
            .nth(1)
            .unwrap()
            .split(',')
            .nth(4)
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    assert_eq!(first_close(&[]), 100.0 * (1.0 - 2.0 / 100.0));
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 86_400;
    let yesterday = date(today - 1);
    assert_eq!(
        first_close(&["--as-of", &yesterday]),
        100.0 * (1.0 - 1.0 / 100.0)
    );
    assert_eq!(
        first_close(&["--as-of", &date(today)]),
        100.0 * (1.0 - 2.0 / 100.0)
    );
    // the header names what it lacks
    fx.write("bad.csv", b"ticker,date,ratio\nABC,2024-03-05,2\n");
    fx.fails_with(
        &["actions", "load", "bad.csv"],
        2,
        "bad.csv: line 1: no symbol or ex_date column",
    );
}

fn check_suggests_the_splits_and_verify_finds_a_missing_action(fx: Fixture) {
    let raw = load_raw_and_actions(&fx);
    fx.ok(&["check", "XYZ", "--suggest-actions", "suggested.csv"], 1);
    let suggested = std::fs::read_to_string(fx.path("suggested.csv")).unwrap();
    assert_eq!(
        suggested,
        "symbol,ex_date,split_from,split_to\nXYZ,2022-06-06,1,4\nXYZ,2023-03-15,2,3\n"
    );
    // nothing on a clean (adjusted) series
    let clean = fx.write(
        "clean/XYZ_full_1min_adjsplitdiv.txt",
        firstrate(&vendor_adjusted(&raw, &splits(), &dividends()), 4).as_bytes(),
    );
    fx.ok(&["load", "-q", clean.to_str().unwrap()], 0);
    fx.ok(
        &[
            "check",
            "XYZ",
            "--adjustment",
            "adjsplitdiv",
            "--suggest-actions",
            "none.csv",
        ],
        1,
    );
    let none = std::fs::read_to_string(fx.path("none.csv")).unwrap();
    assert_eq!(none, "symbol,ex_date,split_from,split_to\n");
    // the vendor's file agrees with the raw series adjusted on read
    let agree = fx.ok(
        &["verify", "--adjusted", "split+div", clean.to_str().unwrap()],
        0,
    );
    assert!(
        agree
            .stderr
            .contains(&format!("agree: {} bars compared", raw.len())),
        "{}",
        agree.stderr
    );
    // a vendor that knows a dividend barstore was not given disagrees on every day
    // before it, by that dividend's factor
    let extra = day(2023, 6, 15);
    let mut with_extra = dividends();
    with_extra.push((extra, 0.5));
    let vendor = fx.write(
        "vendor/XYZ_full_1min_adjsplitdiv.txt",
        firstrate(&vendor_adjusted(&raw, &splits(), &with_extra), 4).as_bytes(),
    );
    let run = fx.ok(
        &[
            "verify",
            "--adjusted",
            "split+div",
            vendor.to_str().unwrap(),
        ],
        1,
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    let days_before = raw.iter().filter(|b| b.0 < extra && b.1 == 570).count();
    let prefix = format!("XYZ,1min,adjsplitdiv,2022-01-03,2023-06-14,{days_before},");
    assert!(lines[1].starts_with(&prefix), "{}", lines[1]);
    let close = raw.iter().rev().find(|b| b.0 < extra).unwrap().2[3];
    let factor: f64 = lines[1].rsplit(',').next().unwrap().parse().unwrap();
    assert!(
        (factor - (1.0 - 0.5 / close)).abs() < 1e-5,
        "{factor} vs {}",
        1.0 - 0.5 / close
    );
}
