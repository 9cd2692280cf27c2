//! Keeping stores in step with their sources: a copy run again brings over every month
//! that changed since the last one and ends with the target's months equal to the
//! source's; a load run again after one file changed leaves the store as a fresh load
//! of the files as they are now, the later file still winning.

use crate::common::*;

/// The rows of the AAPL sample (with its header) on the given days.
fn days(days: &[&str]) -> String {
    let sample = std::fs::read_to_string(data("AAPL_1min_sample.csv")).unwrap();
    let mut lines = sample.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for line in lines.filter(|l| days.iter().any(|d| l.starts_with(d))) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

both_stores!(a_rerun_after_an_earlier_file_changed_keeps_the_later_file_winning);

/// Two files of one series overlap; the later (`b/`) wins. Editing the earlier one and
/// loading again must not let it override the later one.
fn a_rerun_after_an_earlier_file_changed_keeps_the_later_file_winning(fx: Fixture) {
    let a = days(&["2024-05-01", "2024-05-02"]);
    let b: String = days(&["2024-05-02", "2024-05-03"])
        .lines()
        .enumerate()
        .map(|(i, l)| {
            // b's own values for the day both hold
            let l = if i > 0 && l.starts_with("2024-05-02") {
                let f: Vec<&str> = l.split(',').collect();
                format!("{},200,200,200,200,{}", f[0], f[5])
            } else {
                l.to_string()
            };
            l + "\n"
        })
        .collect();
    fx.write("in/a/X_1min.txt", a.as_bytes());
    fx.write("in/b/X_1min.txt", b.as_bytes());
    fx.ok(&["load", "in"], 0);
    fx.ok(&["verify", "in"], 0);
    let shared = "2024-05-02 10:00:00";
    assert_eq!(
        csv_bars(&fx.read_day("X", "2024-05-02", &[]))[shared].0,
        [200.0; 4]
    );

    // edit a: other values on both days (and one more bar, so that its size changes)
    let edited: String = a
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let l = if i > 0 {
                let f: Vec<&str> = l.split(',').collect();
                format!("{},300,300,300,300,{}", f[0], f[5])
            } else {
                l.to_string()
            };
            l + "\n"
        })
        .chain(std::iter::once(
            "2024-05-01 03:59:00,300,300,300,300,1\n".to_string(),
        ))
        .collect();
    fx.write("in/a/X_1min.txt", edited.as_bytes());
    let run = fx.ok(&["load", "in"], 0);
    assert!(
        run.stderr.contains("2 files: 2 loaded, 0 skipped"),
        "{}",
        run.stderr
    );
    fx.ok(&["verify", "in"], 0);
    assert_eq!(
        csv_bars(&fx.read_day("X", "2024-05-02", &[]))[shared].0,
        [200.0; 4]
    );
    assert_eq!(
        csv_bars(&fx.read_day("X", "2024-05-01", &[]))["2024-05-01 10:00:00"].0,
        [300.0; 4]
    );

    // nothing changed: nothing loads
    let run = fx.ok(&["load", "in"], 0);
    assert!(
        run.stderr.contains("2 files: 0 loaded, 2 skipped"),
        "{}",
        run.stderr
    );
}
