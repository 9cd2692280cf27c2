//! Copying bars between stores (embedded <-> CQL, text layout -> typed), series by
//! series, one year of one series in memory at a time, and the corporate actions of
//! the copied symbols with them.
//!
//! Each copied month is recorded in the target's manifest as
//! `copy:<source>/<symbol>/<timeframe>/<adjustment>/<month>` with its bar count and a
//! hash of its bars as the source held them. A rerun reads each source month again and
//! skips it (unless forced) only when it still holds exactly the recorded bars, so an
//! interrupted copy resumes where it stopped and an incremental copy brings over every
//! month that gained or changed bars since. Writes replace rows by time, so copying a
//! month twice is harmless.
//!
//! After writing, each month is read back from the target and must equal the source's
//! (at the target's precision); a target that holds bars of its own in the month fails
//! the copy rather than leaving it looking complete.

use crate::actions::Action;
use crate::bars::Bars;
use crate::bucket::Month;
use crate::error::{ReadError, Result};
use crate::load::Progress;
use crate::series::Series;
use crate::store::{ManifestEntry, MonthBars, Store};
use crate::verify::diff;
use crate::zone::Zone;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;
use xxhash_rust::xxh3::Xxh3;

/// The outcome of a copy.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CopyReport {
    /// Series visited.
    pub series: u64,
    /// Months copied.
    pub months: u64,
    /// Months skipped as copied before and unchanged in the source since.
    pub skipped: u64,
    /// Rows copied.
    pub rows: u64,
    /// Corporate action versions copied.
    pub actions: u64,
    /// Wall time.
    pub seconds: f64,
}

/// Copies every series of `symbols` (of every symbol when empty) from one store to
/// another.
pub fn copy(
    from: &dyn Store,
    to: &dyn Store,
    symbols: &[String],
    force: bool,
    progress: &dyn Progress,
) -> Result<CopyReport> {
    let started = Instant::now();
    to.begin_load()?;
    let all: Vec<Series> = if symbols.is_empty() {
        from.series()?.into_iter().map(|s| s.series).collect()
    } else {
        let mut all = Vec::new();
        for symbol in symbols {
            let stored = from.series_of(symbol)?;
            if stored.is_empty() {
                return Err(ReadError::UnknownSymbol(symbol.clone()).into());
            }
            all.extend(stored);
        }
        all
    };
    let mut report = CopyReport::default();
    for series in &all {
        to.accepts(series)?;
        let zone_name = from
            .zone_of(series)?
            .ok_or_else(|| ReadError::UnknownSymbol(series.symbol.clone()))?;
        if let Some(stored) = to.zone_of(series)? {
            if stored != zone_name {
                return Err(ReadError::Zones {
                    series: series.to_string(),
                    to: to.location(),
                    to_zone: stored,
                    from: from.location(),
                    from_zone: zone_name,
                }
                .into());
            }
        }
        let zone = Zone::new(&zone_name)?;
        report.series += 1;
        let key = |m: Month| {
            format!(
                "copy:{}/{}/{}/{}/{m}",
                from.location(),
                series.symbol,
                series.timeframe,
                series.adjustment
            )
        };
        let bounds = |m: Month| -> Result<(i64, i64)> {
            let start = zone.bound_to_utc_ms(m.start_local())?;
            Ok((start, zone.bound_to_utc_ms(m.next().start_local())? - 1))
        };
        let mut by_year: BTreeMap<i32, Vec<Month>> = BTreeMap::new();
        let stored_months = from.months(series)?;
        let keys: Vec<String> = stored_months.iter().map(|&m| key(m)).collect();
        let done = to.manifest(&keys)?;
        for m in stored_months {
            by_year.entry(m.year).or_default().push(m);
        }
        for months in by_year.into_values() {
            let mut batch = Vec::new();
            // each month to copy: its manifest entry, and the hash of its bars as the
            // target gives them back
            let mut copied: Vec<(ManifestEntry, String)> = Vec::new();
            for m in months {
                let (start, end) = bounds(m)?;
                let bars = from.scan(series, start, end)?;
                let hash = fingerprint(&bars);
                let rows = bars.len() as u64;
                let unchanged = done
                    .get(&key(m))
                    .is_some_and(|e| e.hash == hash && e.rows == rows);
                if unchanged && !force {
                    report.skipped += 1;
                    continue;
                }
                let mut stored = bars.clone();
                to.as_stored(&mut stored)?;
                copied.push((
                    ManifestEntry {
                        source: key(m),
                        size: 0,
                        mtime_ns: 0,
                        hash,
                        rows,
                        symbol: series.symbol.clone(),
                        timeframe: series.timeframe.to_string(),
                        adjustment: series.adjustment.to_string(),
                    },
                    fingerprint(&stored),
                ));
                progress.advance(0, rows);
                batch.push(MonthBars { month: m, bars });
            }
            if batch.is_empty() {
                continue;
            }
            let months: Vec<Month> = batch.iter().map(|b| b.month).collect();
            to.upsert(series, &zone, batch)?;
            for (&m, (_, want)) in months.iter().zip(&copied) {
                let (start, end) = bounds(m)?;
                let have = to.scan(series, start, end)?;
                if fingerprint(&have) != *want {
                    let mut source = from.scan(series, start, end)?;
                    to.as_stored(&mut source)?;
                    let (missing, extra, different) = diff(&source, &have);
                    return Err(ReadError::CopyDiffers {
                        month: format!("{series} {m}"),
                        from: from.location(),
                        to: to.location(),
                        source_rows: source.len() as u64,
                        target_rows: have.len() as u64,
                        missing,
                        extra,
                        different,
                    }
                    .into());
                }
            }
            let entries: Vec<ManifestEntry> = copied.into_iter().map(|(e, _)| e).collect();
            to.record(&entries)?;
            report.months += entries.len() as u64;
            report.rows += entries.iter().map(|e| e.rows).sum::<u64>();
        }
    }
    report.actions = copy_actions(from, to, symbols)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Copies the corporate action versions of `symbols` (all when empty) that `to` lacks,
/// with the times they were recorded, so that reads as of any date agree; returns how
/// many.
fn copy_actions(from: &dyn Store, to: &dyn Store, symbols: &[String]) -> Result<u64> {
    // a version is its action's key and the time it was recorded
    let have: HashSet<(String, i64, &str, i64)> = to
        .actions(None)?
        .into_iter()
        .map(|a| (a.symbol, a.ex_date, a.event.kind(), a.recorded))
        .collect();
    let new: Vec<Action> = from
        .actions(None)?
        .into_iter()
        .filter(|a| symbols.is_empty() || symbols.contains(&a.symbol))
        .filter(|a| !have.contains(&(a.symbol.clone(), a.ex_date, a.event.kind(), a.recorded)))
        .collect();
    to.put_actions(&new)?;
    Ok(new.len() as u64)
}

/// xxh3-128 (hex) of every value of `bars`, column by column: equal for two batches
/// exactly when they hold the same bars (every missing volume hashes alike).
fn fingerprint(bars: &Bars) -> String {
    let mut h = Xxh3::new();
    let mut bytes = Vec::with_capacity(bars.len() * 8);
    bytes.extend(bars.ts.iter().flat_map(|t| t.to_le_bytes()));
    h.update(&bytes);
    for column in [&bars.open, &bars.high, &bars.low, &bars.close, &bars.volume] {
        bytes.clear();
        bytes.extend(column.iter().flat_map(|v| {
            let v = if v.is_nan() { f64::NAN } else { *v };
            v.to_bits().to_le_bytes()
        }));
        h.update(&bytes);
    }
    format!("{:032x}", h.digest128())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_differ_by_any_value_and_agree_on_missing_volumes() {
        let mut a = Bars::default();
        a.push((60_000, [1.0, 2.0, 0.5, 1.5, f64::NAN]));
        let mut b = a.clone();
        b.volume[0] = -f64::NAN;
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let mut c = a.clone();
        c.close[0] = 1.25;
        assert_ne!(fingerprint(&a), fingerprint(&c));
        let mut d = a.clone();
        d.ts[0] += 60_000;
        assert_ne!(fingerprint(&a), fingerprint(&d));
        assert_ne!(fingerprint(&a), fingerprint(&Bars::default()));
    }
}
