//! Corporate actions that would break every adjusted read are refused at load, with
//! their line; one stored before its bars is left out of reads, with a warning.

use crate::common::*;

both_stores!(implausible_actions_are_rejected_and_a_dividend_above_the_close_is_read_without);

fn implausible_actions_are_rejected_and_a_dividend_above_the_close_is_read_without(fx: Fixture) {
    let bars = "2024-05-01 15:59:00,100,101,99,100,7\n2024-05-02 09:30:00,100,101,99,100,7\n";
    // a dividend loaded before any bar of its symbol cannot be checked yet
    fx.write("early.csv", b"symbol,ex_date,dividend\nX,2024-05-02,500\n");
    fx.ok(&["actions", "load", "early.csv"], 0);
    fx.write("in/X_1min_unadjusted.txt", bars.as_bytes());
    fx.ok(&["load", fx.path("in").to_str().unwrap()], 0);
    let run = fx.ok(
        &[
            "read",
            "X",
            "--adjust",
            "split+div",
            "--start",
            "2024-05-01",
            "--end",
            "2024-05-01",
        ],
        0,
    );
    assert!(
        run.stdout.contains("2024-05-01 15:59:00,100,101,99,100,7"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stderr.matches("the dividend of 500 on 2024-05-02 is not below the close before it (100); read without it").count(),
        1,
        "{}",
        run.stderr
    );

    fx.write(
        "bad.csv",
        b"symbol,ex_date,split_from,split_to,dividend\n\
          X,2024-05-02,1e-300,1,\n\
          X,2024-05-02,1,20000,\n\
          X,2024-05-02,,,100\n\
          X,2024-05-02,2,1,\n\
          X,2024-05-01,,,0.5\n",
    );
    let run = fx.ok(&["actions", "load", "bad.csv"], 1);
    for (line, why) in [
        (2, "split_from 1e-300 and split_to 1 make a ratio outside 1:10000..10000:1"),
        (3, "split_from 1 and split_to 20000 make a ratio outside"),
        (4, "the dividend of 100 on 2024-05-02 is not below the close before it (100, X 1min unadjusted); check the amount"),
    ] {
        assert!(
            run.stderr.lines().any(|l| l.contains(&format!("line {line}")) && l.contains(why)),
            "line {line}: {why}\n{}",
            run.stderr
        );
    }
    // the good rows loaded, and the adjusted read uses them
    let listed = fx.ok(&["actions", "list", "X"], 0).stdout;
    assert!(
        listed.contains("split") && listed.contains("0.5"),
        "{listed}"
    );
}
