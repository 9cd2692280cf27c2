//! The ends of a read's range, as written and as local times.

use super::*;

/// One end of a read's range, in the zone the read is shown in: a date (the whole day)
/// or a date and time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    /// Wall-clock seconds since the local epoch.
    pub local: i64,
    /// Only a date was given: as an end, the whole day.
    pub whole_day: bool,
    /// As written, for messages.
    text: String,
}

impl Bound {
    /// The local date (days since 1970-01-01).
    pub fn day(&self) -> i64 {
        self.local.div_euclid(DAY)
    }
}

impl std::str::FromStr for Bound {
    type Err = OptionError;

    /// A date, or a date and time (`2024-05-01 09:30[:00]`, `T` allowed).
    fn from_str(s: &str) -> Result<Self, OptionError> {
        let (local, whole_day) = parse_bound(s)?;
        Ok(Bound {
            local,
            whole_day,
            text: s.trim().to_string(),
        })
    }
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses a bound: local seconds and whether only a date was given.
pub(super) fn parse_bound(s: &str) -> Result<(i64, bool), OptionError> {
    let bad = || OptionError::new("time", s, "use YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS]");
    let b = s.trim().as_bytes();
    let (days, n) = parse_date(b).ok_or_else(bad)?;
    if n == b.len() {
        return Ok((days * DAY, true));
    }
    if b[n] != b' ' && b[n] != b'T' {
        return Err(bad());
    }
    let rest = &b[n + 1..];
    match parse_time(rest) {
        Some((ms, m)) if m == rest.len() => Ok((days * DAY + ms / 1000, false)),
        _ => Err(bad()),
    }
}

/// The day (since 1970-01-01) of a date or date-time as `start`/`end` take them.
pub fn day_of(s: &str) -> Result<i64> {
    Ok(s.parse::<Bound>()?.day())
}
