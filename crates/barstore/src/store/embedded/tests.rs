use super::codec::ts_range;
use super::*;
use crate::store::AsOf;
use crate::zone::days_from_civil;

fn zone() -> Zone {
    Zone::new("America/New_York").unwrap()
}

fn minute(symbol: &str) -> Series {
    Series::minute(symbol).unwrap()
}

/// Bars every minute from 09:30 of a New York local date, `n` of them, price `p`.
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

/// `n` bars of March 2024 starting at local day `day` (each a fresh day's worth).
fn day_bars(day: u32, n: usize, p: f64) -> MonthBars {
    let mut m = month_bars(2024, 3, n + (day as usize - 1) * 1440, p);
    let skip = (day as usize - 1) * 1440;
    m.bars = m.bars.slice(skip..skip + n);
    m
}

fn all(store: &dyn Store, series: &Series) -> Bars {
    store.scan(series, i64::MIN, i64::MAX).unwrap()
}

/// The data files the latest version names for SPY's 2024.
fn files_2024(store: &Embedded) -> Vec<PathBuf> {
    let state = store.latest().unwrap();
    state
        .years(&minute("SPY"))
        .flat_map(|(_, f)| f.iter().map(|f| f.path.clone()))
        .collect()
}

#[test]
fn upserts_commit_with_their_manifest_entries_and_overlaps_replace() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path());
    store.begin_load().unwrap();
    let jan = month_bars(2024, 1, 100, 10.0);
    let dec = month_bars(2023, 12, 50, 20.0);
    let aapl = minute("AAPL");
    store
        .upsert(&aapl, &zone(), vec![jan.clone(), dec.clone()])
        .unwrap();
    // staged: this store reads its own writes, another sees none of them
    assert_eq!(all(&store, &aapl), Bars::merge(&dec.bars, &jan.bars));
    let other = Embedded::new(dir.path());
    assert!(other.series().unwrap().is_empty());
    let entry = ManifestEntry {
        source: "/data/AAPL.txt".into(),
        size: 10,
        mtime_ns: 1,
        hash: "00".into(),
        rows: 150,
        symbol: "AAPL".into(),
        timeframe: "1min".into(),
        adjustment: "none".into(),
    };
    store.record(std::slice::from_ref(&entry)).unwrap();
    let other = Embedded::new(dir.path());
    assert_eq!(all(&other, &aapl), Bars::merge(&dec.bars, &jan.bars));
    assert_eq!(
        other.manifest(&["/data/AAPL.txt".into()]).unwrap()["/data/AAPL.txt"],
        entry
    );
    assert_eq!(
        other.zone_of(&aapl).unwrap().as_deref(),
        Some("America/New_York")
    );

    // an overlapping reload of 30 bars with new prices replaces just those bars
    let mut newer = month_bars(2024, 1, 120, 30.0);
    newer.bars = newer.bars.slice(90..120);
    store.upsert(&aapl, &zone(), vec![newer.clone()]).unwrap();
    store.record(&[]).unwrap();
    let reader = Embedded::new(dir.path());
    let jan_now = reader.scan(&aapl, jan.bars.ts[0], i64::MAX).unwrap();
    assert_eq!(jan_now, Bars::merge(&jan.bars, &newer.bars));
    let info = reader.series().unwrap();
    assert_eq!(info.len(), 1);
    assert_eq!((info[0].rows, info[0].first), (170, dec.bars.ts[0]));
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
    store.record(&[]).unwrap();
    let [path] = &files_2024(&store)[..] else {
        panic!("one file");
    };
    let footer = codec::Footer::load(path).unwrap();
    let meta = footer.parquet();
    assert_eq!(meta.num_row_groups(), 3);
    for (rg, m) in months.iter().enumerate() {
        assert_eq!(ts_range(meta, rg), Some((m.bars.ts[0], m.bars.ts[9])));
    }
    let feb = store
        .scan(&minute("SPY"), months[1].bars.ts[2], months[1].bars.ts[4])
        .unwrap();
    assert_eq!(feb, months[1].bars.slice(2..5));
}

#[test]
fn missing_volume_round_trips_as_null() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path());
    let mut m = month_bars(2024, 5, 3, 5.0);
    m.bars.volume[1] = f64::NAN;
    store
        .upsert(&minute("IDX"), &zone(), vec![m.clone()])
        .unwrap();
    store.record(&[]).unwrap();
    assert_eq!(all(&Embedded::new(dir.path()), &minute("IDX")), m.bars);
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
fn later_bars_add_a_file_anything_else_merges_the_year_and_compact_folds_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path());
    let spy = minute("SPY");
    let (d1, d2, d3) = (
        day_bars(1, 10, 1.0),
        day_bars(2, 10, 2.0),
        day_bars(3, 10, 3.0),
    );
    for d in [&d1, &d2, &d3] {
        store.upsert(&spy, &zone(), vec![d.clone()]).unwrap();
        store.record(&[]).unwrap();
    }
    assert_eq!(files_2024(&store).len(), 3);
    let three = Bars::merge(&Bars::merge(&d1.bars, &d2.bars), &d3.bars);
    assert_eq!(all(&Embedded::new(dir.path()), &spy), three);
    // a reload of day 2 merges the year into one file
    let again = day_bars(2, 10, 9.0);
    store.upsert(&spy, &zone(), vec![again.clone()]).unwrap();
    store.record(&[]).unwrap();
    assert_eq!(files_2024(&store).len(), 1);
    assert_eq!(
        all(&Embedded::new(dir.path()), &spy),
        Bars::merge(&three, &again.bars)
    );
    let d4 = day_bars(4, 10, 4.0);
    store.upsert(&spy, &zone(), vec![d4.clone()]).unwrap();
    store.record(&[]).unwrap();
    assert_eq!(files_2024(&store).len(), 2);
    assert_eq!(Embedded::new(dir.path()).compact().unwrap(), 1);
    let fresh = Embedded::new(dir.path());
    assert_eq!(files_2024(&fresh).len(), 1);
    assert_eq!(
        all(&fresh, &spy),
        Bars::merge(&Bars::merge(&three, &again.bars), &d4.bars)
    );
}

#[test]
fn a_pinned_version_reads_the_same_bars_after_merges_compaction_and_vacuum_of_others() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Embedded::new(dir.path());
    let spy = minute("SPY");
    let d1 = day_bars(1, 30, 1.0);
    writer.upsert(&spy, &zone(), vec![d1.clone()]).unwrap();
    writer.record(&[]).unwrap();
    let reader = Embedded::new(dir.path());
    let pinned = reader.view(None).unwrap().unwrap();
    let version = reader.at(None).unwrap().version();
    for p in 2..6 {
        writer
            .upsert(&spy, &zone(), vec![day_bars(1, 30, p as f64)])
            .unwrap();
        writer.record(&[]).unwrap();
        writer
            .upsert(&spy, &zone(), vec![day_bars(p, 5, 1.0)])
            .unwrap();
        writer.record(&[]).unwrap();
    }
    writer.compact().unwrap();
    // vacuum keeps what a version committed within the retention needs
    let report = writer.vacuum(3_600_000, false).unwrap();
    assert!(report.removed.is_empty(), "{report:?}");
    assert_eq!(all(&*pinned, &spy), d1.bars);
    let old = reader.view(Some(&AsOf::Version(version))).unwrap().unwrap();
    assert_eq!(all(&*old, &spy), d1.bars);
    // named, a version survives a vacuum that keeps nothing else
    writer
        .snapshot_create("first", Some(&AsOf::Version(version)))
        .unwrap();
    let before_compact = writer.at(None).unwrap().version() - 1;
    let report = writer.vacuum(0, false).unwrap();
    assert!(!report.removed.is_empty());
    let named = reader
        .view(Some(&AsOf::Snapshot("first".into())))
        .unwrap()
        .unwrap();
    assert_eq!(all(&*named, &spy), d1.bars);
    let Err(e) = reader.view(Some(&AsOf::Version(before_compact))) else {
        panic!("a vacuumed version read");
    };
    assert!(e.to_string().contains("was vacuumed"), "{e}");
    // the latest version is whole
    let latest = Embedded::new(dir.path());
    assert_eq!(all(&latest, &spy).len(), 30 + 4 * 5);
}

#[test]
fn reads_as_of_a_time_see_the_version_latest_then() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path());
    let spy = minute("SPY");
    store
        .upsert(&spy, &zone(), vec![day_bars(1, 10, 1.0)])
        .unwrap();
    store.record(&[]).unwrap();
    let first = store.history(None).unwrap()[0].clone();
    // commit times have millisecond resolution: wait for the clock to pass the commit
    while write::now_ms() <= first.timestamp {
        std::hint::spin_loop();
    }
    store
        .upsert(&spy, &zone(), vec![day_bars(1, 10, 2.0)])
        .unwrap();
    store.record(&[]).unwrap();
    let then = store
        .view(Some(&AsOf::Time(first.timestamp)))
        .unwrap()
        .unwrap();
    assert_eq!(all(&*then, &spy), day_bars(1, 10, 1.0).bars);
    let history = store.history(None).unwrap();
    assert_eq!(
        history
            .iter()
            .map(|h| (h.version, h.operation.as_str()))
            .collect::<Vec<_>>(),
        [(2, "load"), (1, "load"), (0, "CREATE TABLE")]
    );
    assert_eq!(
        (history[0].rows, history[0].added, history[0].replaced),
        (10, 1, 1)
    );
}

#[test]
fn writers_of_one_series_in_two_handles_merge_and_neither_loses_a_bar() {
    let dir = tempfile::tempdir().unwrap();
    let spy = minute("SPY");
    Embedded::new(dir.path()).begin_load().unwrap();
    let a = Embedded::new(dir.path());
    let b = Embedded::new(dir.path());
    drop(a.working().unwrap());
    drop(b.working().unwrap());
    // both staged on the same version: a appends day 2, b day 2 to 3 and another series
    a.upsert(&spy, &zone(), vec![day_bars(2, 10, 1.0)]).unwrap();
    b.upsert(&spy, &zone(), vec![day_bars(1, 20, 2.0)]).unwrap();
    b.upsert(&minute("QQQ"), &zone(), vec![day_bars(1, 7, 2.0)])
        .unwrap();
    a.record(&[]).unwrap();
    b.record(&[]).unwrap();
    let fresh = Embedded::new(dir.path());
    assert_eq!(
        all(&fresh, &spy),
        Bars::merge(&day_bars(2, 10, 1.0).bars, &day_bars(1, 20, 2.0).bars)
    );
    assert_eq!(all(&fresh, &minute("QQQ")), day_bars(1, 7, 2.0).bars);
    // the other order of commits: the later one's bars win where they overlap
    let c = Embedded::new(dir.path());
    let d = Embedded::new(dir.path());
    drop(c.working().unwrap());
    drop(d.working().unwrap());
    c.upsert(&spy, &zone(), vec![day_bars(5, 10, 7.0)]).unwrap();
    d.upsert(&spy, &zone(), vec![day_bars(5, 10, 8.0)]).unwrap();
    d.record(&[]).unwrap();
    c.record(&[]).unwrap();
    let fresh = Embedded::new(dir.path());
    let day5 = fresh
        .scan(&spy, day_bars(5, 10, 0.0).bars.ts[0], i64::MAX)
        .unwrap();
    assert_eq!(day5, day_bars(5, 10, 7.0).bars);
    assert_eq!(all(&fresh, &spy).len(), 30 + 10);
}

#[test]
fn staged_writes_of_a_store_dropped_before_its_commit_are_never_seen() {
    let dir = tempfile::tempdir().unwrap();
    let spy = minute("SPY");
    let store = Embedded::new(dir.path());
    store
        .upsert(&spy, &zone(), vec![day_bars(1, 10, 1.0)])
        .unwrap();
    store.record(&[]).unwrap();
    let crashed = Embedded::new(dir.path());
    crashed
        .upsert(&spy, &zone(), vec![day_bars(1, 10, 5.0)])
        .unwrap();
    drop(crashed);
    let fresh = Embedded::new(dir.path());
    assert_eq!(all(&fresh, &spy), day_bars(1, 10, 1.0).bars);
    // the fold of zones and manifest is derived: a torn one is folded again
    std::fs::write(
        dir.path().join("_barstore/log.json"),
        b"{\"version\": 1, \"zo",
    )
    .unwrap();
    let fresh = Embedded::new(dir.path());
    assert_eq!(
        fresh.zone_of(&spy).unwrap().as_deref(),
        Some("America/New_York")
    );
    assert_eq!(fresh.series().unwrap()[0].rows, 10);
}

#[test]
fn daily_appends_merge_with_the_newest_files_never_the_whole_year_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path());
    let spy = minute("SPY");
    let mut expected = Bars::default();
    let mut first_merge: Option<PathBuf> = None;
    // January: no clock change within the month
    let jan_day = |day: usize| {
        let mut m = month_bars(2024, 1, day * 1440, day as f64);
        m.bars = m.bars.slice((day - 1) * 1440..(day - 1) * 1440 + 10);
        m
    };
    for day in 1..=31 {
        let d = jan_day(day);
        expected = Bars::merge(&expected, &d.bars);
        store.upsert(&spy, &zone(), vec![d]).unwrap();
        store.record(&[]).unwrap();
        let files = files_2024(&store);
        assert!(files.len() <= write::MAX_FILES, "day {day}: {files:?}");
        match &first_merge {
            // the 17th day finds 16 files of its size: all merge, once
            None if day == write::MAX_FILES + 1 => {
                assert_eq!(files.len(), 1, "day {day}");
                first_merge = Some(files[0].clone());
            }
            None => assert_eq!(files.len(), day, "day {day}"),
            Some(merged) => assert!(files.contains(merged), "day {day}: rewrote the year"),
        }
    }
    assert!(first_merge.is_some());
    assert_eq!(all(&Embedded::new(dir.path()), &spy), expected);
}

#[test]
fn opening_from_a_checkpoint_equals_replaying_the_log_and_a_torn_or_foreign_one_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    // three commits: days 1 to 3 of the first, second and first symbol again
    let three_commits = |store: &Embedded, symbols: [&str; 2]| {
        for (i, symbol) in [symbols[0], symbols[1], symbols[0]].into_iter().enumerate() {
            let d = day_bars(i as u32 + 1, 10, i as f64);
            store.upsert(&minute(symbol), &zone(), vec![d]).unwrap();
            store.record(&[]).unwrap();
        }
    };
    three_commits(&Embedded::new(&root), ["AAA", "BBB"]);
    let replayed = {
        let table = Table::new(root.join("bars"));
        let delta = table.load(None).unwrap();
        State::of_table(&table, &delta, HashMap::new()).unwrap()
    };
    let reads = |root: &std::path::Path| {
        let s = Embedded::new(root);
        let bars: Vec<Bars> = ["AAA", "BBB"].map(|x| all(&s, &minute(x))).into();
        (s.series().unwrap(), bars, s.latest().unwrap().files.clone())
    };
    let checkpoint = root.join("_barstore").join("state.json");
    assert!(checkpoint.exists(), "a commit keeps its checkpoint");
    let expected = reads(&root);
    assert_eq!(expected.2, replayed.files);
    assert_eq!(expected.0.len(), 2);

    // a torn checkpoint is replayed past
    let text = fs::read(&checkpoint).unwrap();
    fs::write(&checkpoint, &text[..text.len() / 2]).unwrap();
    assert_eq!(reads(&root), expected);

    // another store's checkpoint of the same version, at this path, is not used
    let other = dir.path().join("other");
    three_commits(&Embedded::new(&other), ["CCC", "DDD"]);
    let foreign = other.join("_barstore").join("state.json");
    assert!(fs::read(&foreign).unwrap().windows(3).any(|w| w == b"CCC"));
    fs::copy(&foreign, &checkpoint).unwrap();
    assert_eq!(reads(&root), expected);
}

fn entry(source: &str) -> ManifestEntry {
    ManifestEntry {
        source: source.into(),
        size: 10,
        mtime_ns: 1,
        hash: "00".into(),
        rows: 1,
        symbol: "AAPL".into(),
        timeframe: "1min".into(),
        adjustment: "none".into(),
    }
}

fn manifest_files(root: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root.join("_barstore/manifest"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

#[test]
fn the_manifest_is_kept_by_directory_and_a_damaged_or_foreign_one_is_folded_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path());
    store.begin_load().unwrap();
    let old: Vec<ManifestEntry> = (0..3)
        .map(|i| entry(&format!("/history/S{i}.txt")))
        .collect();
    store.record(&old).unwrap();
    let day = [entry("/daily/2024-05-02/S0.txt")];
    store.record(&day).unwrap();
    // one file per directory of inputs, and the version they are complete up to
    let files = manifest_files(dir.path());
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.contains(&"folded.json".to_string()));
    let ids = |entries: &[ManifestEntry]| -> Vec<String> {
        entries.iter().map(|e| e.source.clone()).collect()
    };
    let lookup = |store: &Embedded, entries: &[ManifestEntry]| {
        let found = store.manifest(&ids(entries)).unwrap();
        entries
            .iter()
            .map(|e| found.get(&e.source).cloned())
            .collect::<Vec<_>>()
    };
    let every = |entries: &[ManifestEntry]| entries.iter().cloned().map(Some).collect::<Vec<_>>();
    // the daily directory's lookup needs its own file only: the history's may be gone
    let saved: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .filter(|f| *f != "folded.json")
        .map(|f| {
            let p = dir.path().join("_barstore/manifest").join(f);
            let bytes = fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    let history = saved
        .iter()
        .find(|(_, b)| String::from_utf8_lossy(b).contains("/history/"))
        .unwrap()
        .0
        .clone();
    fs::remove_file(&history).unwrap();
    let other = Embedded::new(dir.path());
    assert_eq!(lookup(&other, &day), every(&day));
    assert_eq!(lookup(&other, &old), vec![None; 3]);
    // a damaged file is folded again from the commits, whole
    fs::write(&history, b"{\"/history/S0.txt\": tor").unwrap();
    assert_eq!(lookup(&other, &old), every(&old));
    assert_eq!(lookup(&other, &day), every(&day));
    // a fold of another table at this path (its first commit differs) starts again
    let elsewhere = tempfile::tempdir().unwrap();
    let foreign = Embedded::new(elsewhere.path());
    foreign.begin_load().unwrap();
    foreign.record(&[entry("/elsewhere/X.txt")]).unwrap();
    let meta = dir.path().join("_barstore/manifest");
    fs::remove_dir_all(&meta).unwrap();
    copy_dir(&elsewhere.path().join("_barstore/manifest"), &meta);
    assert_eq!(lookup(&other, &old), every(&old));
    assert_eq!(lookup(&other, &[entry("/elsewhere/X.txt")]), vec![None]);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn two_handles_creating_and_writing_one_store_make_one_table_and_keep_every_manifest_entry() {
    let dir = tempfile::tempdir().unwrap();
    let writers: Vec<Vec<ManifestEntry>> = (0..2)
        .map(|w| {
            (0..20)
                .map(|i| entry(&format!("/shared/{w}-{i}.txt")))
                .collect()
        })
        .collect();
    std::thread::scope(|s| {
        for mine in &writers {
            let root = dir.path();
            s.spawn(move || {
                let store = Embedded::new(root);
                store.begin_load().unwrap();
                for e in mine {
                    store.record(std::slice::from_ref(e)).unwrap();
                }
            });
        }
    });
    let store = Embedded::new(dir.path());
    let all: Vec<String> = writers.iter().flatten().map(|e| e.source.clone()).collect();
    let found = store.manifest(&all).unwrap();
    assert_eq!(found.len(), 40);
    assert_eq!(store.latest().unwrap().version, 40);
}
