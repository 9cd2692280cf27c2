//! Data checks: what a stored series holds day by day against its exchange calendar,
//! and the anomalies a vendor's file carries (missing minutes, bars on closed days,
//! zero-volume bars, price spikes, unadjusted splits).
//!
//! The thresholds are robust: a jump is a close-to-close return many median absolute
//! deviations away from the series' median return (never less than [`MIN_JUMP`]), so a
//! volatile symbol is judged against itself; an unadjusted split is an overnight gap
//! whose ratio lies within [`SPLIT_TOLERANCE`] of a usual split ratio.

use crate::error::Result;
use crate::exchange::{Calendar, Session};
use crate::read::{read, resolve_series, ReadRequest, SessionFilter};
use crate::series::Series;
use crate::store::Store;
use crate::zone::{format_date, DAY};
use serde::Serialize;
use std::io::Write;

mod report;

pub use report::{write_suggested_actions, write_table, DayReport, Jump, Run, SeriesReport, Split};

/// How many (scaled) median absolute deviations from the median return make a jump.
pub const JUMP_MADS: f64 = 25.0;
/// The smallest return that counts as a jump, whatever the series' deviation.
pub const MIN_JUMP: f64 = 0.02;
/// How close (relative) an overnight ratio must be to a split ratio to look like one.
pub const SPLIT_TOLERANCE: f64 = 0.02;

/// Split ratios (new shares : old shares) and the price ratio each leaves behind.
const SPLITS: &[(&str, f64)] = &[
    ("2:1", 1.0 / 2.0),
    ("3:1", 1.0 / 3.0),
    ("3:2", 2.0 / 3.0),
    ("4:1", 1.0 / 4.0),
    ("5:1", 1.0 / 5.0),
    ("7:1", 1.0 / 7.0),
    ("10:1", 1.0 / 10.0),
    ("20:1", 1.0 / 20.0),
    ("1:2", 2.0),
    ("1:3", 3.0),
    ("1:4", 4.0),
    ("1:5", 5.0),
    ("1:8", 8.0),
    ("1:10", 10.0),
    ("1:20", 20.0),
];

/// Checks one symbol's series over `req`'s range (the whole series without one).
/// `req.calendar` names the calendar (else the one of the series' zone); the session
/// filter, rounding, resampling and zone of `req` are not used.
pub fn check(store: &dyn Store, req: &ReadRequest) -> Result<SeriesReport> {
    let series = resolve_series(store, &req.symbol, req.timeframe, req.adjustment.as_ref())?;
    let exchange_zone = store
        .zone_of(&series)?
        .ok_or_else(|| crate::ReadError::UnknownSymbol(req.symbol.clone()))?;
    let calendar = req
        .calendar
        .unwrap_or_else(|| Calendar::for_zone(&exchange_zone));
    let zone = calendar.zone().unwrap_or(&exchange_zone).to_string();
    let frame = read(
        store,
        &ReadRequest {
            symbol: req.symbol.clone(),
            start: req.start.clone(),
            end: req.end.clone(),
            session: SessionFilter::All,
            round: None,
            resample: None,
            tz: Some(zone.clone()),
            timeframe: Some(series.timeframe),
            adjustment: Some(series.adjustment.clone()),
            calendar: None,
            adjust: None,
            as_of: None,
            version: None,
        },
    )?;
    let first = match &req.start {
        Some(b) => Some(b.day()),
        None => frame.local.first().map(|t| t.div_euclid(DAY)),
    };
    let last = match &req.end {
        Some(b) => Some(b.day()),
        None => frame.local.last().map(|t| t.div_euclid(DAY)),
    };
    let mut days = Vec::new();
    let mut regular = Vec::new();
    if let (Some(first), Some(last)) = (first, last) {
        let mut at = 0;
        for day in first..=last {
            let end = at + frame.local[at..].partition_point(|t| t.div_euclid(DAY) == day);
            let session = calendar.session(day);
            if session.is_some() || end > at {
                let report = day_report(&series, &frame, at..end, day, session, |i, secs| {
                    regular.push(Regular {
                        day: days.len(),
                        secs,
                        open: frame.bars.open[i],
                        close: frame.bars.close[i],
                    })
                });
                days.push(report);
            }
            at = end;
        }
    }
    let threshold = flag_moves(&mut days, &regular);
    for d in &mut days {
        d.flagged = d.is_flagged();
        d.findings = d.describe();
    }
    Ok(SeriesReport {
        symbol: series.symbol.clone(),
        timeframe: series.timeframe.to_string(),
        adjustment: series.adjustment.to_string(),
        zone,
        jump_threshold: threshold,
        days,
    })
}

/// A regular bar, as the jump and split passes need it.
struct Regular {
    /// Index of its day in the report.
    day: usize,
    /// Its start, seconds after local midnight.
    secs: i64,
    open: f64,
    close: f64,
}

/// Counts one day's bars against its session; `regular(i, secs)` is told each regular
/// bar (index in the frame, start time of day).
fn day_report(
    series: &Series,
    frame: &crate::read::Frame,
    bars: std::ops::Range<usize>,
    day: i64,
    session: Option<Session>,
    mut regular: impl FnMut(usize, i64),
) -> DayReport {
    let step = series.timeframe.seconds();
    let daily = series.timeframe.is_daily();
    // sessions open on the half hour: only bars that divide it have a fixed grid
    let gridded = !daily && 1800 % step == 0;
    let b = &frame.bars;
    let mut report = DayReport {
        day,
        date: format_date(day),
        trading: session.is_some(),
        close: session.map(|s| hhmm(s.close)).unwrap_or_default(),
        expected: None,
        present: 0,
        missing: 0,
        missing_runs: Vec::new(),
        outside: 0,
        zero_volume: 0,
        flat: 0,
        jumps: Vec::new(),
        split: None,
        flagged: false,
        findings: Vec::new(),
    };
    let Some(session) = session else {
        report.outside = bars.len() as u32;
        return report;
    };
    let mut slots = vec![
        false;
        if gridded {
            session.bars(step) as usize
        } else {
            0
        }
    ];
    for i in bars {
        let secs = frame.local[i].rem_euclid(DAY);
        if !daily && !(session.open..session.close).contains(&secs) {
            report.outside += 1;
            continue;
        }
        report.present += 1;
        if gridded && (secs - session.open) % step == 0 {
            slots[((secs - session.open) / step) as usize] = true;
        }
        if b.volume[i] == 0.0 {
            report.zero_volume += 1;
        }
        if b.open[i] == b.high[i] && b.high[i] == b.low[i] && b.low[i] == b.close[i] {
            report.flat += 1;
        }
        regular(i, secs);
    }
    if daily {
        report.expected = Some(1);
        report.missing = u32::from(report.present == 0);
    } else if gridded {
        report.expected = Some(slots.len() as u32);
        report.missing = slots.iter().filter(|&&s| !s).count() as u32;
        report.missing_runs = runs(&slots, session.open, step);
    }
    report
}

/// The runs of `false` in `slots`, slot `k` starting at `open + k * step`.
fn runs(slots: &[bool], open: i64, step: i64) -> Vec<Run> {
    let mut out = Vec::new();
    let mut k = 0;
    while k < slots.len() {
        if slots[k] {
            k += 1;
            continue;
        }
        let start = k;
        while k < slots.len() && !slots[k] {
            k += 1;
        }
        out.push(Run {
            from: hhmm(open + start as i64 * step),
            to: hhmm(open + (k - 1) as i64 * step),
            bars: (k - start) as u32,
        });
    }
    out
}

/// Flags intraday jumps and spikes and split-like overnight gaps; returns the jump
/// threshold used.
fn flag_moves(days: &mut [DayReport], regular: &[Regular]) -> f64 {
    // ln returns: close to close within a day, open over the last close across days
    let moves: Vec<(usize, f64, bool)> = regular
        .windows(2)
        .enumerate()
        .filter_map(|(k, w)| {
            let overnight = w[0].day != w[1].day;
            let to = if overnight { w[1].open } else { w[1].close };
            (w[0].close > 0.0 && to > 0.0).then(|| (k + 1, (to / w[0].close).ln(), overnight))
        })
        .collect();
    let intraday: Vec<f64> = moves.iter().filter(|m| !m.2).map(|m| m.1).collect();
    let threshold = jump_threshold(&intraday);
    let mut k = 0;
    while k < moves.len() {
        let (at, ret, overnight) = moves[k];
        let bar = &regular[at];
        if overnight {
            let ratio = ret.exp();
            if let Some((label, _)) = SPLITS
                .iter()
                .find(|(_, r)| (ratio / r - 1.0).abs() <= SPLIT_TOLERANCE)
            {
                days[bar.day].split = Some(Split {
                    ratio,
                    looks_like: label,
                });
            }
        } else if ret.abs() > threshold.ln_1p() {
            // a spike comes back on the next bar of the same day
            let back = moves.get(k + 1).is_some_and(|&(_, next, o)| {
                !o && next.signum() != ret.signum() && next.abs() > threshold.ln_1p() / 2.0
            });
            days[bar.day].jumps.push(Jump {
                kind: if back { "spike" } else { "jump" },
                time: hhmm(bar.secs),
                change: ret.exp_m1(),
            });
            if back {
                k += 1;
            }
        }
        k += 1;
    }
    threshold
}

/// The relative move beyond which a return is a jump: [`JUMP_MADS`] scaled median
/// absolute deviations from the median, at least [`MIN_JUMP`].
fn jump_threshold(returns: &[f64]) -> f64 {
    let median = |v: &mut Vec<f64>| {
        if v.is_empty() {
            return 0.0;
        }
        let mid = v.len() / 2;
        *v.select_nth_unstable_by(mid, f64::total_cmp).1
    };
    let mut r = returns.to_vec();
    let center = median(&mut r);
    let mut dev: Vec<f64> = returns.iter().map(|x| (x - center).abs()).collect();
    let mad = median(&mut dev) * 1.4826;
    (center.abs() + JUMP_MADS * mad).exp_m1().max(MIN_JUMP)
}

fn hhmm(secs: i64) -> String {
    format!("{:02}:{:02}", secs / 3600, secs / 60 % 60)
}
