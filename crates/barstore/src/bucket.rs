//! Month buckets: the unit of partitioning in every store.
//!
//! A bar belongs to the month of its *exchange-local* date, so a month of New York
//! bars never straddles two buckets because of the UTC offset. The embedded store keeps
//! one Parquet row group per month; the CQL store one partition per (symbol, month).

use crate::zone::{civil_from_days, days_from_civil, DAY};
use std::fmt;

/// A calendar month, ordered in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Calendar year.
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// Whether the month is within the optional bounds (inclusive).
    pub fn within(self, first: Option<Month>, last: Option<Month>) -> bool {
        first.is_none_or(|f| self >= f) && last.is_none_or(|l| self <= l)
    }

    /// The month holding a local wall-clock time (seconds since the local epoch).
    pub fn of_local(local_secs: i64) -> Month {
        let (y, m, _) = civil_from_days(local_secs.div_euclid(DAY));
        Month {
            year: y as i32,
            month: m,
        }
    }

    /// Local wall-clock seconds at the first instant of the month.
    pub fn start_local(self) -> i64 {
        days_from_civil(self.year as i64, self.month, 1) * DAY
    }

    /// The month after this one.
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        let (year, month) = (y.parse().ok()?, m.parse().ok()?);
        (y.len() == 4 && m.len() == 2 && (1..=12).contains(&month)).then_some(Month { year, month })
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_edges() {
        let jan1 = days_from_civil(2024, 1, 1) * DAY;
        assert_eq!(Month::of_local(jan1).to_string(), "2024-01");
        assert_eq!(Month::of_local(jan1 - 1).to_string(), "2023-12");
        assert_eq!(Month::of_local(jan1 + 31 * DAY - 1).to_string(), "2024-01");
        assert_eq!(Month::of_local(jan1 + 31 * DAY).to_string(), "2024-02");
        let feb = Month::parse("2024-02").unwrap();
        assert_eq!(feb.start_local(), jan1 + 31 * DAY);
        assert_eq!(
            Month::parse("2024-12").unwrap().next().to_string(),
            "2025-01"
        );
        assert_eq!(Month::parse("2024-13"), None);
        assert_eq!(Month::parse("24-01"), None);
    }

    #[test]
    fn bucket_uses_the_exchange_date_not_utc() {
        use crate::zone::Zone;
        // 2024-01-31 20:00 in New York is 2024-02-01 01:00 UTC: still January.
        let mut z = Zone::new("America/New_York").unwrap();
        let local = days_from_civil(2024, 1, 31) * DAY + 20 * 3600;
        let utc_ms = z.local_to_utc_ms(local).unwrap();
        assert_eq!(Month::of_local(utc_ms / 1000).to_string(), "2024-02");
        assert_eq!(
            Month::of_local(z.utc_ms_to_local(utc_ms)).to_string(),
            "2024-01"
        );
    }
}
