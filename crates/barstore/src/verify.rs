//! Verifying a store against its source files: re-read the files exactly as a load
//! would, and compare every bar of every series they make with what the store holds.

use crate::bars::Bars;
use crate::calendar::Zone;
use crate::error::Result;
use crate::load::{pool, read_source, with_hints, LoadOptions, NoProgress, ReadContext};
use crate::series::Series;
use crate::source::discover;
use crate::store::{MonthBars, Store};
use rayon::prelude::*;
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
pub fn verify(store: &dyn Store, paths: &[PathBuf], opts: &LoadOptions) -> Result<VerifyReport> {
    let zone = Zone::new(&opts.zone)?;
    let sources = with_hints(discover(paths)?, opts);
    let read_one = |(source, hint): &(
        crate::source::Source,
        Result<crate::load::Hint, crate::FileError>,
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
            format: &opts.format,
            zone: &zone,
            log: None,
            progress: &NoProgress,
            cancel: &opts.cancel,
            admit: &|_, _| Ok(()),
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
    let mut report = VerifyReport::default();
    for ((source, _), result) in sources.iter().zip(parsed) {
        match result {
            // an empty file makes no series
            Ok((None, _)) => {}
            Ok((Some(series), bars)) => {
                let entry = expected.entry(series).or_default();
                *entry = Bars::merge(entry, &bars);
            }
            Err(why) => report.failed.push((source.id(), why)),
        }
    }
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
