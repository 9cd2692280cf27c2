//! Copying bars between stores (embedded <-> CQL, text layout -> typed), series by
//! series, one year of one series in memory at a time, and the corporate actions of
//! the copied symbols with them.
//!
//! Each copied month is recorded in the target's manifest as
//! `copy:<source>/<symbol>/<timeframe>/<adjustment>/<month>`; a rerun skips recorded
//! months (unless forced), so
//! an interrupted copy resumes where it stopped. Writes replace rows by time, so
//! copying a month twice is harmless.

use crate::actions::Action;
use crate::bucket::Month;
use crate::error::{ReadError, Result};
use crate::load::Progress;
use crate::series::Series;
use crate::store::{ManifestEntry, MonthBars, Store};
use crate::zone::Zone;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

/// The outcome of a copy.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CopyReport {
    /// Series visited.
    pub series: u64,
    /// Months copied.
    pub months: u64,
    /// Months skipped as already copied.
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
    let done = to.manifest()?;
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
        let mut by_year: BTreeMap<i32, Vec<Month>> = BTreeMap::new();
        for m in from.months(series)? {
            if !force && done.contains_key(&key(m)) {
                report.skipped += 1;
            } else {
                by_year.entry(m.year).or_default().push(m);
            }
        }
        for months in by_year.into_values() {
            let mut batch = Vec::new();
            for m in months {
                let start = zone.bound_to_utc_ms(m.start_local())?;
                let end = zone.bound_to_utc_ms(m.next().start_local())? - 1;
                let bars = from.scan(series, start, end)?;
                progress.advance(0, bars.len() as u64);
                batch.push(MonthBars { month: m, bars });
            }
            let counts: Vec<(Month, u64)> = batch
                .iter()
                .map(|m| (m.month, m.bars.len() as u64))
                .collect();
            to.upsert(series, &zone, batch)?;
            let entries: Vec<ManifestEntry> = counts
                .into_iter()
                .map(|(m, rows)| ManifestEntry {
                    source: key(m),
                    size: 0,
                    mtime_ns: 0,
                    hash: String::new(),
                    rows,
                    symbol: series.symbol.clone(),
                    timeframe: series.timeframe.to_string(),
                    adjustment: series.adjustment.to_string(),
                })
                .collect();
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
