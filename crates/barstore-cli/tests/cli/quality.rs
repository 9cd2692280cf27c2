//! Data quality from the command line: `check` against the exchange calendar, the
//! calendar behind `--session regular`, and the charts, checked by parsing the SVG and
//! decoding the PNG.

use crate::common::*;

both_stores!(
    check_passes_a_clean_file_and_names_the_holes_of_another,
    the_regular_session_follows_the_calendar,
    plot_draws_one_candle_and_one_volume_bar_per_bar,
    coverage_draws_one_cell_per_trading_day
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
        "invalid calendar \"lse\"",
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

/// The fill colours of the `rect`s of an SVG, in document order.
fn rect_fills(svg: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("rect"))
        .map(|n| n.attribute("fill").unwrap_or_default().to_string())
        .collect()
}

fn count(fills: &[String], colour: &str) -> usize {
    fills.iter().filter(|f| f.as_str() == colour).count()
}

/// Decodes a PNG: its size and how many distinct colours it uses.
fn png_size_and_colours(path: &std::path::Path) -> ((u32, u32), usize) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let colours: std::collections::HashSet<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    ((info.width, info.height), colours.len())
}

const UP: &str = "#26A69A";
const DOWN: &str = "#EF5350";
const VOLUME: &str = "#90A4AE";

fn plot_draws_one_candle_and_one_volume_bar_per_bar(fx: Fixture) {
    let aapl = data("AAPL_1min_sample_headerless.txt");
    fx.ok(&["load", aapl.to_str().unwrap()], 0);
    for extra in [
        &[
            "--start",
            "2024-05-02",
            "--end",
            "2024-05-02",
            "--session",
            "regular",
            "--resample",
            "5min",
        ][..],
        &["--start", "2024-05-02", "--end", "2024-05-03"][..],
    ] {
        let mut read = vec!["read", "AAPL"];
        read.extend_from_slice(extra);
        let bars = csv_bars(&fx.ok(&read, 0).stdout);
        let svg = fx.path("candles.svg");
        let mut plot = vec!["plot", "AAPL", "-o", svg.to_str().unwrap()];
        plot.extend_from_slice(extra);
        let run = fx.ok(&plot, 0);
        assert!(
            run.stderr.contains(&format!("{} bars", bars.len())),
            "{}",
            run.stderr
        );
        let fills = rect_fills(&svg);
        let up = bars.values().filter(|(p, _)| p[3] >= p[0]).count();
        assert_eq!(
            (count(&fills, UP), count(&fills, DOWN)),
            (up, bars.len() - up),
            "{extra:?}"
        );
        let traded = bars
            .values()
            .filter(|(_, v)| v.is_some_and(|v| v > 0.0))
            .count();
        assert_eq!(count(&fills, VOLUME), traded, "{extra:?}");
    }
    // real time draws the same candles, with the nights at their width
    let (compressed, real) = (fx.path("c.svg"), fx.path("r.svg"));
    let days = ["--start", "2024-05-01", "--end", "2024-05-03"];
    for (svg, flag) in [(&compressed, None), (&real, Some("--real-time"))] {
        let mut args = vec!["plot", "AAPL", "-o", svg.to_str().unwrap()];
        args.extend_from_slice(&days);
        args.extend(flag);
        fx.ok(&args, 0);
    }
    let (c, r) = (rect_fills(&compressed), rect_fills(&real));
    assert_eq!(count(&c, UP), count(&r, UP));
    assert_eq!(count(&c, DOWN), count(&r, DOWN));
    // the extended-hours day has holes: a candle per stored bar, none made up
    assert!(csv_bars(&fx.read_day("AAPL", "2024-05-02", &[])).len() < 16 * 60);

    let png = fx.path("candles.png");
    fx.ok(
        &[
            "plot",
            "AAPL",
            "--start",
            "2024-05-02",
            "--end",
            "2024-05-02",
            "-o",
            png.to_str().unwrap(),
        ],
        0,
    );
    let (size, colours) = png_size_and_colours(&png);
    assert_eq!(size, (1200, 700));
    assert!(colours > 20, "the picture has only {colours} colours");

    fx.fails_with(
        &["plot", "AAPL", "-o", fx.path("x.gif").to_str().unwrap()],
        2,
        "name a .svg or .png file",
    );
    fx.fails_with(
        &[
            "plot",
            "AAPL",
            "--start",
            "2024-05-04",
            "--end",
            "2024-05-05",
            "-o",
            png.to_str().unwrap(),
        ],
        2,
        "no bars in the range",
    );
}

fn coverage_draws_one_cell_per_trading_day(fx: Fixture) {
    let aapl = data("AAPL_1min_sample_headerless.txt");
    fx.ok(&["load", aapl.to_str().unwrap()], 0);
    load_2006(&fx);
    // four weeks around the AAPL sample: 20 trading days, 11 of them complete
    let svg = fx.path("coverage.svg");
    let run = fx.ok(
        &[
            "coverage",
            "AAPL",
            "--start",
            "2024-04-22",
            "--end",
            "2024-05-17",
            "-o",
            svg.to_str().unwrap(),
        ],
        0,
    );
    assert!(
        run.stderr.contains("1 series, 20 trading days"),
        "{}",
        run.stderr
    );
    let fills = rect_fills(&svg);
    assert_eq!(
        fills.len(),
        1 + 20,
        "the background and one square per day: {fills:?}"
    );
    assert_eq!(
        (count(&fills, "#1A7F37"), count(&fills, "#D0D7DE")),
        (11, 9)
    );

    // January 2006, both series: 20 trading days each (New Year's Day observed and
    // Martin Luther King Day have no cell, though the 2006 file has bars on them)
    let run = fx.ok(
        &[
            "coverage",
            "2006",
            "AAPL",
            "--start",
            "2006-01-01",
            "--end",
            "2006-01-31",
            "-o",
            svg.to_str().unwrap(),
        ],
        0,
    );
    assert!(
        run.stderr.contains("2 series, 40 trading days"),
        "{}",
        run.stderr
    );
    let fills = rect_fills(&svg);
    assert_eq!(fills.len(), 1 + 40);
    // AAPL has nothing then; of the 2006 file's days, those with all 390 regular bars
    // are complete (SOURCES.md: 362-390 per day)
    let json: serde_json::Value = serde_json::from_str(
        &fx.ok(
            &[
                "check",
                "2006",
                "--json",
                "--start",
                "2006-01-01",
                "--end",
                "2006-01-31",
            ],
            1,
        )
        .stdout,
    )
    .unwrap();
    let complete = json[0]["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["trading"] == true && d["missing"] == 0)
        .count();
    assert!(complete > 0);
    assert_eq!(count(&fills, "#1A7F37"), complete);
    assert_eq!(count(&fills, "#D0D7DE"), 20);

    // every stored series by default, as PNG
    let png = fx.path("coverage.png");
    let run = fx.ok(
        &[
            "coverage",
            "--start",
            "2006-01-01",
            "--end",
            "2006-01-31",
            "-o",
            png.to_str().unwrap(),
        ],
        0,
    );
    assert!(
        run.stderr.contains("2 series, 40 trading days"),
        "{}",
        run.stderr
    );
    let ((width, height), colours) = png_size_and_colours(&png);
    assert!(width >= 600 && height > 100, "{width}x{height}");
    assert!(colours > 5, "the picture has only {colours} colours");
}
