//! Reading: ranges, session filter, resampling, rounding, output files.

use crate::common::*;

both_stores!(
    ranges_are_inclusive_and_dates_mean_whole_days,
    regular_session_keeps_0930_to_1559,
    resampling_aggregates_first_max_min_last_sum,
    rounding_and_output_files,
    many_symbols_stream_with_a_symbol_column
);

fn load_aapl(fx: &Fixture) {
    let src = data("AAPL_1min_sample_headerless.txt");
    fx.ok(&["load", src.to_str().unwrap()], 0);
}

fn ranges_are_inclusive_and_dates_mean_whole_days(fx: Fixture) {
    load_aapl(&fx);
    let src = csv_bars(&std::fs::read_to_string(data("AAPL_1min_sample_headerless.txt")).unwrap());
    let day = fx.read_day("AAPL", "2024-05-01", &[]);
    let want: Vec<_> = src
        .keys()
        .filter(|k| k.starts_with("2024-05-01"))
        .cloned()
        .collect();
    assert_eq!(csv_bars(&day).into_keys().collect::<Vec<_>>(), want);
    let slice = fx.ok(
        &[
            "read",
            "AAPL",
            "--start",
            "2024-05-01 09:30",
            "--end",
            "2024-05-01T09:35:00",
        ],
        0,
    );
    assert_eq!(rows(&slice.stdout), 6);
    assert!(slice.stdout.contains("\n2024-05-01 09:30:00,"));
    assert!(slice.stdout.ends_with(&format!(
        "2024-05-01 09:35:00,{}\n",
        fx.ok(
            &[
                "read",
                "AAPL",
                "--start",
                "2024-05-01 09:35",
                "--end",
                "2024-05-01 09:35"
            ],
            0
        )
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_once(',')
        .unwrap()
        .1
    )));
    fx.fails_with(
        &[
            "read",
            "AAPL",
            "--start",
            "2024-05-02",
            "--end",
            "2024-05-01",
        ],
        2,
        "is after end",
    );
    fx.fails_with(
        &["read", "AAPL", "--start", "May 1st"],
        2,
        "invalid time \"May 1st\"",
    );
}

fn regular_session_keeps_0930_to_1559(fx: Fixture) {
    load_aapl(&fx);
    let out = fx.ok(&["read", "AAPL", "--session", "regular"], 0).stdout;
    // SOURCES.md: 4,290 rows fall in regular trading hours, every RTH minute of 11 days
    assert_eq!(rows(&out), 4290);
    for t in csv_bars(&out).keys() {
        let hm = &t[11..16];
        assert!(("09:30".."16:00").contains(&hm), "{t}");
    }
}

fn resampling_aggregates_first_max_min_last_sum(fx: Fixture) {
    load_aapl(&fx);
    let regular = ["--session", "regular"];
    let minutes = csv_bars(&fx.read_day("AAPL", "2024-05-01", &regular));
    let five = csv_bars(&fx.read_day(
        "AAPL",
        "2024-05-01",
        &[&regular[..], &["--resample", "5min"]].concat(),
    ));
    assert_eq!(five.len(), 78);
    for (label, ([o, h, l, c], v)) in &five {
        let bin: Vec<_> = minutes
            .iter()
            .filter(|(t, _)| t.as_str() >= label.as_str() && **t < bump5(label))
            .collect();
        assert_eq!(bin.len(), 5, "{label}");
        assert_eq!(*o, bin[0].1 .0[0]);
        assert_eq!(*h, bin.iter().map(|b| b.1 .0[1]).fold(f64::MIN, f64::max));
        assert_eq!(*l, bin.iter().map(|b| b.1 .0[2]).fold(f64::MAX, f64::min));
        assert_eq!(*c, bin[4].1 .0[3]);
        assert_eq!(v.unwrap(), bin.iter().map(|b| b.1 .1.unwrap()).sum::<f64>());
    }
    let daily = fx.ok(&["read", "AAPL", "--resample", "1d"], 0).stdout;
    assert_eq!(rows(&daily), 11);
    assert!(daily.contains("\n2024-04-29 00:00:00,170.49,"), "{daily}");
    fx.fails_with(
        &["read", "AAPL", "--resample", "7min"],
        2,
        "invalid timeframe \"7min\"",
    );
}

fn bump5(label: &str) -> String {
    let (h, m): (u32, u32) = (
        label[11..13].parse().unwrap(),
        label[14..16].parse().unwrap(),
    );
    let t = h * 60 + m + 5;
    format!("{} {:02}:{:02}:00", &label[..10], t / 60, t % 60)
}

fn rounding_and_output_files(fx: Fixture) {
    load_aapl(&fx);
    let out = fx
        .ok(&["read", "AAPL", "--resample", "1h", "--round", "1"], 0)
        .stdout;
    for (_, (p, _)) in csv_bars(&out) {
        for x in p {
            assert_eq!((x * 10.0).round() / 10.0, x);
        }
    }
    let csv = fx.ok(&["read", "AAPL", "-o", "aapl.csv"], 0);
    assert!(csv.stdout.is_empty());
    let written = std::fs::read_to_string(fx.path("aapl.csv")).unwrap();
    assert_eq!(written, fx.ok(&["read", "AAPL"], 0).stdout);
    fx.ok(
        &["read", "AAPL", "--session", "regular", "-o", "aapl.parquet"],
        0,
    );
    let file = std::fs::File::open(fx.path("aapl.parquet")).unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 4290);
    let names: Vec<_> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        ["timestamp", "open", "high", "low", "close", "volume"]
    );
}

#[test]
fn store_is_a_delta_table_with_monthly_row_groups() {
    let fx = Fixture::new();
    fx.ok(
        &[
            "load",
            "--tz",
            "UTC",
            data("DBB_1min_2023-07-10_to_2025-07-08.csv")
                .to_str()
                .unwrap(),
        ],
        0,
    );
    let dir = fx
        .store()
        .join("bars/symbol=DBB/timeframe=1min/adjustment=none");
    let mut years: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    years.sort();
    assert_eq!(years, ["year=2023", "year=2024", "year=2025"]);
    assert!(fx
        .store()
        .join("bars/_delta_log/00000000000000000000.json")
        .exists());
    let [file] = &fx.data_files("bars/symbol=DBB/timeframe=1min/adjustment=none/year=2024")[..]
    else {
        panic!("one file per year after one load");
    };
    let file = std::fs::File::open(file).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    use parquet::file::reader::FileReader;
    assert_eq!(reader.metadata().num_row_groups(), 12);
}

fn many_symbols_stream_with_a_symbol_column(fx: Fixture) {
    let text = std::fs::read_to_string(data("AAPL_1min_sample_headerless.txt")).unwrap();
    // MSFT: the same bars without 2024-05-02
    let msft: String = text
        .lines()
        .filter(|l| !l.starts_with("2024-05-02"))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = fx.path("in");
    fx.write("in/AAPL_1min.txt", text.as_bytes());
    fx.write("in/MSFT_1min.txt", msft.as_bytes());
    fx.ok(&["load", dir.to_str().unwrap()], 0);
    let range = ["--start", "2024-05-01", "--end", "2024-05-03"];
    let one = |s: &str| {
        let mut args = vec!["read", s];
        args.extend(range);
        fx.ok(&args, 0).stdout
    };
    let mut want = String::from("symbol,timestamp,open,high,low,close,volume\n");
    for s in ["AAPL", "MSFT"] {
        for line in one(s).lines().skip(1) {
            want.push_str(&format!("{s},{line}\n"));
        }
    }
    let mut args = vec!["read", "MSFT", "AAPL"];
    args.extend(range);
    assert_eq!(fx.ok(&args, 0).stdout, want);
    let mut all = vec!["read", "--all"];
    all.extend(range);
    assert_eq!(fx.ok(&all, 0).stdout, want);
    let list = fx.write("list.txt", b"# the universe\nMSFT\n\nAAPL  # Apple\n");
    let mut from_file = vec!["read", "--symbols-file", list.to_str().unwrap()];
    from_file.extend(range);
    assert_eq!(fx.ok(&from_file, 0).stdout, want);

    let out = fx.path("panel.csv");
    let mut to_file = args.clone();
    to_file.extend(["-o", out.to_str().unwrap()]);
    fx.ok(&to_file, 0);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), want);

    let mut unknown = vec!["read", "AAPL", "ZZZ", "QQQ"];
    unknown.extend(range);
    fx.fails_with(
        &unknown,
        2,
        "not in the store: QQQ, ZZZ (2 of the symbols asked for",
    );
    unknown.push("--skip-missing");
    let run = fx.ok(&unknown, 0);
    assert!(run
        .stderr
        .contains("skipped 2 symbols not in the store: QQQ, ZZZ"));
    assert_eq!(rows(&run.stdout), rows(&one("AAPL")));
    fx.fails_with(&["read"], 2, "required");
}

#[test]
fn help_puts_the_connection_options_under_their_own_heading() {
    let help = Fixture::new().ok(&["read", "--help"], 0).stdout;
    let heading = help.find("Store and connection:").expect("the heading");
    let own = help.find("--resample").unwrap();
    for connection in [
        "--store <STORE>",
        "--tls",
        "--cql-user",
        "--replication",
        "--compaction",
    ] {
        let at = help
            .find(connection)
            .unwrap_or_else(|| panic!("{connection}"));
        assert!(at > heading, "{connection} is above the heading:\n{help}");
    }
    assert!(own < heading, "{help}");
}
