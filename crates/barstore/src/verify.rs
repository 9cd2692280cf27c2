//! Verifying a store against its source files: re-read the files exactly as a load
//! would, and compare every bar of every series they make with what the store holds;
//! or compare vendor-adjusted files with the raw series adjusted on read.
//!
//! The files are read series by series (all the files of one symbol and adjustment,
//! in path order, since its timeframe may show only in the bars), and each series is
//! compared and dropped before the next ones are read: memory is bounded by the series,
//! not by the input. Several small series are read at once, in parallel, while their
//! files add up to at most [`WINDOW_BYTES`]; a larger one is read alone.

use crate::adjust::{self, Adjust};
use crate::bars::Bars;
use crate::error::{ReadError, Result};
use crate::ingest::{
    pool, read_source, with_hints, Hint, InputOptions, NoProgress, ReadContext, BATCH, BLOCK,
};
use crate::read::{read_of, ReadRequest};
use crate::series::Series;
use crate::source::{discover, Source};
use crate::store::{MonthBars, Store};
use crate::zone::{Zone, DAY};
use rayon::prelude::*;
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// How one series' stored bars compare with its source files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesDiff {
    /// The series.
    pub series: Series,
    /// Bars in the source files (after de-duplication).
    pub source_rows: u64,
    /// Bars in the store.
    pub store_rows: u64,
    /// Source bars absent from the store.
    pub missing: u64,
    /// Stored bars absent from the sources.
    pub extra: u64,
    /// Bars present in both with different values.
    pub different: u64,
}

/// The outcome of a verification.
#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    /// One entry per series, sorted.
    pub series: Vec<SeriesDiff>,
    /// Source files that could not be read, with the reason.
    pub failed: Vec<(String, String)>,
    /// The most source bars held in memory at once: those of the series being compared
    /// (a few small ones together), never the whole input.
    pub held_bars: u64,
}

/// Serialised as its verdict, `{"identical": bool, "failed": [[file, reason]]}`; the
/// series go as a table ([`crate::tables::verified`]).
impl Serialize for VerifyReport {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("VerifyReport", 2)?;
        out.serialize_field("identical", &self.identical())?;
        out.serialize_field("failed", &self.failed)?;
        out.end()
    }
}

impl VerifyReport {
    /// True when every symbol matches and every file could be read.
    pub fn identical(&self) -> bool {
        self.failed.is_empty()
            && self
                .series
                .iter()
                .all(|d| d.missing == 0 && d.extra == 0 && d.different == 0)
    }
}

/// Compares two sorted, duplicate-free batches.
pub fn diff(expected: &Bars, actual: &Bars) -> (u64, u64, u64) {
    let (mut i, mut j) = (0, 0);
    let (mut missing, mut extra, mut different) = (0, 0, 0);
    while i < expected.len() || j < actual.len() {
        if j == actual.len() || (i < expected.len() && expected.ts[i] < actual.ts[j]) {
            missing += 1;
            i += 1;
        } else if i == expected.len() || actual.ts[j] < expected.ts[i] {
            extra += 1;
            j += 1;
        } else {
            different += u64::from(!expected.same_row(i, actual, j));
            i += 1;
            j += 1;
        }
    }
    (missing, extra, different)
}

/// Input bytes read at once: the files of several series are read together while their
/// sizes add up to at most this (what one file's read has in flight), a larger series
/// alone.
pub const WINDOW_BYTES: u64 = (BLOCK * BATCH) as u64;

/// Re-reads the inputs under `paths` (with the same options as the load) and compares
/// them with `store`, series by series. Later files win over earlier ones for the same
/// bar, as in a sequential load.
pub fn verify(store: &dyn Store, paths: &[PathBuf], opts: &InputOptions) -> Result<VerifyReport> {
    verify_within(store, paths, opts, WINDOW_BYTES)
}

/// [`verify`], reading the files of several series together while they add up to at
/// most `window` bytes.
fn verify_within(
    store: &dyn Store,
    paths: &[PathBuf],
    opts: &InputOptions,
    window: u64,
) -> Result<VerifyReport> {
    let diffs = Mutex::new(Vec::new());
    let compare = |series: Series, mut want: Bars| -> Result<()> {
        store.as_stored(&mut want)?;
        let have = store.scan(&series, i64::MIN, i64::MAX)?;
        let (missing, extra, different) = diff(&want, &have);
        let d = SeriesDiff {
            series,
            source_rows: want.len() as u64,
            store_rows: have.len() as u64,
            missing,
            extra,
            different,
        };
        diffs.lock().unwrap_or_else(|p| p.into_inner()).push(d);
        Ok(())
    };
    let (failed, held_bars) = each_series(paths, opts, window, &compare)?;
    let mut series = diffs.into_inner().unwrap_or_else(|p| p.into_inner());
    series.sort_by(|a, b| a.series.cmp(&b.series));
    Ok(VerifyReport {
        series,
        failed,
        held_bars,
    })
}

/// Files that could not be read, with the reason.
type Failed = Vec<(String, String)>;

/// Called with each series the inputs make and its bars.
type Each<'a> = dyn Fn(Series, Bars) -> Result<()> + Sync + 'a;

/// Reads the inputs under `paths` as a load reads them (later files win for the same
/// bar) and hands each series they make to `each` as soon as its files are read, a few
/// series at once while their files add up to at most `window` bytes. Returns the files
/// that could not be read and the most bars held at once.
fn each_series(
    paths: &[PathBuf],
    opts: &InputOptions,
    window: u64,
    each: &Each<'_>,
) -> Result<(Failed, u64)> {
    let found = discover(paths);
    let mut failed: Failed = found
        .failed
        .into_iter()
        .map(|(path, why)| (path, why.to_string()))
        .collect();
    // all the files one series can come from: its symbol and adjustment are known from
    // the name and options, its timeframe perhaps only from its bars
    let mut groups: BTreeMap<(String, String), Vec<(Source, Hint)>> = BTreeMap::new();
    for (source, hint) in with_hints(found.sources, opts) {
        match hint {
            Ok(hint) => groups
                .entry((hint.symbol.clone(), hint.adjustment.to_string()))
                .or_default()
                .push((source, hint)),
            Err(e) => failed.push((source.id(), e.to_string())),
        }
    }
    let groups: Vec<Vec<(Source, Hint)>> = groups.into_values().collect();
    let held = AtomicU64::new(0);
    let peak = AtomicU64::new(0);
    let read_group = |files: &[(Source, Hint)]| -> Result<Failed> {
        let mut failed = Vec::new();
        let mut made: BTreeMap<Series, Bars> = BTreeMap::new();
        let mut rows = 0;
        for (source, hint) in files {
            let (read, bars, counted) = read_file(source, hint, opts, &held, &peak);
            rows += counted;
            match read {
                // an empty file makes no series
                Ok(None) => {}
                Ok(Some(series)) => match made.entry(series) {
                    Entry::Vacant(v) => {
                        v.insert(bars);
                    }
                    Entry::Occupied(mut o) => {
                        let merged = Bars::merge(o.get(), &bars);
                        *o.get_mut() = merged;
                    }
                },
                Err(why) => failed.push((source.id(), why)),
            }
        }
        let compared = made
            .into_iter()
            .try_for_each(|(series, bars)| each(series, bars));
        held.fetch_sub(rows, Ordering::Relaxed);
        compared.map(|()| failed)
    };
    let size = |files: &[(Source, Hint)]| files.iter().map(|(s, _)| s.size).sum::<u64>();
    let pool = pool(opts.jobs)?;
    let mut start = 0;
    while start < groups.len() {
        let (mut end, mut bytes) = (start + 1, size(&groups[start]));
        while end < groups.len() && bytes + size(&groups[end]) <= window {
            bytes += size(&groups[end]);
            end += 1;
        }
        let read: Vec<Result<Failed>> = pool.install(|| {
            groups[start..end]
                .par_iter()
                .map(|g| read_group(g))
                .collect()
        });
        for r in read {
            failed.extend(r?);
        }
        start = end;
    }
    failed.sort();
    Ok((failed, peak.into_inner()))
}

/// Reads one file as a load would: its series (`None` when empty) or why it could not
/// be read, its bars, and how many bars it added to `held` (the most held at once goes
/// to `peak`) as they were collected.
fn read_file(
    source: &Source,
    hint: &Hint,
    opts: &InputOptions,
    held: &AtomicU64,
    peak: &AtomicU64,
) -> (std::result::Result<Option<Series>, String>, Bars, u64) {
    let collected = Mutex::new(Vec::<MonthBars>::new());
    let counted = AtomicU64::new(0);
    let sink = |_: &Series, months: Vec<MonthBars>| {
        let rows: u64 = months.iter().map(|m| m.bars.len() as u64).sum();
        counted.fetch_add(rows, Ordering::Relaxed);
        let now = held.fetch_add(rows, Ordering::Relaxed) + rows;
        peak.fetch_max(now, Ordering::Relaxed);
        collected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(months);
        Ok(())
    };
    let ctx = ReadContext {
        input: opts,
        log: None,
        progress: &NoProgress,
        admit: None,
        sink: &sink,
    };
    let read = read_source(source, hint, &ctx).map(|(_, _, series)| series);
    let mut months = collected.into_inner().unwrap_or_else(|p| p.into_inner());
    // Months are disjoint in time: append them in order, merging only a month that an
    // unsorted file flushed more than once (in file order, so later rows win).
    months.sort_by_key(|m| m.month);
    let mut merged: Vec<MonthBars> = Vec::with_capacity(months.len());
    for m in months {
        match merged.last_mut() {
            Some(last) if last.month == m.month => last.bars = Bars::merge(&last.bars, &m.bars),
            _ => merged.push(m),
        }
    }
    let mut bars = Bars::with_capacity(merged.iter().map(|m| m.bars.len()).sum());
    for mut m in merged {
        bars.append(&mut m.bars);
    }
    (read.map_err(|e| e.to_string()), bars, counted.into_inner())
}

/// How far (in price) a vendor's adjusted price may be from barstore's: the vendor
/// rounds to 4 decimals.
pub const ADJUSTED_TOLERANCE: f64 = 0.000_06;

/// Days on which a vendor-adjusted file and the stored raw series adjusted on read
/// disagree, by one factor: a missing or wrong action shows as one run ending the day
/// before its ex-date.
#[derive(Clone, Debug, PartialEq)]
pub struct Disagreement {
    /// The vendor file's series.
    pub series: Series,
    /// First and last exchange dates of the run (days since 1970-01-01).
    pub first: i64,
    /// Last exchange date of the run.
    pub last: i64,
    /// Days in the run that hold bars on both sides.
    pub days: u64,
    /// The vendor's close over barstore's (the median over the run's bars).
    pub factor: f64,
}

/// What comparing vendor-adjusted files with adjusted reads found.
#[derive(Clone, Debug, Default)]
pub struct AdjustedReport {
    /// Bars present in both and compared.
    pub compared: u64,
    /// Runs of disagreeing days, by series and date.
    pub disagreements: Vec<Disagreement>,
    /// Source files that could not be read, with the reason.
    pub failed: Vec<(String, String)>,
}

/// Compares vendor-adjusted files (such as `AAPL_full_1min_adjsplit.txt`) with the raw
/// series of the same symbol and timeframe adjusted on read by the stored actions (`how`,
/// `as_of` as a read takes them): which days disagree, and by what factor.
pub fn verify_adjusted(
    store: &dyn Store,
    paths: &[PathBuf],
    opts: &InputOptions,
    how: Adjust,
    as_of: Option<i64>,
) -> Result<AdjustedReport> {
    let found = Mutex::new(AdjustedReport::default());
    let compare = |series: Series, vendor: Bars| -> Result<()> {
        let raw = store
            .lookup(&series.symbol)?
            .into_iter()
            .filter(|f| f.series.timeframe == series.timeframe && adjust::is_raw(&f.series))
            .collect::<Vec<_>>();
        if raw.is_empty() {
            return Err(ReadError::Adjust {
                series: series.to_string(),
                detail: format!(
                    "no raw {} series of {} is stored to compare it with; load the unadjusted file",
                    series.timeframe, series.symbol
                ),
            }
            .into());
        }
        let req = ReadRequest {
            symbol: series.symbol.clone(),
            timeframe: Some(series.timeframe),
            adjustment: Some(raw[0].series.adjustment.clone()),
            adjust: Some(how),
            as_of,
            ..ReadRequest::default()
        };
        let ours = read_of(store, &req, &raw)?;
        let mut one = AdjustedReport::default();
        compare_adjusted(
            &series,
            &vendor,
            &ours.bars,
            &mut Zone::new(&ours.zone)?,
            &mut one,
        );
        let mut all = found.lock().unwrap_or_else(|p| p.into_inner());
        all.compared += one.compared;
        all.disagreements.append(&mut one.disagreements);
        Ok(())
    };
    let (failed, _) = each_series(paths, opts, WINDOW_BYTES, &compare)?;
    let mut report = found.into_inner().unwrap_or_else(|p| p.into_inner());
    report
        .disagreements
        .sort_by(|a, b| (&a.series, a.first).cmp(&(&b.series, b.first)));
    report.failed = failed;
    Ok(report)
}

/// Adds the runs of days on which `vendor` and `ours` disagree to `report`.
fn compare_adjusted(
    series: &Series,
    vendor: &Bars,
    ours: &Bars,
    zone: &mut Zone,
    report: &mut AdjustedReport,
) {
    // (day, vendor close / our close) of each disagreeing bar; days compared
    let mut off: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    let mut days = std::collections::BTreeSet::new();
    let (mut i, mut j) = (0, 0);
    while i < vendor.len() && j < ours.len() {
        match vendor.ts[i].cmp(&ours.ts[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                report.compared += 1;
                let day = zone.utc_ms_to_local(vendor.ts[i]).div_euclid(DAY);
                days.insert(day);
                let prices = |b: &Bars, k: usize| [b.open[k], b.high[k], b.low[k], b.close[k]];
                let apart = prices(vendor, i)
                    .iter()
                    .zip(prices(ours, j))
                    .any(|(v, o)| (v - o).abs() > ADJUSTED_TOLERANCE);
                if apart {
                    off.entry(day)
                        .or_default()
                        .push(vendor.close[i] / ours.close[j]);
                }
                i += 1;
                j += 1;
            }
        }
    }
    // runs of consecutive compared days that disagree by the same factor
    let mut run: Option<(Disagreement, Vec<f64>)> = None;
    let mut flush = |run: &mut Option<(Disagreement, Vec<f64>)>| {
        if let Some((mut d, mut ratios)) = run.take() {
            ratios.sort_by(f64::total_cmp);
            d.factor = ratios[ratios.len() / 2];
            report.disagreements.push(d);
        }
    };
    for day in days {
        let Some(ratios) = off.get_mut(&day) else {
            flush(&mut run);
            continue;
        };
        ratios.sort_by(f64::total_cmp);
        let median = ratios[ratios.len() / 2];
        match &mut run {
            Some((d, all)) if (median / d.factor - 1.0).abs() < 1e-3 => {
                d.last = day;
                d.days += 1;
                all.extend_from_slice(ratios);
            }
            _ => {
                flush(&mut run);
                run = Some((
                    Disagreement {
                        series: series.clone(),
                        first: day,
                        last: day,
                        days: 1,
                        factor: median,
                    },
                    ratios.clone(),
                ));
            }
        }
    }
    flush(&mut run);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_counts_missing_extra_and_different() {
        let mut a = Bars::default();
        let mut b = Bars::default();
        for t in [1, 2, 3, 5] {
            a.push((t, [1.0; 5]));
        }
        for (t, p) in [(2, 1.0), (3, 2.0), (4, 1.0), (5, 1.0), (6, 1.0)] {
            b.push((t, [p; 5]));
        }
        assert_eq!(diff(&a, &b), (1, 2, 1));
        assert_eq!(diff(&a, &a), (0, 0, 0));
    }

    /// Verifying holds the bars of the series being compared, not of the input: read
    /// one series at a time, the most bars held is the largest series, exactly; read in
    /// windows of two files, at most the two largest.
    #[test]
    fn verify_holds_one_series_at_a_time_not_the_input() {
        use crate::load::{load, LoadOptions};
        use crate::store::Embedded;
        let dir = tempfile::tempdir().unwrap();
        let sizes = [3_000u64, 9_000, 5_000, 7_000, 4_000];
        for (i, rows) in sizes.iter().enumerate() {
            let path = dir.path().join(format!("in/S{i}_1min.txt"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let mut file = std::fs::File::create(&path).unwrap();
            crate::generate::write_firstrate(&mut file, *rows, i as u64).unwrap();
        }
        let input = vec![dir.path().join("in")];
        let store = Embedded::new(dir.path().join("store"));
        let opts = LoadOptions {
            errors: dir.path().join("errors.jsonl"),
            ..LoadOptions::default()
        };
        let loaded = load(&store, &input, &opts, &NoProgress).unwrap();
        assert_eq!(loaded.rows, sizes.iter().sum::<u64>());

        let alone = verify_within(&store, &input, &opts.input, 0).unwrap();
        assert!(alone.identical(), "{alone:?}");
        assert_eq!(alone.series.len(), sizes.len());
        assert_eq!(alone.held_bars, 9_000);

        let largest = dir.path().join("in/S1_1min.txt").metadata().unwrap().len();
        let paired = verify_within(&store, &input, &opts.input, 2 * largest).unwrap();
        assert!(paired.identical(), "{paired:?}");
        assert!(paired.held_bars <= 9_000 + 7_000, "{}", paired.held_bars);
    }
}
