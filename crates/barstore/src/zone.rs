//! Civil dates and exchange time zones.
//!
//! Files hold exchange wall-clock times; the store keeps UTC instants (epoch
//! milliseconds). Converting every row through a time-zone database would dominate
//! the parse, so [`Zone`] caches the UTC offset of the current local (or UTC) day and
//! falls back to `jiff` only on days that contain a transition. Each parser thread
//! owns its own `Zone` (cloning is cheap), so the cache needs no locking.

use crate::error::{OptionError, ReadError};
use jiff::tz::{AmbiguousOffset, TimeZone};

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (no validation).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Number of days in a month.
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// `YYYY-MM-DD` of days since 1970-01-01.
pub fn format_date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Formats local seconds since the epoch as `YYYY-MM-DD HH:MM:SS`.
pub fn format_local(secs: i64, out: &mut String) {
    use std::fmt::Write;
    let (y, m, d) = civil_from_days(secs.div_euclid(DAY));
    let s = secs.rem_euclid(DAY);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    );
}

/// Why a wall-clock time has no single UTC instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTimeError {
    /// The time was skipped by a forward DST change (e.g. 02:30 on a spring-forward day).
    Gap,
    /// The time is outside the range the time-zone database handles.
    OutOfRange,
}

/// An exchange time zone with per-day offset caches for both directions.
#[derive(Clone, Debug)]
pub struct Zone {
    name: String,
    tz: TimeZone,
    local_day: Option<(i64, Option<i64>)>,
    utc_day: Option<(i64, Option<i64>)>,
}

impl Zone {
    /// Looks up an IANA zone name such as `America/New_York` (or `UTC`).
    pub fn new(name: &str) -> Result<Self, OptionError> {
        let tz = TimeZone::get(name).map_err(|_| {
            OptionError::new(
                "time zone",
                name,
                "it is not in the time zone database; use an IANA name such as America/New_York",
            )
        })?;
        Ok(Zone {
            name: name.to_string(),
            tz,
            local_day: None,
            utc_day: None,
        })
    }

    /// The zone's IANA name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The UTC offset (seconds) for a wall-clock time given as seconds since the local
    /// epoch. A time inside a DST gap is an error; a time inside a fold (repeated hour)
    /// takes its first occurrence, as most exchanges' feeds and `pandas.tz_localize(
    /// ambiguous="infer")` do for sorted data.
    fn local_offset_slow(&self, local: i64) -> Result<i64, LocalTimeError> {
        let dt = jiff::Timestamp::from_second(local)
            .map_err(|_| LocalTimeError::OutOfRange)?
            .to_zoned(TimeZone::UTC)
            .datetime();
        match self.tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => Ok(offset.seconds() as i64),
            AmbiguousOffset::Fold { before, .. } => Ok(before.seconds() as i64),
            AmbiguousOffset::Gap { .. } => Err(LocalTimeError::Gap),
        }
    }

    /// The offset shared by every wall-clock time of a local day, if the day has no
    /// transition.
    fn uniform_local_day(&self, day: i64) -> Option<i64> {
        let first = self.local_offset_slow(day * DAY).ok()?;
        let last = self.local_offset_slow(day * DAY + DAY - 1).ok()?;
        (first == last).then_some(first)
    }

    /// Converts local wall-clock seconds to UTC milliseconds.
    #[inline]
    pub fn local_to_utc_ms(&mut self, local: i64) -> Result<i64, LocalTimeError> {
        let day = local.div_euclid(DAY);
        let offset = match self.local_day {
            Some((d, Some(off))) if d == day => off,
            Some((d, None)) if d == day => self.local_offset_slow(local)?,
            _ => {
                let uniform = self.uniform_local_day(day);
                self.local_day = Some((day, uniform));
                match uniform {
                    Some(off) => off,
                    None => self.local_offset_slow(local)?,
                }
            }
        };
        Ok((local - offset) * 1000)
    }

    /// Converts a wall-clock time used as a query bound to UTC milliseconds: a time in
    /// a DST gap moves forward past the gap, a time in a fold takes its first occurrence.
    pub fn bound_to_utc_ms(&self, local: i64) -> Result<i64, ReadError> {
        let dt = jiff::Timestamp::from_second(local)
            .map_err(|source| ReadError::OutOfRange { source })?
            .to_zoned(TimeZone::UTC)
            .datetime();
        let ts = self
            .tz
            .to_ambiguous_timestamp(dt)
            .compatible()
            .map_err(|source| ReadError::OutOfRange { source })?;
        Ok(ts.as_millisecond())
    }

    fn utc_offset_slow(&self, utc_secs: i64) -> i64 {
        jiff::Timestamp::from_second(utc_secs)
            .map(|ts| self.tz.to_offset(ts).seconds() as i64)
            .unwrap_or(0)
    }

    /// Converts UTC milliseconds to local wall-clock seconds (sub-second part dropped).
    #[inline]
    pub fn utc_ms_to_local(&mut self, utc_ms: i64) -> i64 {
        let secs = utc_ms.div_euclid(1000);
        let day = secs.div_euclid(DAY);
        let offset = match self.utc_day {
            Some((d, Some(off))) if d == day => off,
            Some((d, None)) if d == day => self.utc_offset_slow(secs),
            _ => {
                let first = self.utc_offset_slow(day * DAY);
                let last = self.utc_offset_slow(day * DAY + DAY - 1);
                let uniform = (first == last).then_some(first);
                self.utc_day = Some((day, uniform));
                uniform.unwrap_or_else(|| self.utc_offset_slow(secs))
            }
        };
        secs + offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(y: i64, m: u32, d: u32, hh: i64, mm: i64) -> i64 {
        days_from_civil(y, m, d) * DAY + hh * 3600 + mm * 60
    }

    #[test]
    fn civil_round_trip() {
        for day in -800_000..800_000 {
            let (y, m, d) = civil_from_days(day);
            assert!(d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
    }

    #[test]
    fn new_york_offsets_across_dst() {
        let mut z = Zone::new("America/New_York").unwrap();
        // winter: UTC-5
        let t = local(2024, 1, 15, 9, 30);
        assert_eq!(z.local_to_utc_ms(t).unwrap(), (t + 5 * 3600) * 1000);
        // summer: UTC-4
        let t = local(2024, 7, 15, 9, 30);
        assert_eq!(z.local_to_utc_ms(t).unwrap(), (t + 4 * 3600) * 1000);
        // spring forward 2024-03-10: 01:59 is EST, 02:30 does not exist, 03:00 is EDT
        let t = local(2024, 3, 10, 1, 59);
        assert_eq!(z.local_to_utc_ms(t).unwrap(), (t + 5 * 3600) * 1000);
        assert_eq!(
            z.local_to_utc_ms(local(2024, 3, 10, 2, 30)),
            Err(LocalTimeError::Gap)
        );
        let t = local(2024, 3, 10, 3, 0);
        assert_eq!(z.local_to_utc_ms(t).unwrap(), (t + 4 * 3600) * 1000);
        // fall back 2024-11-03: 01:30 happens twice; the first (EDT) is taken
        let t = local(2024, 11, 3, 1, 30);
        assert_eq!(z.local_to_utc_ms(t).unwrap(), (t + 4 * 3600) * 1000);
        let t = local(2024, 11, 3, 2, 0);
        assert_eq!(z.local_to_utc_ms(t).unwrap(), (t + 5 * 3600) * 1000);
    }

    #[test]
    fn utc_to_local_inverts_local_to_utc() {
        let mut z = Zone::new("America/New_York").unwrap();
        let start = local(2023, 1, 1, 0, 0);
        for minute in (0..(2 * 366 * 1440)).step_by(7) {
            let t = start + minute * 60;
            if let Ok(ms) = z.local_to_utc_ms(t) {
                let back = z.utc_ms_to_local(ms);
                // in the fold the first occurrence is chosen, so the round trip holds
                assert_eq!(back, t, "minute {minute}");
            }
        }
    }

    #[test]
    fn unknown_zone_is_a_clear_error() {
        let err = Zone::new("Mars/Olympus").unwrap_err().to_string();
        assert!(
            err.contains("Mars/Olympus") && err.contains("IANA"),
            "{err}"
        );
    }

    #[test]
    fn formats_local_times() {
        let mut s = String::new();
        format_local(local(2024, 5, 13, 19, 50) + 7, &mut s);
        assert_eq!(s, "2024-05-13 19:50:07");
    }
}
