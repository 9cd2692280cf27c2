//! The hot path: bytes of complete lines in, columnar bars and rejected rows out.
//!
//! Pure over bytes (no I/O), so it can run on many chunks of one file at once and be
//! benchmarked without files. Each line is checked in full: a row that fails any check
//! becomes a [`Reject`] with its line number and reason, and never affects its
//! neighbours. Lines of the reference layout take a [`fast`] path that reads them
//! exactly as the general one does.

mod fast;

use crate::bars::Bars;
use crate::bucket::Month;
use crate::error::OptionError;
use crate::format::{EpochUnit, Field, Layout};
use crate::zone::{civil_from_days, days_from_civil, days_in_month, LocalTimeError, Zone, DAY};

/// The longest line a bar file may have. A bar row is under 200 bytes; a longer line is
/// rejected (its first [`RAW_MAX`] bytes logged), and the reader of a file cuts out a
/// line that runs past its block, so that a file without line ends (a binary file, a
/// stream of NULs) costs bounded memory and time.
pub const MAX_LINE: usize = 64 * 1024;

/// How much of a rejected line the error log keeps, in bytes.
pub const RAW_MAX: usize = 256;

/// A rejected line as the error log keeps it: its first [`RAW_MAX`] bytes, with `…` when
/// there were more.
pub(crate) fn raw_text(line: &[u8]) -> String {
    if line.len() <= RAW_MAX {
        return String::from_utf8_lossy(line).into_owned();
    }
    let mut raw = String::from_utf8_lossy(&line[..RAW_MAX]).into_owned();
    raw.push('…');
    raw
}

/// Why a line longer than [`MAX_LINE`] is rejected.
pub(crate) fn too_long(len: u64) -> String {
    format!(
        "line is {len} bytes long, more than the {} KiB a bar row may have",
        MAX_LINE / 1024
    )
}

/// The years, inclusive, that a bar's time may fall in. A time outside them is rejected
/// with its line: an epoch number in an unexpected unit, or a typo in a year, must not
/// load as a bar of the far future or past (which some stores cannot even read back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Years {
    /// The first year.
    pub first: i64,
    /// The last year.
    pub last: i64,
}

impl Default for Years {
    fn default() -> Self {
        Years {
            first: 1900,
            last: 2100,
        }
    }
}

impl Years {
    /// The UTC milliseconds from the first year's start to the end of the last.
    fn bounds_ms(self) -> (i64, i64) {
        (
            days_from_civil(self.first, 1, 1) * DAY * 1000,
            days_from_civil(self.last + 1, 1, 1) * DAY * 1000,
        )
    }
}

impl std::str::FromStr for Years {
    type Err = OptionError;

    /// `FIRST..LAST` (or `FIRST-LAST`), years of four digits.
    fn from_str(s: &str) -> Result<Self, OptionError> {
        let bad = || OptionError::new("years", s, "use FIRST..LAST, e.g. 1900..2100");
        let (first, last) = s
            .split_once("..")
            .or_else(|| s.split_once('-'))
            .ok_or_else(bad)?;
        let year = |y: &str| match y.trim().parse::<i64>() {
            Ok(y) if (1..=9999).contains(&y) => Ok(y),
            _ => Err(bad()),
        };
        let (first, last) = (year(first)?, year(last)?);
        if first > last {
            return Err(bad());
        }
        Ok(Years { first, last })
    }
}

/// Whether a logged row was dropped or loaded with a warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The row was not loaded.
    Rejected,
    /// The row was loaded; something about it looks wrong.
    Warning,
}

/// A row the error log records: where it is, what it said and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Reject {
    /// 1-based line number in the file.
    pub line: u64,
    /// The line as written (without its line ending), or empty when not kept.
    pub raw: String,
    /// What is wrong, in words a user can act on.
    pub reason: String,
    /// Whether the row was dropped.
    pub severity: Severity,
}

/// What parsing one chunk of lines produced.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The good rows, in file order (not yet sorted or de-duplicated).
    pub bars: Bars,
    /// The exchange-local month of each good row.
    pub months: Vec<Month>,
    /// 1-based line number (within the chunk) of each good row.
    pub lines: Vec<u32>,
    /// Rejected rows and warnings, with line numbers within the chunk.
    pub rejects: Vec<Reject>,
    /// Number of lines in the chunk.
    pub line_count: u64,
}

/// Parses rows of one layout in one exchange time zone. Cheap to clone: one per thread.
#[derive(Clone, Debug)]
pub struct Parser {
    layout: Layout,
    zone: Zone,
    years: Years,
    /// `years` as UTC milliseconds, start inclusive, end exclusive.
    bounds: (i64, i64),
    month_cache: (i64, Month),
    date_cache: ([u8; 10], i64, usize),
    /// Whether lines try the [`fast`] path first.
    fast: bool,
}

fn digits2(s: &[u8]) -> Option<u32> {
    let (a, b) = (s[0].wrapping_sub(b'0'), s[1].wrapping_sub(b'0'));
    (a < 10 && b < 10).then(|| (a * 10 + b) as u32)
}

fn digits4(s: &[u8]) -> Option<u32> {
    Some(digits2(&s[..2])? * 100 + digits2(&s[2..4])?)
}

/// Parses `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYYMMDD` at the start of `s`; returns days
/// since the epoch and the length consumed.
pub(crate) fn parse_date(s: &[u8]) -> Option<(i64, usize)> {
    let (y, m, d, n) = if s.len() >= 10 && (s[4] == b'-' || s[4] == b'/') && s[7] == s[4] {
        (digits4(s)?, digits2(&s[5..7])?, digits2(&s[8..10])?, 10)
    } else if s.len() >= 8 {
        (digits4(s)?, digits2(&s[4..6])?, digits2(&s[6..8])?, 8)
    } else {
        return None;
    };
    let y = y as i64;
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m))
        .then(|| (days_from_civil(y, m, d), n))
}

/// Parses `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fff` at the start of `s`; returns
/// milliseconds since midnight and the length consumed.
pub(crate) fn parse_time(s: &[u8]) -> Option<(i64, usize)> {
    if s.len() < 5 || s[2] != b':' {
        return None;
    }
    let (h, m) = (digits2(s)?, digits2(&s[3..5])?);
    let mut sec = 0;
    let mut n = 5;
    if s.len() >= 8 && s[5] == b':' {
        sec = digits2(&s[6..8])?;
        n = 8;
    }
    let mut ms = 0i64;
    if s.len() > n + 1 && s[n] == b'.' {
        let frac = s[n + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if frac == 0 {
            return None;
        }
        for (k, c) in s[n + 1..n + 1 + frac].iter().enumerate() {
            if k < 3 {
                ms = ms * 10 + (c - b'0') as i64;
            }
        }
        ms *= 10i64.pow(3u32.saturating_sub(frac as u32));
        n += 1 + frac;
    }
    (h < 24 && m < 60 && sec < 60).then(|| ((h * 3600 + m * 60 + sec) as i64 * 1000 + ms, n))
}

/// Parses an explicit UTC offset suffix: `Z`, `+HH:MM`, `-HHMM` or `+HH`.
fn parse_offset(s: &[u8]) -> Option<i64> {
    match s {
        [b'Z'] | [b'z'] => Some(0),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest.len() {
                2 => (digits2(rest)?, 0),
                4 => (digits2(rest)?, digits2(&rest[2..])?),
                5 if rest[2] == b':' => (digits2(rest)?, digits2(&rest[3..])?),
                _ => return None,
            };
            let secs = (h * 3600 + m * 60) as i64;
            Some(if *sign == b'-' { -secs } else { secs })
        }
        _ => None,
    }
}

/// Trims spaces, tabs and surrounding double quotes from a field.
#[inline]
fn clean(f: &[u8]) -> &[u8] {
    let f = f.trim_ascii();
    match f {
        [b'"', inner @ .., b'"'] => inner.trim_ascii(),
        _ => f,
    }
}

/// A wall-clock time in the file, or an instant already in UTC.
enum When {
    LocalMs(i64),
    UtcMs(i64),
}

impl Parser {
    /// A parser for `layout` whose wall-clock times are in `zone`, taking times of the
    /// default [`Years`].
    pub fn new(layout: Layout, zone: Zone) -> Self {
        let years = Years::default();
        Parser {
            fast: layout.fields == crate::format::FIRSTRATE,
            layout,
            zone,
            years,
            bounds: years.bounds_ms(),
            month_cache: (i64::MIN, Month { year: 0, month: 1 }),
            date_cache: ([0; 10], 0, 0),
        }
    }

    /// The same parser with every line on the general path, to hold the fast path to it.
    #[cfg(test)]
    fn general(mut self) -> Self {
        self.fast = false;
        self
    }

    /// The same parser taking times of `years`.
    pub fn with_years(mut self, years: Years) -> Self {
        self.years = years;
        self.bounds = years.bounds_ms();
        self
    }

    /// The layout this parser reads.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    #[inline]
    fn month(&mut self, local_secs: i64) -> Month {
        let day = local_secs.div_euclid(DAY);
        if self.month_cache.0 != day {
            self.month_cache = (day, Month::of_local(local_secs));
        }
        self.month_cache.1
    }

    /// Adds a good row at `line_no` (local seconds `local`) to `out`.
    #[inline]
    fn keep(&mut self, out: &mut Parsed, line_no: u32, local: i64, row: crate::bars::Row) {
        out.bars.push(row);
        let month = self.month(local);
        out.months.push(month);
        out.lines.push(line_no);
    }

    /// Parses every line of `chunk` (which must end at a line boundary) into `out`.
    pub fn parse_chunk(&mut self, chunk: &[u8]) -> Parsed {
        let mut out = Parsed {
            bars: Bars::with_capacity(chunk.len() / 48),
            months: Vec::with_capacity(chunk.len() / 48),
            lines: Vec::with_capacity(chunk.len() / 48),
            ..Parsed::default()
        };
        let mut start = 0;
        let mut line_no = 0u32;
        while start < chunk.len() {
            line_no += 1;
            let data = &chunk[start..];
            if data[0].is_ascii_whitespace() {
                let end = memchr::memchr(b'\n', data).unwrap_or(data.len());
                if data[..end].trim_ascii().is_empty() {
                    start += end + 1;
                    continue;
                }
            }
            if self.fast {
                if let Some((end, local, ts, values)) = self.fast_line(data) {
                    start += end + 1;
                    self.keep(&mut out, line_no, local, (ts, values));
                    continue;
                }
            }
            let (end, mut result) = self.parse_line(data);
            start += end + 1;
            if end > MAX_LINE {
                result = Err(too_long(end as u64));
            }
            let raw = || {
                let line = &data[..end];
                raw_text(line.strip_suffix(b"\r").unwrap_or(line))
            };
            match result {
                Ok((local, ts, values, warning)) => {
                    self.keep(&mut out, line_no, local, (ts, values));
                    if let Some(reason) = warning {
                        out.rejects.push(Reject {
                            line: line_no as u64,
                            raw: raw(),
                            reason,
                            severity: Severity::Warning,
                        });
                    }
                }
                Err(reason) => out.rejects.push(Reject {
                    line: line_no as u64,
                    raw: raw(),
                    reason,
                    severity: Severity::Rejected,
                }),
            }
        }
        out.line_count = line_no as u64;
        out
    }

    /// Refuses a time outside the parser's [`Years`]; `epoch` is the number and unit it
    /// was read from, if any.
    fn check_years(&self, utc_ms: i64, epoch: Option<(i64, EpochUnit)>) -> Result<(), String> {
        if (self.bounds.0..self.bounds.1).contains(&utc_ms) {
            return Ok(());
        }
        let Years { first, last } = self.years;
        let year = match utc_ms {
            i64::MAX => "beyond any year".to_string(),
            ms => format!(
                "in the year {}",
                civil_from_days(ms.div_euclid(DAY * 1000)).0
            ),
        };
        Err(match epoch {
            Some((v, unit)) => format!(
                "epoch {v} read as {} is {year}, outside the years {first}..{last}: give its unit with --epoch-unit, or the years with --years",
                unit.name()
            ),
            None => format!(
                "time is {year}, outside the years {first}..{last}: widen them with --years"
            ),
        })
    }

    /// Parses the line at the start of `data`; returns where it ends (the index of its
    /// `\n`, or `data.len()`) and its bar or the reason it is rejected.
    #[allow(clippy::type_complexity)]
    fn parse_line(
        &mut self,
        data: &[u8],
    ) -> (usize, Result<(i64, i64, [f64; 5], Option<String>), String>) {
        let mut line_end = None;
        let result = self.parse_fields(data, &mut line_end);
        let end = line_end.unwrap_or_else(|| memchr::memchr(b'\n', data).unwrap_or(data.len()));
        (end, result)
    }

    /// Parses the fields of the line at the start of `data`. Field scans stop at the
    /// delimiter or the line end, so a good line is read exactly once; `line_end` is
    /// set when the line was read to its end.
    #[allow(clippy::type_complexity)]
    fn parse_fields(
        &mut self,
        data: &[u8],
        line_end: &mut Option<usize>,
    ) -> Result<(i64, i64, [f64; 5], Option<String>), String> {
        let delimiter = self.layout.delimiter;
        let expected = self.layout.fields.len();
        let mut values = [f64::NAN; 5];
        let mut date_days: Option<i64> = None;
        let mut time_ms: Option<i64> = None;
        let mut when: Option<When> = None;
        let mut epoch: Option<(i64, EpochUnit)> = None;
        let mut pos = 0;
        for (k, &field) in self.layout.fields.iter().enumerate() {
            // Fields are short: a plain scan beats memchr's set-up cost here.
            let i = data[pos..]
                .iter()
                .position(|&b| b == delimiter || b == b'\n')
                .map_or(data.len(), |i| pos + i);
            let at_delimiter = i < data.len() && data[i] == delimiter;
            let last = k + 1 == expected;
            if !at_delimiter && !last {
                return Err(format!("expected {expected} fields, found {}", k + 1));
            }
            if at_delimiter && last {
                let end = memchr::memchr(b'\n', &data[i..]).map_or(data.len(), |e| i + e);
                let found =
                    expected + 1 + memchr::memchr_iter(delimiter, &data[i + 1..end]).count();
                return Err(format!("expected {expected} fields, found {found}"));
            }
            if last {
                *line_end = Some(i);
            }
            let raw = &data[pos..i];
            pos = i + 1;
            let f = clean(raw);
            let bad = |what: &str| {
                format!(
                    "field {} ({}): cannot parse {:?} as {what}",
                    k + 1,
                    field.name(),
                    String::from_utf8_lossy(f)
                )
            };
            match field {
                Field::DateTime => {
                    when = Some(
                        parse_datetime(f, &mut self.date_cache)
                            .ok_or_else(|| bad("a date-time"))?,
                    )
                }
                Field::Date => match parse_date(f) {
                    Some((d, n)) if n == f.len() => date_days = Some(d),
                    _ => return Err(bad("a date")),
                },
                Field::Time => match parse_time(f) {
                    Some((ms, n)) if n == f.len() => time_ms = Some(ms),
                    _ => return Err(bad("a time")),
                },
                Field::Epoch(unit) => {
                    let v: i64 = std::str::from_utf8(f)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| bad("an epoch number"))?;
                    let unit = unit.unwrap_or_else(|| EpochUnit::of_magnitude(v));
                    epoch = Some((v, unit));
                    when = Some(When::UtcMs(unit.to_ms(v).unwrap_or(i64::MAX)));
                }
                Field::Skip => {}
                Field::Volume if f.is_empty() => {}
                Field::Open | Field::High | Field::Low | Field::Close | Field::Volume => {
                    let v: f64 = fast_float2::parse(f).map_err(|_| bad("a number"))?;
                    let slot = match field {
                        Field::Open => 0,
                        Field::High => 1,
                        Field::Low => 2,
                        Field::Close => 3,
                        _ => 4,
                    };
                    values[slot] = v;
                }
            }
        }
        let when = match (when, date_days, time_ms) {
            (Some(w), _, _) => w,
            (None, Some(d), t) => When::LocalMs(d * DAY * 1000 + t.unwrap_or(0)),
            _ => return Err("no time in the row".into()),
        };
        let (local, utc_ms) = match when {
            When::LocalMs(ms) => {
                let secs = ms.div_euclid(1000);
                let utc = self.zone.local_to_utc_ms(secs).map_err(|e| match e {
                    LocalTimeError::Gap => format!(
                        "time does not exist in {} (skipped by a daylight-saving change)",
                        self.zone.name()
                    ),
                    LocalTimeError::OutOfRange => "time is out of range".to_string(),
                })?;
                let utc = utc + ms.rem_euclid(1000);
                self.check_years(utc, None)?;
                (secs, utc)
            }
            When::UtcMs(ms) => {
                self.check_years(ms, epoch)?;
                (self.zone.utc_ms_to_local(ms), ms)
            }
        };
        let [o, h, l, c, v] = values;
        for (name, p) in [("open", o), ("high", h), ("low", l), ("close", c)] {
            if !p.is_finite() {
                return Err(format!("{name} is not a finite number ({p})"));
            }
            if p <= 0.0 {
                return Err(format!("{name} is not positive ({p})"));
            }
        }
        if v.is_infinite() {
            return Err(format!("volume is not a finite number ({v})"));
        }
        if v < 0.0 {
            return Err(format!("volume is negative ({v})"));
        }
        if h < l {
            return Err(format!("high {h} is below low {l}"));
        }
        let warning = if !(l..=h).contains(&o) || !(l..=h).contains(&c) {
            Some(format!(
                "open {o} or close {c} is outside [low {l}, high {h}]; loaded as is"
            ))
        } else {
            None
        };
        Ok((local, utc_ms, values, warning))
    }
}

/// Parses a date-time field: local wall-clock unless it carries `Z` or an offset.
/// `last` caches the previous row's date text and day number: consecutive rows of a
/// minute-bar file share their date, and skipping the calendar arithmetic pays.
fn parse_datetime(f: &[u8], last: &mut ([u8; 10], i64, usize)) -> Option<When> {
    let (days, n) = if f.len() >= last.2 && last.2 > 0 && f[..last.2] == last.0[..last.2] {
        (last.1, last.2)
    } else {
        let (days, n) = parse_date(f)?;
        last.0[..n].copy_from_slice(&f[..n]);
        *last = (last.0, days, n);
        (days, n)
    };
    let rest = f.get(n..)?;
    let rest = match rest.first()? {
        b' ' | b'T' => rest[1..].trim_ascii_start(),
        _ => return None,
    };
    let (ms, n) = parse_time(rest)?;
    let local_ms = days * DAY * 1000 + ms;
    let tail = rest[n..].trim_ascii_start();
    if tail.is_empty() {
        Some(When::LocalMs(local_ms))
    } else {
        Some(When::UtcMs(local_ms - parse_offset(tail)? * 1000))
    }
}

#[cfg(test)]
mod tests;
