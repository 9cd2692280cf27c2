use super::*;
use crate::zone::days_from_civil;

fn zone() -> Zone {
    Zone::new("America/New_York").unwrap()
}

fn minute(symbol: &str) -> Series {
    Series::minute(symbol).unwrap()
}

/// Bars every `step` minutes from a New York local date, `n` of them, price `p`.
fn month_bars(y: i64, m: u32, n: usize, p: f64) -> MonthBars {
    let mut z = zone();
    let start = days_from_civil(y, m, 1) * 86_400 + 9 * 3600 + 30 * 60;
    let mut bars = Bars::default();
    for i in 0..n {
        bars.push((
            z.local_to_utc_ms(start + i as i64 * 60).unwrap(),
            [p, p + 1.0, p - 1.0, p, i as f64],
        ));
    }
    MonthBars {
        month: Month {
            year: y as i32,
            month: m,
        },
        bars,
    }
}

#[test]
fn upsert_is_idempotent_and_overlaps_replace() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path());
    store.begin_load().unwrap();
    let jan = month_bars(2024, 1, 100, 10.0);
    let dec = month_bars(2023, 12, 50, 20.0);
    store
        .upsert(&minute("AAPL"), &zone(), vec![jan.clone(), dec.clone()])
        .unwrap();
    store
        .upsert(&minute("AAPL"), &zone(), vec![jan.clone(), dec.clone()])
        .unwrap();
    let all = store.scan(&minute("AAPL"), i64::MIN, i64::MAX).unwrap();
    assert_eq!(all, Bars::merge(&dec.bars, &jan.bars));

    // an overlapping reload of 20 bars with new prices replaces just those bars
    let mut newer = month_bars(2024, 1, 120, 30.0);
    newer.bars = newer.bars.slice(90..120);
    store
        .upsert(&minute("AAPL"), &zone(), vec![newer.clone()])
        .unwrap();
    let jan_now = store
        .scan(&minute("AAPL"), jan.bars.ts[0], i64::MAX)
        .unwrap();
    assert_eq!(jan_now.len(), 120);
    assert_eq!(jan_now, Bars::merge(&jan.bars, &newer.bars));

    let info = store.series().unwrap();
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].series, minute("AAPL"));
    assert_eq!(info[0].rows, 170);
    assert_eq!(info[0].first, dec.bars.ts[0]);
    assert_eq!(info[0].last, newer.bars.ts[29]);
    assert_eq!(info[0].zone, "America/New_York");
    assert_eq!(
        store.zone_of(&minute("AAPL")).unwrap().as_deref(),
        Some("America/New_York")
    );
    assert_eq!(store.zone_of(&minute("MSFT")).unwrap(), None);
}

#[test]
fn one_row_group_per_month_with_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path());
    store.begin_load().unwrap();
    let months: Vec<_> = (1..=3).map(|m| month_bars(2024, m, 10, 5.0)).collect();
    store
        .upsert(&minute("SPY"), &zone(), months.clone())
        .unwrap();
    let path = dir
        .path()
        .join("bars/symbol=SPY/timeframe=1min/adjustment=none/year=2024/data.parquet");
    let footer = Footer::load(&path).unwrap();
    let meta = footer.parquet();
    assert_eq!(meta.num_row_groups(), 3);
    for (rg, m) in months.iter().enumerate() {
        assert_eq!(ts_range(meta, rg), Some((m.bars.ts[0], m.bars.ts[9])));
    }
    // a range inside February reads only February's bars
    let feb = store
        .scan(&minute("SPY"), months[1].bars.ts[2], months[1].bars.ts[4])
        .unwrap();
    assert_eq!(feb, months[1].bars.slice(2..5));
}

#[test]
fn missing_volume_round_trips_as_null() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path());
    store.begin_load().unwrap();
    let mut m = month_bars(2024, 5, 3, 5.0);
    m.bars.volume[1] = f64::NAN;
    store
        .upsert(&minute("IDX"), &zone(), vec![m.clone()])
        .unwrap();
    assert_eq!(
        store.scan(&minute("IDX"), i64::MIN, i64::MAX).unwrap(),
        m.bars
    );
}

#[test]
fn a_second_writer_is_refused_and_debris_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path());
    store.begin_load().unwrap();
    store
        .upsert(&minute("SPY"), &zone(), vec![month_bars(2024, 1, 5, 5.0)])
        .unwrap();
    let debris = dir
        .path()
        .join("bars/symbol=SPY/timeframe=1min/adjustment=none/year=2024/.data.parquet.1.1.tmp");
    fs::write(&debris, b"torn").unwrap();
    let err = Embedded::new(dir.path())
        .begin_load()
        .unwrap_err()
        .to_string();
    assert!(err.contains("another barstore process"), "{err}");
    store.begin_load().unwrap();
    drop(store);
    Embedded::new(dir.path()).begin_load().unwrap();
    assert!(!debris.exists());
}

#[test]
fn hostile_symbols_never_reach_the_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path().join("store"));
    store.begin_load().unwrap();
    for bad in ["../escape", "a/b", ".."] {
        let err = Series::minute(bad).unwrap_err();
        assert_eq!(err.option, "symbol", "{bad}: {err}");
        let forged = Series {
            symbol: bad.to_string(),
            ..minute("A")
        };
        let err = store
            .upsert(&forged, &zone(), vec![month_bars(2024, 1, 1, 1.0)])
            .unwrap_err();
        assert!(
            matches!(
                err,
                crate::Error::Option(crate::OptionError {
                    option: "symbol",
                    ..
                })
            ),
            "{bad}: {err}"
        );
        assert!(store.scan(&forged, 0, 1).is_err());
        assert!(store.series_of(bad).is_err());
    }
    assert!(!dir.path().join("escape").exists());
}

#[test]
fn manifest_survives_a_torn_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path());
    store.begin_load().unwrap();
    let entry = ManifestEntry {
        source: "/data/AAPL.txt".into(),
        size: 10,
        mtime_ns: 5,
        hash: "ab".into(),
        rows: 2,
        symbol: "AAPL".into(),
        timeframe: "1min".into(),
        adjustment: "none".into(),
    };
    store.record(std::slice::from_ref(&entry)).unwrap();
    let path = dir.path().join("_barstore/manifest.jsonl");
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"{\"source\":\"/data/MS").unwrap();
    let m = store.manifest().unwrap();
    assert_eq!(m.len(), 1);
    let second = ManifestEntry {
        source: "/data/MSFT.txt".into(),
        ..entry.clone()
    };
    store.record(std::slice::from_ref(&second)).unwrap();
    assert_eq!(store.manifest().unwrap()["/data/MSFT.txt"], second);
    assert_eq!(m["/data/AAPL.txt"], entry);
}

/// The data files of SPY's 2024 directory, by name.
fn year_2024(dir: &Path) -> Vec<String> {
    let year = dir.join("bars/symbol=SPY/timeframe=1min/adjustment=none/year=2024");
    let mut names: Vec<String> = fs::read_dir(year)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `n` bars of one month starting at local day `day` (each a fresh day's worth).
fn day_bars(day: u32, n: usize, p: f64) -> MonthBars {
    let mut m = month_bars(2024, 3, n + (day as usize - 1) * 1440, p);
    let skip = (day as usize - 1) * 1440;
    m.bars = m.bars.slice(skip..skip + n);
    m
}

#[test]
fn later_bars_go_to_a_part_and_anything_else_merges_the_year() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path());
    store.begin_load().unwrap();
    let spy = minute("SPY");
    let (d1, d2, d3) = (
        day_bars(1, 10, 5.0),
        day_bars(2, 10, 6.0),
        day_bars(3, 10, 7.0),
    );
    store.upsert(&spy, &zone(), vec![d1.clone()]).unwrap();
    store.upsert(&spy, &zone(), vec![d2.clone()]).unwrap();
    store.upsert(&spy, &zone(), vec![d3.clone()]).unwrap();
    let names = year_2024(dir.path());
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(names[0], "data.parquet");
    assert!(names[1].starts_with("part-000001_"), "{names:?}");
    assert!(names[2].starts_with("part-000002_"), "{names:?}");
    let all = Bars::merge(&Bars::merge(&d1.bars, &d2.bars), &d3.bars);
    assert_eq!(store.scan(&spy, i64::MIN, i64::MAX).unwrap(), all);
    // a range inside day 2 reads day 2 only
    assert_eq!(
        store.scan(&spy, d2.bars.ts[3], d2.bars.ts[5]).unwrap(),
        d2.bars.slice(3..6)
    );
    let info = &store.series().unwrap()[0];
    assert_eq!(
        (info.rows, info.first, info.last),
        (30, d1.bars.ts[0], d3.bars.ts[9])
    );

    // a bar inside day 2 again: the year is merged into one base, parts removed
    let mut again = d2.clone();
    again.bars = again.bars.slice(4..5);
    again.bars.close[0] = 99.0;
    store.upsert(&spy, &zone(), vec![again.clone()]).unwrap();
    assert_eq!(year_2024(dir.path()), ["data.parquet"]);
    let expect = Bars::merge(&all, &again.bars);
    assert_eq!(store.scan(&spy, i64::MIN, i64::MAX).unwrap(), expect);
    assert_eq!(store.series().unwrap()[0].rows, 30);
    assert_eq!(store.months(&spy).unwrap().len(), 1);
}

#[test]
fn parts_a_base_already_holds_are_never_read_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path());
    store.begin_load().unwrap();
    let spy = minute("SPY");
    let (d1, d2) = (day_bars(1, 10, 5.0), day_bars(2, 10, 6.0));
    store.upsert(&spy, &zone(), vec![d1.clone()]).unwrap();
    store.upsert(&spy, &zone(), vec![d2.clone()]).unwrap();
    let year = dir
        .path()
        .join("bars/symbol=SPY/timeframe=1min/adjustment=none/year=2024");
    let part = year.join(&year_2024(dir.path())[1]);
    let kept = fs::read(&part).unwrap();
    assert_eq!(store.compact().unwrap(), 1);
    assert_eq!(year_2024(dir.path()), ["data.parquet"]);
    // a crash between the new base and the removal of the part it holds
    fs::write(&part, kept).unwrap();
    let all = Bars::merge(&d1.bars, &d2.bars);
    assert_eq!(store.scan(&spy, i64::MIN, i64::MAX).unwrap(), all);
    // the next append numbers past it, and the next merge removes it
    let d3 = day_bars(3, 10, 7.0);
    store.upsert(&spy, &zone(), vec![d3.clone()]).unwrap();
    assert!(year_2024(dir.path())[2].starts_with("part-000002_"));
    let all = Bars::merge(&all, &d3.bars);
    assert_eq!(store.scan(&spy, i64::MIN, i64::MAX).unwrap(), all);
    assert_eq!(store.series().unwrap()[0].rows, 30);
    store.compact().unwrap();
    assert_eq!(year_2024(dir.path()), ["data.parquet"]);
    assert_eq!(store.scan(&spy, i64::MIN, i64::MAX).unwrap(), all);
}

#[test]
fn the_series_index_is_rebuilt_when_missing_and_followed_across_handles() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Embedded::new(dir.path());
    writer.begin_load().unwrap();
    writer
        .upsert(&minute("SPY"), &zone(), vec![day_bars(1, 10, 5.0)])
        .unwrap();
    let reader = Embedded::new(dir.path());
    assert_eq!(reader.series().unwrap().len(), 1);
    writer
        .upsert(&minute("QQQ"), &zone(), vec![day_bars(1, 7, 5.0)])
        .unwrap();
    writer
        .upsert(&minute("SPY"), &zone(), vec![day_bars(2, 10, 5.0)])
        .unwrap();
    let listed = |s: &Embedded| {
        s.series()
            .unwrap()
            .iter()
            .map(|i| (i.series.symbol.clone(), i.rows))
            .collect::<Vec<_>>()
    };
    let want = vec![("QQQ".to_string(), 7), ("SPY".to_string(), 20)];
    assert_eq!(listed(&reader), want);
    drop(writer);
    fs::remove_file(dir.path().join("_barstore/series.jsonl")).unwrap();
    // without the index, listing reads the files; the next load writes it again
    assert_eq!(listed(&Embedded::new(dir.path())), want);
    let again = Embedded::new(dir.path());
    again.begin_load().unwrap();
    assert!(dir.path().join("_barstore/series.jsonl").exists());
    assert_eq!(listed(&reader), want);
    assert_eq!(
        reader.zone_of(&minute("QQQ")).unwrap().as_deref(),
        Some("America/New_York")
    );
}

#[test]
fn a_day_read_decodes_that_days_pages_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path());
    store.begin_load().unwrap();
    // thirty days of minutes: 43,200 bars in one row group
    let month = month_bars(2024, 1, 30 * 1440, 5.0);
    store
        .upsert(&minute("SPY"), &zone(), vec![month.clone()])
        .unwrap();
    let path = dir
        .path()
        .join("bars/symbol=SPY/timeframe=1min/adjustment=none/year=2024/data.parquet");
    let footer = Footer::load(&path).unwrap();
    let day = &month.bars.ts[10 * 1440..11 * 1440];
    let (start, end) = (day[0], day[1439]);
    let (_, rows) = footer.pages(0, start, end).unwrap();
    assert!(
        (1440..=1440 + 2 * PAGE_ROWS).contains(&rows),
        "{rows} rows selected"
    );
    assert_eq!(
        store.scan(&minute("SPY"), start, end).unwrap(),
        month.bars.slice(10 * 1440..11 * 1440)
    );
}
