//! Verifying a store against its source files: re-read the files exactly as a load
//! would, and compare every bar of every series they make with what the store holds;
//! or compare vendor-adjusted files with the raw series adjusted on read.

use crate::adjust::{self, Adjust};
use crate::bars::Bars;
use crate::error::{ReadError, Result};
use crate::ingest::{pool, read_source, with_hints, InputOptions, NoProgress, ReadContext};
use crate::read::{read_of, ReadRequest};
use crate::series::Series;
use crate::source::discover;
use crate::store::{MonthBars, Store};
use crate::zone::{Zone, DAY};
use rayon::prelude::*;
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::collections::BTreeMap;
use std::path::PathBuf;
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

/// Re-reads the inputs under `paths` (with the same options as the load) and compares
/// them with `store`, series by series. Later files win over earlier ones for the same
/// bar, as in a sequential load.
pub fn verify(store: &dyn Store, paths: &[PathBuf], opts: &InputOptions) -> Result<VerifyReport> {
    let (expected, failed) = sources(paths, opts)?;
    let mut report = VerifyReport {
        failed,
        ..VerifyReport::default()
    };
    for (series, mut want) in expected {
        store.as_stored(&mut want)?;
        let have = store.scan(&series, i64::MIN, i64::MAX)?;
        let (missing, extra, different) = diff(&want, &have);
        report.series.push(SeriesDiff {
            series,
            source_rows: want.len() as u64,
            store_rows: have.len() as u64,
            missing,
            extra,
            different,
        });
    }
    Ok(report)
}

/// Files that could not be read, with the reason.
type Failed = Vec<(String, String)>;

/// The bars of each series the inputs under `paths` make, read as a load reads them
/// (later files win for the same bar), and the files that could not be read.
fn sources(paths: &[PathBuf], opts: &InputOptions) -> Result<(BTreeMap<Series, Bars>, Failed)> {
    let found = discover(paths);
    let sources = with_hints(found.sources, opts);
    let read_one = |(source, hint): &(
        crate::source::Source,
        Result<crate::ingest::Hint, crate::FileError>,
    )| {
        let hint = hint.as_ref().map_err(|e| e.to_string())?;
        let collected = Mutex::new(Vec::<MonthBars>::new());
        let sink = |_: &Series, months: Vec<MonthBars>| {
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
        let (_, _, series) = read_source(source, hint, &ctx).map_err(|e| e.to_string())?;
        let mut months = collected.into_inner().unwrap_or_else(|p| p.into_inner());
        // Months are disjoint in time: append them in order, merging only a month that
        // an unsorted file flushed more than once (in file order, so later rows win).
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
        Ok::<_, String>((series, bars))
    };
    let parsed: Vec<_> = pool(opts.jobs)?.install(|| sources.par_iter().map(read_one).collect());
    let mut expected: BTreeMap<Series, Bars> = BTreeMap::new();
    let mut failed: Failed = found
        .failed
        .into_iter()
        .map(|(path, why)| (path, why.to_string()))
        .collect();
    for ((source, _), result) in sources.iter().zip(parsed) {
        match result {
            // an empty file makes no series
            Ok((None, _)) => {}
            Ok((Some(series), bars)) => {
                let entry = expected.entry(series).or_default();
                *entry = Bars::merge(entry, &bars);
            }
            Err(why) => failed.push((source.id(), why)),
        }
    }
    Ok((expected, failed))
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
    let (expected, failed) = sources(paths, opts)?;
    let mut report = AdjustedReport {
        failed,
        ..AdjustedReport::default()
    };
    for (series, vendor) in expected {
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
        let zone = ours.zone.clone();
        compare_adjusted(
            &series,
            &vendor,
            &ours.bars,
            &mut Zone::new(&zone)?,
            &mut report,
        );
    }
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
}
