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

fn count(text: &str) -> usize {
    text.lines().skip(1).count()
}

/// The `N series: ...` summary of a copy.
/// Copies `source` to the store `to`; asserts success and that the summary (the last
/// line) says `says`.
fn copies(source: &Fixture, to: &str, says: &str) {
    let run = source.ok(&["copy", "--to", to], 0);
    let summary = run.stderr.lines().last().unwrap_or("");
    assert!(summary.contains(says), "{}", run.stderr);
}

/// Copies from `source` into `target`, loads more bars of the same month and corrects
/// one, and copies again each time: the target ends with every bar.
fn copy_refreshes_months_changed_since_the_last_copy(source: Fixture, target: Fixture) {
    let to = target.store_arg();
    let first = days(&["2024-05-01", "2024-05-02"]);
    source.write("in/AAPL_1min_a.txt", first.as_bytes());
    source.ok(&["load", "in"], 0);
    copies(&source, &to, "1 months copied, 0 skipped");

    let second = days(&["2024-05-06", "2024-05-07"]);
    source.write("in/AAPL_1min_b.txt", second.as_bytes());
    source.ok(&["load", "in"], 0);
    copies(&source, &to, "1 months copied, 0 skipped");
    let all = count(&first) + count(&second);
    assert_eq!(rows(&target.ok(&["read", "AAPL"], 0).stdout), all);
    target.ok(&["verify", source.path("in").to_str().unwrap()], 0);

    // unchanged since: nothing to copy
    copies(&source, &to, "0 months copied, 1 skipped");

    // a correction keeps the count of bars and changes one
    let line = second.lines().nth(10).unwrap();
    let fields: Vec<&str> = line.split(',').collect();
    let corrected = format!("{},101.01,101.01,101.01,101.01,{}", fields[0], fields[5]);
    let edited = second.replace(line, &corrected);
    source.write("in/AAPL_1min_b.txt", edited.as_bytes());
    source.ok(&["load", "in"], 0);
    copies(&source, &to, "1 months copied, 0 skipped");
    let day = fields[0].split(' ').next().unwrap();
    let read = csv_bars(&target.read_day("AAPL", day, &[]));
    assert_eq!(read[fields[0]].0, [101.01; 4]);
    target.ok(&["verify", source.path("in").to_str().unwrap()], 0);
}

mod copy_refreshes {
    use super::*;

    #[test]
    fn embedded_to_embedded() {
        copy_refreshes_months_changed_since_the_last_copy(Fixture::new(), Fixture::new());
    }

    #[test]
    fn embedded_to_cql() {
        let target = cql_or_skip!("embedded_to_cql");
        copy_refreshes_months_changed_since_the_last_copy(Fixture::new(), target);
    }

    #[test]
    fn cql_to_embedded() {
        let source = cql_or_skip!("cql_to_embedded");
        copy_refreshes_months_changed_since_the_last_copy(source, Fixture::new());
    }
}

/// A target that holds bars of its own in a copied month fails the copy (exit 2, the
/// series and month named) rather than looking complete, and every rerun says so again.
#[test]
fn copy_fails_when_the_target_month_differs_from_the_source_after_it() {
    let source = Fixture::new();
    let target = Fixture::new();
    let to = target.store_arg();
    source.write("in/AAPL_1min.txt", days(&["2024-05-01"]).as_bytes());
    source.ok(&["load", "in"], 0);
    let own = days(&["2024-05-02"]);
    target.write("own/AAPL_1min.txt", own.as_bytes());
    target.ok(&["load", "own"], 0);
    for _ in 0..2 {
        let run = source.fails_with(
            &["copy", "--to", &to],
            2,
            "copy of AAPL 1min none 2024-05 from",
        );
        assert!(
            run.stderr
                .contains("the target's month differs from the source's"),
            "{}",
            run.stderr
        );
        let lacks = format!(": 0 missing, {} the source lacks, 0 different", count(&own));
        assert!(run.stderr.contains(&lacks), "{}", run.stderr);
    }
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
