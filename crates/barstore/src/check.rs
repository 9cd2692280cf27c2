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
use crate::read::{day_of, read, resolve_series, ReadRequest, SessionFilter};
use crate::series::Series;
use crate::store::Store;
use crate::zone::{civil_from_days, DAY};
use serde::Serialize;
use std::io::Write;

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

/// The check of one series.
#[derive(Clone, Debug, Serialize)]
pub struct SeriesReport {
    /// The symbol.
    pub symbol: String,
    /// Its timeframe.
    pub timeframe: String,
    /// Its adjustment.
    pub adjustment: String,
    /// The zone the days and times below are in.
    pub zone: String,
    /// The return beyond which a bar counts as a jump.
    pub jump_threshold: f64,
    /// Every trading day of the range, and every closed day that holds bars.
    pub days: Vec<DayReport>,
}

/// One day of a series.
#[derive(Clone, Debug, Serialize)]
pub struct DayReport {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// False on holidays and weekends.
    pub trading: bool,
    /// The session's close, `HH:MM` (empty on a closed day).
    pub close: String,
    /// Regular bars the session holds (`None` for timeframes the session does not
    /// divide into, such as 1h bars labelled on the hour).
    pub expected: Option<u32>,
    /// Regular bars present.
    pub present: u32,
    /// Regular bars missing.
    pub missing: u32,
    /// Runs of missing bars, by the start times of their first and last bar.
    pub missing_runs: Vec<Run>,
    /// Bars outside the regular session (every bar of a closed day).
    pub outside: u32,
    /// Regular bars with zero volume.
    pub zero_volume: u32,
    /// Regular bars with open = high = low = close (a single trade, or a filled gap).
    pub flat: u32,
    /// Close-to-close moves beyond the threshold.
    pub jumps: Vec<Jump>,
    /// An overnight gap that looks like an unadjusted split.
    pub split: Option<Split>,
    /// True when the day shows a problem (see [`DayReport::is_flagged`]).
    pub flagged: bool,
    /// The day's findings in words.
    pub findings: Vec<String>,
}

/// A run of missing bars.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Run {
    /// Start time of the first missing bar, `HH:MM`.
    pub from: String,
    /// Start time of the last missing bar, `HH:MM`.
    pub to: String,
    /// How many bars.
    pub bars: u32,
}

/// A price move beyond the threshold.
#[derive(Clone, Debug, Serialize)]
pub struct Jump {
    /// `jump` (the price stays) or `spike` (it comes back on the next bar).
    pub kind: &'static str,
    /// Start time of the bar, `HH:MM`.
    pub time: String,
    /// The move, as a relative change of the close.
    pub change: f64,
}

/// An overnight gap at a split ratio.
#[derive(Clone, Debug, Serialize)]
pub struct Split {
    /// Today's first regular open over the previous session's last regular close.
    pub ratio: f64,
    /// The split it looks like (`2:1`: two new shares for one, the price halves).
    pub looks_like: &'static str,
}

impl Split {
    /// `(split_from, split_to)`: old and new shares, as an actions file holds them.
    pub fn shares(&self) -> (f64, f64) {
        let (new, old) = self
            .looks_like
            .split_once(':')
            .expect("split labels are N:M");
        (
            old.parse().expect("split labels are numbers"),
            new.parse().expect("split labels are numbers"),
        )
    }
}

/// Writes the splits `reports` found as an actions file (`symbol,ex_date,split_from,
/// split_to`, one row per symbol and day) for the user to review and load; returns the
/// number of rows.
pub fn write_suggested_actions(
    reports: &[SeriesReport],
    out: &mut dyn Write,
) -> std::io::Result<usize> {
    let mut rows = std::collections::BTreeMap::new();
    for r in reports {
        for d in &r.days {
            if let Some(s) = &d.split {
                rows.entry((r.symbol.as_str(), d.date.as_str()))
                    .or_insert(s.shares());
            }
        }
    }
    writeln!(out, "symbol,ex_date,split_from,split_to")?;
    for ((symbol, date), (from, to)) in &rows {
        writeln!(out, "{symbol},{date},{from},{to}")?;
    }
    out.flush()?;
    Ok(rows.len())
}

impl DayReport {
    /// True when the day shows a problem: missing regular bars, bars on a closed day,
    /// zero-volume bars, jumps or a split-like gap. Extended-hours and flat bars are
    /// shown but not flagged: many vendors ship both as a matter of course.
    pub fn is_flagged(&self) -> bool {
        self.missing > 0
            || (!self.trading && self.outside > 0)
            || self.zero_volume > 0
            || !self.jumps.is_empty()
            || self.split.is_some()
    }

    fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.trading {
            out.push(format!("{} bars on a closed day", self.outside));
        }
        match self.missing_runs.as_slice() {
            [] => {}
            runs @ [_, _, _, _, ..] => {
                let longest = runs.iter().max_by_key(|r| r.bars).expect("runs");
                out.push(format!(
                    "missing {} bars in {} runs, the longest {}-{}",
                    self.missing,
                    runs.len(),
                    longest.from,
                    longest.to
                ));
            }
            runs => {
                let runs: Vec<String> = runs
                    .iter()
                    .map(|r| match r.bars {
                        1 => r.from.clone(),
                        _ => format!("{}-{}", r.from, r.to),
                    })
                    .collect();
                out.push(format!("missing {}", runs.join(" ")));
            }
        }
        if self.zero_volume > 0 {
            out.push(format!("{} zero-volume", self.zero_volume));
        }
        for j in &self.jumps {
            out.push(format!("{} {} {:+.1}%", j.kind, j.time, j.change * 100.0));
        }
        if let Some(s) = &self.split {
            out.push(format!(
                "overnight x{:.3}: unadjusted {} split?",
                s.ratio, s.looks_like
            ));
        }
        out
    }
}

impl SeriesReport {
    /// The days that show a problem.
    pub fn flagged(&self) -> impl Iterator<Item = &DayReport> {
        self.days.iter().filter(|d| d.flagged)
    }
}

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
        },
    )?;
    let first = match &req.start {
        Some(s) => Some(day_of(s)?),
        None => frame.local.first().map(|t| t.div_euclid(DAY)),
    };
    let last = match &req.end {
        Some(s) => Some(day_of(s)?),
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
    let (y, m, d) = civil_from_days(day);
    let step = series.timeframe.seconds();
    let daily = series.timeframe.is_daily();
    // sessions open on the half hour: only bars that divide it have a fixed grid
    let gridded = !daily && 1800 % step == 0;
    let b = &frame.bars;
    let mut report = DayReport {
        date: format!("{y:04}-{m:02}-{d:02}"),
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

/// Writes the flagged days of each report as a table, with a summary line per series.
pub fn write_table(reports: &[SeriesReport], out: &mut dyn Write) -> std::io::Result<()> {
    for r in reports {
        let trading = r.days.iter().filter(|d| d.trading).count();
        let expected: u32 = r.days.iter().filter_map(|d| d.expected).sum();
        let present: u32 = r.days.iter().map(|d| d.present).sum();
        let outside: u32 = r.days.iter().map(|d| d.outside).sum();
        let flat: u32 = r.days.iter().map(|d| d.flat).sum();
        let flagged: Vec<&DayReport> = r.flagged().collect();
        writeln!(
            out,
            "{} {} {} ({}): {trading} trading days, {present} of {expected} regular bars, {outside} outside the session, {flat} flat; {} days flagged (jump threshold {:.1}%)",
            r.symbol,
            r.timeframe,
            r.adjustment,
            r.zone,
            flagged.len(),
            r.jump_threshold * 100.0
        )?;
        if flagged.is_empty() {
            continue;
        }
        writeln!(
            out,
            "  date        close  expected  present  outside  findings"
        )?;
        for d in flagged {
            writeln!(
                out,
                "  {}  {:>5}  {:>8}  {:>7}  {:>7}  {}",
                d.date,
                d.close,
                d.expected.map(|e| e.to_string()).unwrap_or_default(),
                d.present,
                d.outside,
                d.findings.join("; ")
            )?;
        }
    }
    out.flush()
}
