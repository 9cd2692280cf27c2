//! Data quality from the command line: `check` against the exchange calendar, the
//! calendar behind `--session regular`.

use crate::common::*;

both_stores!(
    check_passes_a_clean_file_and_names_the_holes_of_another,
    the_regular_session_follows_the_calendar
);

fn load_2006(fx: &Fixture) {
    let src = data("2006-01-02-volume-min-001.txt");
    let pattern = "{symbol}-01-02-volume-min-001.txt";
    fx.ok(&["load", "--pattern", pattern, src.to_str().unwrap()], 0);
}

fn check_passes_a_clean_file_and_names_the_holes_of_another(fx: Fixture) {
    let aapl = data("AAPL_1min_sample_headerless.txt");
    fx.ok(&["load", aapl.to_str().unwrap()], 0);
    // SOURCES.md: every regular minute of the 11 days is present, no zero volume
    let clean = fx.ok(&["check", "AAPL"], 0).stdout;
    assert!(
        clean.contains("11 trading days, 4290 of 4290 regular bars, 4217 outside the session"),
        "{clean}"
    );
    assert!(clean.contains("0 days flagged"), "{clean}");

    load_2006(&fx);
    let table = fx.ok(&["check", "2006", "AAPL"], 1).stdout;
    let line = |date: &str| {
        table
            .lines()
            .find(|l| l.trim_start().starts_with(date))
            .unwrap_or_else(|| panic!("no line for {date}: {table}"))
            .to_string()
    };
    assert!(
        line("2006-01-03").ends_with("390      387      383  missing 11:24 12:27 13:22"),
        "{table}"
    );
    assert!(
        line("2006-01-16").ends_with("653 bars on a closed day"),
        "{table}"
    );
    assert!(
        table.contains("AAPL 1min none (America/New_York): 11 trading days"),
        "{table}"
    );

    let json: serde_json::Value = serde_json::from_str(
        &fx.ok(&["check", "2006", "--json", "--end", "2006-01-16"], 1)
            .stdout,
    )
    .unwrap();
    let days = json[0]["days"].as_array().unwrap();
    let dates: Vec<&str> = days.iter().map(|d| d["date"].as_str().unwrap()).collect();
    assert_eq!(dates.first(), Some(&"2006-01-02"));
    assert_eq!(dates.last(), Some(&"2006-01-16"));
    let mlk = days.last().unwrap();
    assert_eq!(
        (mlk["trading"].as_bool(), mlk["outside"].as_u64()),
        (Some(false), Some(653))
    );
    let jan3 = &days[1];
    assert_eq!(jan3["missing"], 3);
    assert_eq!(jan3["missing_runs"][0]["from"], "11:24");
    assert_eq!(jan3["flagged"], true);

    fx.fails_with(&["check", "NOPE"], 2, "symbol \"NOPE\" is not in the store");
    fx.fails_with(
        &["check", "AAPL", "--calendar", "lse"],
        2,
        "unknown calendar \"lse\"",
    );
}

fn the_regular_session_follows_the_calendar(fx: Fixture) {
    load_2006(&fx);
    let mlk = [
        "--session",
        "regular",
        "--start",
        "2006-01-16",
        "--end",
        "2006-01-16",
    ];
    let read = |extra: &[&str]| {
        let mut args = vec!["read", "2006"];
        args.extend_from_slice(&mlk);
        args.extend_from_slice(extra);
        rows(&fx.ok(&args, 0).stdout)
    };
    assert_eq!(read(&[]), 0, "Martin Luther King Day is a holiday");
    let source = std::fs::read_to_string(data("2006-01-02-volume-min-001.txt")).unwrap();
    let in_file = source
        .lines()
        .filter_map(|l| l.strip_prefix("2006-01-16,"))
        .filter(|rest| ("09:30".."16:00").contains(&&rest[..5]))
        .count();
    assert_eq!(in_file, 377);
    assert_eq!(
        read(&["--calendar", "plain"]),
        in_file,
        "the plain rule keeps every weekday"
    );
}
