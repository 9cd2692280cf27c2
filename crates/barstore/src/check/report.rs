//! What a check found, series by series and day by day, and how it is shown: the table
//! of flagged days, and the splits found as an actions file.

use super::*;

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
    /// The day, days since 1970-01-01 (the exchange's date).
    #[serde(skip)]
    pub day: i64,
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

impl Run {
    /// `HH:MM` for one bar, `HH:MM-HH:MM` for more.
    pub fn label(&self) -> String {
        match self.bars {
            1 => self.from.clone(),
            _ => format!("{}-{}", self.from, self.to),
        }
    }
}

impl Jump {
    /// `spike 11:00 +30.0%`.
    pub fn label(&self) -> String {
        format!("{} {} {:+.1}%", self.kind, self.time, self.change * 100.0)
    }
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

    pub(super) fn describe(&self) -> Vec<String> {
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
                let runs: Vec<String> = runs.iter().map(Run::label).collect();
                out.push(format!("missing {}", runs.join(" ")));
            }
        }
        if self.zero_volume > 0 {
            out.push(format!("{} zero-volume", self.zero_volume));
        }
        out.extend(self.jumps.iter().map(Jump::label));
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
