//! Copying bars between stores (embedded <-> CQL, text layout -> typed), one year of
//! one symbol in memory at a time.
//!
//! Each copied month is recorded in the target's manifest as
//! `copy:<source>/<symbol>/<month>`; a rerun skips recorded months (unless forced), so
//! an interrupted copy resumes where it stopped. Writes replace rows by time, so
//! copying a month twice is harmless.

use crate::bucket::Month;
use crate::calendar::Zone;
use crate::error::{Error, Result};
use crate::load::Progress;
use crate::store::{ManifestEntry, MonthBars, Store};
use std::collections::BTreeMap;
use std::time::Instant;

/// The outcome of a copy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CopyReport {
    /// Symbols visited.
    pub symbols: u64,
    /// Months copied.
    pub months: u64,
    /// Months skipped as already copied.
    pub skipped: u64,
    /// Rows copied.
    pub rows: u64,
    /// Wall time.
    pub seconds: f64,
}

/// Copies `symbols` (every symbol when empty) from one store to another.
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
    let symbols: Vec<String> = if symbols.is_empty() {
        from.symbols()?.into_iter().map(|s| s.symbol).collect()
    } else {
        symbols.to_vec()
    };
    let mut report = CopyReport::default();
    for symbol in &symbols {
        let zone_name = from
            .zone_of(symbol)?
            .ok_or_else(|| Error::UnknownSymbol(symbol.clone()))?;
        if let Some(stored) = to.zone_of(symbol)? {
            if stored != zone_name {
                return Err(Error::Invalid(format!(
                    "{symbol} is stored in {} with time zone {stored}, in {} with {zone_name}",
                    to.location(),
                    from.location()
                )));
            }
        }
        let zone = Zone::new(&zone_name)?;
        report.symbols += 1;
        let key = |m: Month| format!("copy:{}/{symbol}/{m}", from.location());
        let mut by_year: BTreeMap<i32, Vec<Month>> = BTreeMap::new();
        for m in from.months(symbol)? {
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
                let bars = from.scan(symbol, start, end)?;
                progress.advance(0, bars.len() as u64);
                batch.push(MonthBars { month: m, bars });
            }
            let counts: Vec<(Month, u64)> = batch
                .iter()
                .map(|m| (m.month, m.bars.len() as u64))
                .collect();
            to.upsert(symbol, &zone, batch)?;
            for (m, rows) in counts {
                to.record(&ManifestEntry {
                    source: key(m),
                    size: 0,
                    mtime_ns: 0,
                    hash: String::new(),
                    rows,
                    symbol: symbol.clone(),
                })?;
                report.months += 1;
                report.rows += rows;
            }
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
