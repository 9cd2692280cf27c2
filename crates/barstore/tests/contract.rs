//! The store contract: what the loader, reader and verifier rely on from every [`Store`].
//! Each case is a test per store: the embedded store, and CQL stores of the chunked, the
//! typed and the original text layout when `BARSTORE_TEST_CQL` names a node
//! (`host:port`; the test command starts one). The text layout holds one series (1min,
//! no adjustment) with float32 values: its cases use that series and compare with what
//! it stores; `zones_are_kept_per_series` does not apply to it (one zone per table).

use barstore::bars::Bars;
use barstore::bucket::Month;
use barstore::series::{Adjustment, Series, Timeframe};
use barstore::store::{Cql, Embedded, ManifestEntry, MonthBars, Store};
use barstore::zone::{days_from_civil, Zone, DAY};

/// A store under test, dropped with whatever it created.
struct Subject {
    store: Box<dyn Store>,
    _dir: tempfile::TempDir,
    /// `host:port` and keyspace of a CQL subject.
    cql: Option<(String, String)>,
    /// The original text layout: one series (1min, no adjustment), float32 values.
    text: bool,
}

impl Drop for Subject {
    fn drop(&mut self) {
        if let Some((node, ks)) = &self.cql {
            if let Ok(cql) = Cql::connect(&format!("cql://{node}/{ks}"), Default::default()) {
                let _ = cql.block_on(
                    cql.session()
                        .query_unpaged(format!("DROP KEYSPACE IF EXISTS {ks}"), ()),
                );
            }
        }
    }
}

impl Subject {
    fn ready(store: Box<dyn Store>, cql: Option<(String, String)>, text: bool) -> Subject {
        store.begin_load().unwrap();
        Subject {
            store,
            _dir: tempfile::tempdir().unwrap(),
            cql,
            text,
        }
    }

    fn embedded(_case: &str) -> Option<Subject> {
        let dir = tempfile::tempdir().unwrap();
        let store = Box::new(Embedded::new(dir.path().join("store")));
        let mut s = Subject::ready(store, None, false);
        s._dir = dir;
        Some(s)
    }

    /// A fresh keyspace with a table of `layout`, when a node is configured.
    fn cql(case: &str, layout: &str) -> Option<Subject> {
        let node = barstore::testing::cql_node(&format!("contract::{case}::{layout}"))?;
        // keyspace names are at most 48 characters
        let short: String = case.chars().take(28).collect();
        let ks = format!("c{short}_{layout}_{}", std::process::id());
        let url = format!("cql://{node}/{ks}?layout={layout}");
        let store = Box::new(Cql::connect(&url, Default::default()).unwrap());
        Some(Subject::ready(store, Some((node, ks)), layout == "text"))
    }

    fn chunked(case: &str) -> Option<Subject> {
        Subject::cql(case, "chunked")
    }

    fn typed(case: &str) -> Option<Subject> {
        Subject::cql(case, "typed")
    }

    fn text(case: &str) -> Option<Subject> {
        Subject::cql(case, "text")
    }

    /// The series `symbol` `timeframe` `adjustment`; on the text layout, which holds only
    /// 1min series with no adjustment, that one.
    fn series(&self, symbol: &str, timeframe: &str, adjustment: &str) -> Series {
        if self.text {
            series(symbol, "1min", "none")
        } else {
            series(symbol, timeframe, adjustment)
        }
    }

    /// What the store gives back for `bars`.
    fn stored(&self, bars: &Bars) -> Bars {
        let mut out = bars.clone();
        self.store.as_stored(&mut out).unwrap();
        out
    }
}

/// One test per case and store: `case::embedded`, `case::chunked`, `case::typed`,
/// `case::text` (the CQL ones skipped, each said on stderr, without a node).
macro_rules! contract {
    ($($case:ident: [$($store:ident),*];)*) => {
        $(
            mod $case {
                $(
                    #[test]
                    fn $store() {
                        if let Some(subject) = super::Subject::$store(stringify!($case)) {
                            super::$case(&subject)
                        }
                    }
                )*
            }
        )*
    };
}

contract! {
    round_trip_is_exact: [embedded, chunked, typed, text];
    overlapping_upserts_replace_by_time: [embedded, chunked, typed, text];
    series_of_one_symbol_never_mix: [embedded, chunked, typed, text];
    zones_are_kept_per_series: [embedded, chunked, typed];
    the_manifest_records_files_with_their_series: [embedded, chunked, typed, text];
    many_symbols_read_as_one_panel_exactly: [embedded, chunked, typed, text];
    appended_days_read_back_with_the_history_and_counts: [embedded, chunked, typed, text];
    a_long_history_reads_exactly_whole_and_in_ranges: [embedded, chunked, typed, text];
    action_versions_are_kept_and_listed_by_symbol: [embedded, chunked, typed, text];
}

fn ny() -> Zone {
    Zone::new("America/New_York").unwrap()
}

fn series(symbol: &str, timeframe: &str, adjustment: &str) -> Series {
    Series::new(
        symbol,
        timeframe.parse().unwrap(),
        adjustment.parse().unwrap(),
    )
    .unwrap()
}

/// `n` bars `step` seconds apart from 09:30 New York on the given day, with values that
/// do not survive a float32 or decimal detour (every f64 must come back bit for bit).
fn month_bars(y: i64, m: u32, d: u32, n: usize, step: i64, seed: f64) -> MonthBars {
    let mut z = ny();
    let start = days_from_civil(y, m, d) * DAY + 9 * 3600 + 30 * 60;
    let mut bars = Bars::default();
    for i in 0..n {
        let p = seed + i as f64 / 3.0 + 1e-9;
        let volume = if i % 7 == 3 {
            f64::NAN
        } else {
            i as f64 * 100.0
        };
        bars.push((
            z.local_to_utc_ms(start + i as i64 * step).unwrap(),
            [p, p + 0.1, p - 0.1, p + 1.0 / 7.0, volume],
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

fn all(store: &dyn Store, s: &Series) -> Bars {
    store.scan(s, i64::MIN, i64::MAX).unwrap()
}

/// Bars equal bit for bit (NaN volumes included).
fn assert_exact(got: &Bars, want: &Bars, what: &str) {
    assert_eq!(got.ts, want.ts, "{what}: times");
    let columns = |b: &Bars| {
        [&b.open, &b.high, &b.low, &b.close, &b.volume]
            .map(|c| c.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
    };
    assert_eq!(columns(got), columns(want), "{what}: values");
}

fn round_trip_is_exact(subject: &Subject) {
    let store = subject.store.as_ref();
    let s = subject.series("AAPL", "1min", "adjsplit");
    let months = vec![
        month_bars(2024, 1, 31, 50, 60, 100.0),
        month_bars(2024, 2, 1, 700, 60, 200.0),
    ];
    store.upsert(&s, &ny(), months.clone()).unwrap();
    let want = subject.stored(&Bars::merge(&months[0].bars, &months[1].bars));
    assert_exact(&all(store, &s), &want, &store.location());
    assert_eq!(
        store.months(&s).unwrap(),
        vec![months[0].month, months[1].month]
    );
    // a range read returns exactly the bars inside it
    let (lo, hi) = (want.ts[10], want.ts[60]);
    assert_exact(
        &store.scan(&s, lo, hi).unwrap(),
        &want.slice(10..61),
        "range",
    );
}

fn overlapping_upserts_replace_by_time(subject: &Subject) {
    let store = subject.store.as_ref();
    let s = subject.series("MSFT", "5min", "none");
    let old = month_bars(2024, 3, 4, 40, 300, 10.0);
    store.upsert(&s, &ny(), vec![old.clone()]).unwrap();
    store.upsert(&s, &ny(), vec![old.clone()]).unwrap();
    let mut newer = month_bars(2024, 3, 4, 60, 300, 50.0);
    newer.bars = newer.bars.slice(30..60);
    store.upsert(&s, &ny(), vec![newer.clone()]).unwrap();
    let got = all(store, &s);
    assert_eq!(got.len(), 60, "{}", store.location());
    let want = subject.stored(&Bars::merge(&old.bars, &newer.bars));
    assert_exact(&got, &want, "merged");
    let info = store.series().unwrap();
    assert_eq!(info.len(), 1);
    assert_eq!(
        (info[0].rows, info[0].first, info[0].last),
        (60, got.ts[0], got.ts[59])
    );
}

fn series_of_one_symbol_never_mix(subject: &Subject) {
    let store = subject.store.as_ref();
    if subject.text {
        // one series per table: any other is refused before a bar is written
        for other in [
            series("SPY", "5min", "none"),
            series("SPY", "1min", "adjsplit"),
        ] {
            let e = store.accepts(&other).unwrap_err().to_string();
            assert!(e.contains("holds one 1min series per symbol"), "{e}");
        }
        return;
    }
    let minute = series("SPY", "1min", "adjsplit");
    let five = series("SPY", "5min", "adjsplit");
    let raw = series("SPY", "1min", "unadjusted");
    // the same instants in three series, with different values
    let a = month_bars(2024, 5, 1, 30, 300, 1.0);
    let b = month_bars(2024, 5, 1, 30, 300, 2.0);
    let c = month_bars(2024, 5, 1, 30, 300, 3.0);
    store.upsert(&minute, &ny(), vec![a.clone()]).unwrap();
    store.upsert(&five, &ny(), vec![b.clone()]).unwrap();
    store.upsert(&raw, &ny(), vec![c.clone()]).unwrap();
    assert_exact(&all(store, &minute), &a.bars, "1min");
    assert_exact(&all(store, &five), &b.bars, "5min");
    assert_exact(&all(store, &raw), &c.bars, "unadjusted");
    assert_eq!(
        store.series_of("SPY").unwrap(),
        vec![minute.clone(), raw.clone(), five.clone()]
    );
    assert!(store.series_of("QQQ").unwrap().is_empty());
    assert!(all(store, &series("SPY", "1h", "adjsplit")).is_empty());
    let listed: Vec<(Series, u64)> = store
        .series()
        .unwrap()
        .into_iter()
        .map(|i| (i.series, i.rows))
        .collect();
    assert_eq!(listed, vec![(minute, 30), (raw, 30), (five, 30)]);
}

fn zones_are_kept_per_series(subject: &Subject) {
    let store = subject.store.as_ref();
    let utc = Zone::new("UTC").unwrap();
    let s = series("DBB", "1min", "none");
    let daily = Series::new("DBB", Timeframe::DAY, Adjustment::none()).unwrap();
    assert_eq!(store.zone_of(&s).unwrap(), None);
    store
        .upsert(&s, &utc, vec![month_bars(2024, 6, 3, 5, 60, 9.0)])
        .unwrap();
    assert_eq!(store.zone_of(&s).unwrap().as_deref(), Some("UTC"));
    assert_eq!(store.zone_of(&daily).unwrap(), None);
    store
        .upsert(&daily, &ny(), vec![month_bars(2024, 6, 3, 5, DAY, 9.0)])
        .unwrap();
    assert_eq!(
        store.zone_of(&daily).unwrap().as_deref(),
        Some("America/New_York")
    );
    let zones: Vec<String> = store
        .series()
        .unwrap()
        .into_iter()
        .map(|i| i.zone)
        .collect();
    assert_eq!(zones, ["UTC", "America/New_York"]);
}

fn the_manifest_records_files_with_their_series(subject: &Subject) {
    let store = subject.store.as_ref();
    let source = "/data/AAPL_full_5min_adjsplit.txt".to_string();
    assert!(store
        .manifest(std::slice::from_ref(&source))
        .unwrap()
        .is_empty());
    let entry = ManifestEntry {
        source: source.clone(),
        size: 10,
        mtime_ns: 5,
        hash: "ab".into(),
        rows: 2,
        symbol: "AAPL".into(),
        timeframe: "5min".into(),
        adjustment: "adjsplit".into(),
    };
    store.record(std::slice::from_ref(&entry)).unwrap();
    let replaced = ManifestEntry {
        rows: 3,
        ..entry.clone()
    };
    // files of other directories and of a zip, recorded in the same group
    let others: Vec<ManifestEntry> = ["/daily/2024-05-02/MSFT.txt", "/data/all.zip!dir/IBM.txt"]
        .into_iter()
        .map(|s| ManifestEntry {
            source: s.into(),
            symbol: "MSFT".into(),
            ..entry.clone()
        })
        .collect();
    let mut group = vec![replaced.clone()];
    group.extend(others.iter().cloned());
    store.record(&group).unwrap();
    let m = store.manifest(std::slice::from_ref(&source)).unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[&source], replaced);
    // a lookup returns the entries of the sources asked, and of no others
    let asked = [
        others[1].source.clone(),
        "/daily/2024-05-02/NVDA.txt".to_string(),
        others[0].source.clone(),
    ];
    let m = store.manifest(&asked).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[&others[0].source], others[0]);
    assert_eq!(m[&others[1].source], others[1]);
    assert!(store.manifest(&[]).unwrap().is_empty());
}

fn many_symbols_read_as_one_panel_exactly(subject: &Subject) {
    use barstore::panel::{read_panel, PanelRequest, PanelStream, Symbols};
    use barstore::read::ReadRequest;
    let store = subject.store.as_ref();
    let symbols = ["C", "A", "B"];
    let mut stored = Vec::new();
    for (i, sym) in symbols.iter().enumerate() {
        // C lacks the first day, B the second: missing days stay missing
        let days: Vec<u32> = match *sym {
            "C" => vec![5, 6],
            "B" => vec![4, 6],
            _ => vec![4, 5, 6],
        };
        let mut bars = Bars::default();
        for d in days {
            let m = month_bars(2024, 3, d, 30, 60, 10.0 * (i + 1) as f64 + d as f64);
            bars = Bars::merge(&bars, &m.bars);
        }
        let month = Month {
            year: 2024,
            month: 3,
        };
        let s = series(sym, "1min", "none");
        store
            .upsert(
                &s,
                &ny(),
                vec![MonthBars {
                    month,
                    bars: bars.clone(),
                }],
            )
            .unwrap();
        stored.push((sym.to_string(), subject.stored(&bars)));
    }
    stored.sort_by(|a, b| a.0.cmp(&b.0));
    let req = PanelRequest {
        symbols: Symbols::List(vec!["C".into(), "A".into(), "B".into()]),
        read: ReadRequest::default(),
        skip_missing: false,
    };
    let panel = read_panel(store, &req).unwrap();
    let names: Vec<&str> = panel.frames.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names, ["A", "B", "C"], "{}", store.location());
    for ((_, frame), (_, want)) in panel.frames.iter().zip(&stored) {
        assert_exact(&frame.bars, want, &store.location());
    }
    let long = panel.clone().into_long(true);
    let (keys, dictionary) = symbol_column(&long).unwrap();
    assert_eq!(dictionary, ["A", "B", "C"]);
    let counts: Vec<usize> = (0..3)
        .map(|k| keys.iter().filter(|&&x| x == k).count())
        .collect();
    assert_eq!(counts, [90, 60, 60]);
    assert!(keys.windows(2).all(|w| w[0] <= w[1]));

    let wide = panel.into_wide("close", true).unwrap();
    assert_eq!(wide.num_rows(), 90);
    assert_eq!(wide.num_columns(), 4);

    // the stream yields the same rows, with the one dictionary of every symbol
    let mut stream = PanelStream::new(store, &req, true).unwrap();
    let mut rows = 0;
    while let Some(batch) = stream.next_batch().unwrap() {
        assert_eq!(symbol_column(&batch).unwrap().1, ["A", "B", "C"]);
        rows += batch.num_rows();
    }
    assert_eq!(rows, 210);

    // all symbols; unknown ones named together, or skipped
    let every = PanelRequest {
        symbols: Symbols::All,
        ..req.clone()
    };
    assert_eq!(read_panel(store, &every).unwrap().frames.len(), 3);
    let unknown = PanelRequest {
        symbols: Symbols::List(vec!["A".into(), "ZZ".into(), "XX".into()]),
        ..req.clone()
    };
    if subject.text {
        // the original layout keeps no index of its symbols: one it never held reads
        // as one without bars
        let frames = read_panel(store, &unknown).unwrap().frames;
        assert!(frames[1..].iter().all(|(_, f)| f.bars.is_empty()));
        return;
    }
    let err = read_panel(store, &unknown).unwrap_err().to_string();
    assert!(err.starts_with("not in the store: XX, ZZ (2 of"), "{err}");
    let skipped = read_panel(
        store,
        &PanelRequest {
            skip_missing: true,
            ..unknown
        },
    )
    .unwrap();
    assert_eq!(skipped.missing, ["XX", "ZZ"]);
    assert_eq!(skipped.frames.len(), 1);
}

fn appended_days_read_back_with_the_history_and_counts(subject: &Subject) {
    let store = subject.store.as_ref();
    let s = subject.series("SPY", "1min", "none");
    let history = month_bars(2024, 3, 4, 1000, 60, 50.0);
    store.upsert(&s, &ny(), vec![history.clone()]).unwrap();
    let mut want = history.bars.clone();
    for day in 5..=8 {
        let next = month_bars(2024, 3, day, 390, 60, day as f64);
        store.upsert(&s, &ny(), vec![next.clone()]).unwrap();
        want = Bars::merge(&want, &next.bars);
    }
    let want = subject.stored(&want);
    assert_exact(&all(store, &s), &want, &store.location());
    let info = store.series().unwrap();
    assert_eq!(info[0].rows, want.len() as u64, "{}", store.location());
    assert_eq!(info[0].last, *want.ts.last().unwrap());
    store.compact().unwrap();
    assert_exact(&all(store, &s), &want, "after compact");
    assert_eq!(store.series().unwrap()[0].rows, want.len() as u64);
}

/// Five years of months: reads fetch them several months to a request, appended in
/// order to one output; a range from the middle of one month to the middle of another
/// is trimmed at both ends.
fn a_long_history_reads_exactly_whole_and_in_ranges(subject: &Subject) {
    let store = subject.store.as_ref();
    // a second symbol holds the last three years of the first's span: read with it in
    // one many-symbol scan, each symbol's months come back whole and in order
    let history = |symbol: &str, from: i64, seed: f64| {
        let s = subject.series(symbol, "1min", "adjsplit");
        let months: Vec<MonthBars> = (from..60)
            .map(|i| {
                month_bars(
                    2019 + i / 12,
                    (i % 12 + 1) as u32,
                    10,
                    30,
                    60,
                    seed + i as f64,
                )
            })
            .collect();
        store.upsert(&s, &ny(), months.clone()).unwrap();
        let mut want = Bars::default();
        for m in &months {
            want.append(&mut m.bars.clone());
        }
        let found = store.lookup(symbol).unwrap();
        let found = found.into_iter().find(|f| f.series == s).unwrap();
        (s, subject.stored(&want), found)
    };
    let (s, want, found) = history("IBM", 0, 0.0);
    let (_, other, other_found) = history("MSFT", 24, 0.5);
    let ranges = [
        (i64::MIN, i64::MAX, 0..want.len()),
        (want.ts[45], want.ts[1700], 45..1701),
        (want.ts[29] + 1, want.ts[30] - 1, 30..30),
    ];
    for (lo, hi, r) in ranges {
        let what = format!("{} {r:?}", store.location());
        let expected = want.slice(r);
        assert_exact(&store.scan(&s, lo, hi).unwrap(), &expected, &what);
        assert_exact(&store.scan_found(&found, lo, hi).unwrap(), &expected, &what);
        let many = store
            .scan_many(&[(&found, lo, hi), (&other_found, lo, hi)])
            .unwrap();
        assert_exact(&many[0], &expected, &what);
        assert_exact(&many[1], &other.slice(other.range(lo, hi)), &what);
    }
}

fn action_versions_are_kept_and_listed_by_symbol(subject: &Subject) {
    use barstore::actions::{Action, Event};
    let store = subject.store.as_ref();
    assert!(store.actions(None).unwrap().is_empty());
    let action = |symbol: &str, ex_date: i64, event: Event, recorded: i64| Action {
        symbol: symbol.into(),
        ex_date,
        event,
        source: "vendor, file 1".into(),
        recorded,
    };
    let ex = days_from_civil(2020, 8, 31);
    let put = [
        action("AAPL", ex, Event::Split { from: 1.0, to: 4.0 }, 1_000),
        action("AAPL", ex + 3, Event::Dividend { cash: 0.205 }, 1_000),
        action("AAPL", ex + 3, Event::Dividend { cash: 0.21 }, 2_000),
        action("MSFT", ex - 1, Event::Dividend { cash: 0.51 }, 1_500),
    ];
    store.put_actions(&put[..2]).unwrap();
    store.put_actions(&put[2..]).unwrap();
    let sorted = |mut v: Vec<Action>| {
        v.sort_by(|a, b| (a.key(), a.recorded).cmp(&(b.key(), b.recorded)));
        v
    };
    assert_eq!(sorted(store.actions(None).unwrap()), sorted(put.to_vec()));
    assert_eq!(sorted(store.actions(Some("AAPL")).unwrap()), put[..3]);
    assert!(store.actions(Some("QQQ")).unwrap().is_empty());
}

/// The keys of a long batch's `symbol` column and its dictionary.
fn symbol_column(batch: &arrow::array::RecordBatch) -> Option<(Vec<i32>, Vec<String>)> {
    use arrow::array::{Array, DictionaryArray, StringArray};
    let dict = batch
        .column(0)
        .as_any()
        .downcast_ref::<DictionaryArray<arrow::datatypes::Int32Type>>()?;
    let values = dict.values().as_any().downcast_ref::<StringArray>()?;
    Some((
        dict.keys().values().to_vec(),
        (0..values.len())
            .map(|i| values.value(i).to_string())
            .collect(),
    ))
}
