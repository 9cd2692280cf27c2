//! Exchange calendars: which days an exchange trades and when its regular session
//! opens and closes, in exchange wall-clock time.
//!
//! A bar file says nothing about holidays or half days, so the regular-session filter,
//! the data check and the coverage chart all ask the calendar. [`Calendar::UsEquity`]
//! (NYSE and Nasdaq share it) is written from the exchanges' rules: the fixed holidays
//! with their weekend shifts, Good Friday, the 13:00 early closes, and the special
//! closures since 2000 (9/11, presidential funerals, Hurricane Sandy). Other zones get
//! [`Calendar::Plain`], 09:30-16:00 on weekdays, until a calendar is named for them.

use crate::zone::{civil_from_days, days_from_civil, DAY};

/// Seconds after local midnight of the usual open (09:30).
const OPEN: i64 = 9 * 3600 + 30 * 60;
/// Seconds after local midnight of the usual close (16:00).
const CLOSE: i64 = 16 * 3600;
/// Seconds after local midnight of an early close (13:00).
const EARLY_CLOSE: i64 = 13 * 3600;

/// Whole-day closures outside the holiday rules (national days of mourning, the
/// September 11 attacks, Hurricane Sandy).
const SPECIAL_CLOSURES: &[(i64, u32, u32)] = &[
    (2001, 9, 11),
    (2001, 9, 12),
    (2001, 9, 13),
    (2001, 9, 14),
    (2004, 6, 11),
    (2007, 1, 2),
    (2012, 10, 29),
    (2012, 10, 30),
    (2018, 12, 5),
    (2025, 1, 9),
];

/// Early closes outside the rules (the Friday after Independence Day 2002, the Friday
/// after Christmas 2003).
const SPECIAL_EARLY_CLOSES: &[(i64, u32, u32)] = &[(2002, 7, 5), (2003, 12, 26)];

/// Full days where the rules say early close (in 2002 the half day moved from July 3 to
/// July 5).
const SPECIAL_FULL_DAYS: &[(i64, u32, u32)] = &[(2002, 7, 3)];

/// The regular session of one trading day, in seconds after local midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// The open (inclusive): a bar starting here is regular.
    pub open: i64,
    /// The close (exclusive): a bar starting here is after hours.
    pub close: i64,
}

impl Session {
    /// True when the day closes before the usual 16:00.
    pub fn is_early_close(&self) -> bool {
        self.close < CLOSE
    }

    /// The number of regular bars of `step_secs` seconds the session holds.
    pub fn bars(&self, step_secs: i64) -> i64 {
        (self.close - self.open + step_secs - 1) / step_secs
    }
}

/// A trading calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Calendar {
    /// NYSE/Nasdaq: holidays, early closes and special closures.
    UsEquity,
    /// 09:30-16:00 every weekday, no holidays.
    Plain,
}

impl std::str::FromStr for Calendar {
    type Err = crate::OptionError;
    fn from_str(s: &str) -> Result<Self, crate::OptionError> {
        match s.to_ascii_lowercase().as_str() {
            "us" | "xnys" | "nyse" | "xnas" | "nasdaq" => Ok(Calendar::UsEquity),
            "plain" => Ok(Calendar::Plain),
            _ => Err(crate::OptionError::new(
                "calendar",
                s,
                "use us (NYSE/Nasdaq) or plain (09:30-16:00 on weekdays)",
            )),
        }
    }
}

impl Calendar {
    /// The zone the calendar's hours are in; `None`: the symbol's own zone.
    pub fn zone(&self) -> Option<&'static str> {
        match self {
            Calendar::UsEquity => Some("America/New_York"),
            Calendar::Plain => None,
        }
    }

    /// The calendar of symbols quoted in `zone`: the US equity calendar for
    /// `America/New_York`, the plain weekday rule for any other zone.
    pub fn for_zone(zone: &str) -> Calendar {
        if zone == "America/New_York" {
            Calendar::UsEquity
        } else {
            Calendar::Plain
        }
    }

    /// The regular session of a day (days since 1970-01-01), or `None` when the
    /// exchange is closed.
    pub fn session(&self, day: i64) -> Option<Session> {
        if weekday(day) >= 5 {
            return None;
        }
        let regular = Session {
            open: OPEN,
            close: CLOSE,
        };
        match self {
            Calendar::Plain => Some(regular),
            Calendar::UsEquity => {
                let (y, m, d) = civil_from_days(day);
                if is_us_holiday(y, m, d, day) {
                    None
                } else if is_us_early_close(y, m, d, day) {
                    Some(Session {
                        close: EARLY_CLOSE,
                        ..regular
                    })
                } else {
                    Some(regular)
                }
            }
        }
    }

    /// The trading days from `first` to `last` (days since 1970-01-01, inclusive) with
    /// their sessions.
    pub fn sessions(&self, first: i64, last: i64) -> Vec<(i64, Session)> {
        (first..=last)
            .filter_map(|d| self.session(d).map(|s| (d, s)))
            .collect()
    }

    /// A filter of regular-session times that works each day's session out once.
    pub fn regular_filter(self) -> RegularFilter {
        RegularFilter {
            calendar: self,
            day: None,
        }
    }
}

/// Tells regular-session times from others, day by day: a day's holidays and early
/// close are worked out once for all its bars, not once per bar.
pub struct RegularFilter {
    calendar: Calendar,
    day: Option<(i64, Option<Session>)>,
}

impl RegularFilter {
    /// True when local seconds `t` fall inside the regular session of their day.
    pub fn is_regular(&mut self, t: i64) -> bool {
        let day = t.div_euclid(DAY);
        let session = match self.day {
            Some((d, s)) if d == day => s,
            _ => {
                let s = self.calendar.session(day);
                self.day = Some((day, s));
                s
            }
        };
        session.is_some_and(|s| (s.open..s.close).contains(&t.rem_euclid(DAY)))
    }
}

/// Day of the week, 0 = Monday .. 6 = Sunday.
pub fn weekday(day: i64) -> i64 {
    // 1970-01-01 was a Thursday
    (day + 3).rem_euclid(7)
}

/// The day number of the `n`th (1-based) `wd` weekday of a month; `n = -1`: the last.
fn nth_weekday(y: i64, m: u32, wd: i64, n: i64) -> i64 {
    if n > 0 {
        let first = days_from_civil(y, m, 1);
        first + (wd - weekday(first)).rem_euclid(7) + 7 * (n - 1)
    } else {
        let last = days_from_civil(y, m, crate::zone::days_in_month(y, m));
        last - (weekday(last) - wd).rem_euclid(7)
    }
}

/// Easter Sunday (Gregorian, anonymous algorithm) as a day number.
fn easter(y: i64) -> i64 {
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    days_from_civil(y, month as u32, day as u32)
}

/// A fixed-date holiday observed on the Friday before when it falls on a Saturday and
/// the Monday after when it falls on a Sunday.
fn observed(y: i64, m: u32, d: u32) -> i64 {
    let day = days_from_civil(y, m, d);
    match weekday(day) {
        5 => day - 1,
        6 => day + 1,
        _ => day,
    }
}

fn is_us_holiday(y: i64, m: u32, d: u32, day: i64) -> bool {
    if SPECIAL_CLOSURES.contains(&(y, m, d)) {
        return true;
    }
    let new_year = days_from_civil(y, 1, 1);
    // New Year's Day on a Saturday is not moved back into the old year
    let new_year_observed = match weekday(new_year) {
        6 => new_year + 1,
        5 => i64::MIN,
        _ => new_year,
    };
    let rules = [
        new_year_observed,
        nth_weekday(y, 1, 0, 3),  // Martin Luther King Jr. Day
        nth_weekday(y, 2, 0, 3),  // Washington's Birthday
        easter(y) - 2,            // Good Friday
        nth_weekday(y, 5, 0, -1), // Memorial Day
        observed(y, 7, 4),        // Independence Day
        nth_weekday(y, 9, 0, 1),  // Labor Day
        nth_weekday(y, 11, 3, 4), // Thanksgiving
        observed(y, 12, 25),      // Christmas
    ];
    rules.contains(&day) || (y >= 2022 && day == observed(y, 6, 19)) // Juneteenth
}

fn is_us_early_close(y: i64, m: u32, d: u32, day: i64) -> bool {
    let monday_to_thursday = weekday(day) <= 3 && !SPECIAL_FULL_DAYS.contains(&(y, m, d));
    SPECIAL_EARLY_CLOSES.contains(&(y, m, d))
        || day == nth_weekday(y, 11, 3, 4) + 1 // the day after Thanksgiving
        || ((m, d) == (7, 3) || (m, d) == (12, 24)) && monday_to_thursday
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(y: i64, m: u32, d: u32) -> Option<Session> {
        Calendar::UsEquity.session(days_from_civil(y, m, d))
    }

    #[test]
    fn holidays_and_their_weekend_shifts() {
        assert_eq!(session(2024, 11, 28), None, "Thanksgiving");
        assert_eq!(session(2024, 3, 29), None, "Good Friday");
        assert_eq!(session(2021, 12, 24), None, "Christmas on a Saturday");
        assert_eq!(session(2022, 6, 20), None, "Juneteenth on a Sunday");
        assert!(session(2021, 6, 18).is_some(), "no Juneteenth before 2022");
        assert!(
            session(2021, 12, 31).is_some(),
            "New Year 2022 is a Saturday"
        );
        assert_eq!(session(2012, 10, 30), None, "Hurricane Sandy");
        assert_eq!(session(2024, 5, 4), None, "a Saturday");
    }

    #[test]
    fn early_closes() {
        for (y, m, d) in [(2024, 11, 29), (2024, 12, 24), (2024, 7, 3), (2003, 12, 26)] {
            let s = session(y, m, d).unwrap();
            assert_eq!((s.open, s.close), (OPEN, EARLY_CLOSE), "{y}-{m}-{d}");
            assert!(s.is_early_close());
            assert_eq!(s.bars(60), 210);
        }
        assert_eq!(
            session(2015, 7, 2).unwrap().close,
            CLOSE,
            "a Thursday before a Friday holiday"
        );
        assert_eq!(session(2024, 5, 1).unwrap().bars(60), 390);
    }

    #[test]
    fn regular_times_follow_the_day() {
        let day = days_from_civil(2024, 11, 29) * DAY;
        let mut us = Calendar::UsEquity.regular_filter();
        let mut plain = Calendar::Plain.regular_filter();
        assert!(us.is_regular(day + OPEN));
        assert!(us.is_regular(day + EARLY_CLOSE - 60));
        assert!(!us.is_regular(day + EARLY_CLOSE));
        assert!(plain.is_regular(day + EARLY_CLOSE));
        let thanksgiving = days_from_civil(2024, 11, 28) * DAY;
        assert!(!us.is_regular(thanksgiving + OPEN));
        assert!(plain.is_regular(thanksgiving + OPEN));
        // back to a day seen before: the cache follows the day asked
        assert!(!us.is_regular(day + EARLY_CLOSE));
    }
}
