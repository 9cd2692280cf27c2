//! Series: what one stored sequence of bars is. Vendors ship each ticker in several
//! timeframes (1min, 5min, 1h, 1d...) and price adjustments (split-adjusted,
//! split-and-dividend-adjusted, unadjusted); a [`Series`] is all three, and every store
//! keys bars by series, so two of them never mix.
//!
//! - [`Timeframe`]: the bar width, written as `--resample` values are (`1min`, `5min`,
//!   `1h`, `1d`); also the unit of resampling.
//! - [`Adjustment`]: a lowercase name (`adjsplit`, `adjsplitdiv`, `unadjusted`), or
//!   [`Adjustment::NONE`] when nothing says.
//! - [`from_file_name`] reads both from a vendor's file name such as
//!   `AAPL_full_5min_adjsplit.txt`; [`usual_spacing`] lets the data say the timeframe
//!   when the name does not.

use crate::error::OptionError;
use crate::symbol;
use crate::zone::DAY;
use std::fmt;

/// A bar width: minutes or hours that divide a day, or one exchange date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeframe {
    secs: i64,
}

impl Timeframe {
    /// One minute: the timeframe of the earlier single-series stores.
    pub const MINUTE: Timeframe = Timeframe { secs: 60 };
    /// One exchange date.
    pub const DAY: Timeframe = Timeframe { secs: DAY };

    /// The width in seconds (a day for [`Timeframe::DAY`]).
    pub fn seconds(self) -> i64 {
        self.secs
    }

    /// True for daily bars, whose bins are exchange dates.
    pub fn is_daily(self) -> bool {
        self.secs == DAY
    }

    /// The timeframe of bars `secs` apart, when it is one barstore stores.
    pub fn from_seconds(secs: i64) -> Option<Timeframe> {
        (secs > 0 && secs % 60 == 0 && DAY % secs == 0).then_some(Timeframe { secs })
    }

    /// Is `coarser` a whole number of these bars?
    pub fn divides(self, coarser: Timeframe) -> bool {
        coarser.secs % self.secs == 0
    }

    /// Parses a timeframe as a file-name token: like [`str::parse`], but only tokens
    /// that start with a digit (`5min`, `1hour`) or read `daily`, so that words such as
    /// `min` or `d` in a name are not taken for one.
    fn from_token(token: &str) -> Option<Timeframe> {
        let starts_with_digit = token.starts_with(|c: char| c.is_ascii_digit());
        let daily = token.eq_ignore_ascii_case("daily");
        if starts_with_digit || daily {
            token.parse().ok()
        } else {
            None
        }
    }
}

impl std::str::FromStr for Timeframe {
    type Err = OptionError;

    /// `Nmin` (also `Nm`, `NT`), `Nh` (also `Nhour`), `1d` (also `1day`, `daily`, `24h`);
    /// any case; `N` defaults to 1.
    fn from_str(s: &str) -> Result<Self, OptionError> {
        let bad = || {
            OptionError::new(
                "timeframe",
                s,
                "use e.g. 1min, 5min, 15min, 30min, 1h, 1d (minutes and hours must divide a day)",
            )
        };
        let lower = s.trim().to_ascii_lowercase();
        if lower == "daily" {
            return Ok(Timeframe::DAY);
        }
        let split = lower.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (num, unit) = lower.split_at(split);
        let n: i64 = if num.is_empty() {
            1
        } else {
            num.parse().map_err(|_| bad())?
        };
        let unit_secs = match unit {
            "min" | "mins" | "minute" | "minutes" | "t" | "m" => 60,
            "h" | "hour" | "hours" => 3600,
            "d" | "day" | "days" if n == 1 => DAY,
            _ => return Err(bad()),
        };
        n.checked_mul(unit_secs)
            .and_then(Timeframe::from_seconds)
            .ok_or_else(bad)
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secs == DAY {
            f.write_str("1d")
        } else if self.secs % 3600 == 0 {
            write!(f, "{}h", self.secs / 3600)
        } else {
            write!(f, "{}min", self.secs / 60)
        }
    }
}

/// A price adjustment: a lowercase name of letters and digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Adjustment(String);

/// The adjustment names recognised in file names.
const NAMED: [&str; 3] = ["adjsplit", "adjsplitdiv", "unadjusted"];

impl Adjustment {
    /// Nothing says how the prices are adjusted.
    pub const NONE: &'static str = "none";

    /// The adjustment of series nothing names.
    pub fn none() -> Adjustment {
        Adjustment(Self::NONE.to_string())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Adjustment {
    type Err = OptionError;

    /// 1 to 24 ASCII letters or digits, any case (stored lowercase): a safe path
    /// component and CQL value.
    fn from_str(s: &str) -> Result<Self, OptionError> {
        let name = s.trim().to_ascii_lowercase();
        let ok = (1..=24).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(Adjustment(name))
        } else {
            Err(OptionError::new(
                "adjustment",
                s,
                "use 1 to 24 letters or digits, e.g. adjsplit, adjsplitdiv, unadjusted",
            ))
        }
    }
}

impl fmt::Display for Adjustment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One stored sequence of bars: a symbol in one timeframe and one adjustment.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Series {
    /// The symbol (validated by [`symbol::validate`]).
    pub symbol: String,
    /// The bar width.
    pub timeframe: Timeframe,
    /// The price adjustment.
    pub adjustment: Adjustment,
}

impl Series {
    /// A series of a validated symbol.
    pub fn new(
        symbol: &str,
        timeframe: Timeframe,
        adjustment: Adjustment,
    ) -> Result<Series, OptionError> {
        symbol::validate(symbol)?;
        Ok(Series {
            symbol: symbol.to_string(),
            timeframe,
            adjustment,
        })
    }

    /// The one series of stores and tables that predate series: 1min, no adjustment.
    pub fn minute(symbol: &str) -> Result<Series, OptionError> {
        Series::new(symbol, Timeframe::MINUTE, Adjustment::none())
    }

    /// True for the series of stores and tables that predate series.
    pub fn is_minute_unadjusted(&self) -> bool {
        self.timeframe == Timeframe::MINUTE && self.adjustment.as_str() == Adjustment::NONE
    }
}

impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.symbol, self.timeframe, self.adjustment)
    }
}

/// The timeframe and adjustment a file name states, e.g. `5min` and `adjsplit` in
/// `AAPL_full_5min_adjsplit.txt`. `symbol` (the part of the name that is the symbol)
/// is not searched. Tokens are separated by `_`, `-`, `.` or spaces; the first
/// timeframe token and the first adjustment token count.
pub fn from_file_name(name: &str, symbol: &str) -> (Option<Timeframe>, Option<Adjustment>) {
    let rest = name.replacen(symbol, " ", 1);
    let tokens = rest.split(['_', '-', '.', ' ']).filter(|t| !t.is_empty());
    let (mut timeframe, mut adjustment) = (None, None);
    for t in tokens {
        if timeframe.is_none() {
            timeframe = Timeframe::from_token(t);
        }
        if adjustment.is_none() && NAMED.iter().any(|n| t.eq_ignore_ascii_case(n)) {
            adjustment = t.parse().ok();
        }
    }
    (timeframe, adjustment)
}

/// The usual spacing of bars: the most frequent gap, in seconds, between consecutive
/// distinct times of `sorted_local` (wall-clock seconds, so that daylight-saving changes
/// do not disturb daily bars); ties go to the smaller gap. `None` for fewer than two
/// distinct times.
pub fn usual_spacing(sorted_local: &[i64]) -> Option<i64> {
    let mut gaps: Vec<i64> = sorted_local
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|&g| g > 0)
        .collect();
    gaps.sort_unstable();
    let mut best: Option<(usize, i64)> = None;
    for run in gaps.chunk_by(|a, b| a == b) {
        if best.is_none_or(|(n, _)| run.len() > n) {
            best = Some((run.len(), run[0]));
        }
    }
    best.map(|(_, gap)| gap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tf(s: &str) -> Timeframe {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_timeframes() {
        for (text, shown) in [
            ("1min", "1min"),
            ("5MIN", "5min"),
            ("15T", "15min"),
            ("min", "1min"),
            ("30min", "30min"),
            ("60min", "1h"),
            ("1hour", "1h"),
            ("1H", "1h"),
            ("4h", "4h"),
            ("1day", "1d"),
            ("Daily", "1d"),
            ("24h", "1d"),
            ("1d", "1d"),
        ] {
            assert_eq!(tf(text).to_string(), shown, "{text}");
            assert_eq!(tf(shown), tf(text));
        }
        for bad in ["7min", "0min", "2d", "1w", "", "min5", "5 parsecs", "30s"] {
            let err = bad.parse::<Timeframe>().unwrap_err().to_string();
            assert!(err.contains("invalid timeframe"), "{bad}: {err}");
        }
        assert!(tf("1min") < tf("5min") && tf("1h") < tf("1d"));
        assert!(tf("5min").divides(tf("1h")) && !tf("15min").divides(tf("20min")));
    }

    #[test]
    fn reads_firstrate_names() {
        let (t, a) = from_file_name("AAPL_full_5min_adjsplit.txt", "AAPL");
        assert_eq!((t, a.unwrap().as_str()), (Some(tf("5min")), "adjsplit"));
        let (t, a) = from_file_name("AAPL_full_1hour_UNADJUSTED.txt", "AAPL");
        assert_eq!((t, a.unwrap().as_str()), (Some(tf("1h")), "unadjusted"));
        let (t, a) = from_file_name("AAPL_full_1day_adjsplitdiv.txt", "AAPL");
        assert_eq!(
            (t, a.unwrap().as_str()),
            (Some(Timeframe::DAY), "adjsplitdiv")
        );
        assert_eq!(
            from_file_name("SPY_daily.csv", "SPY"),
            (Some(Timeframe::DAY), None)
        );
        // dates, counters and words are not timeframes; the symbol is not searched
        assert_eq!(
            from_file_name("DBB_1min_2023-07-10_to_2025-07-08.csv", "DBB"),
            (Some(Timeframe::MINUTE), None)
        );
        assert_eq!(
            from_file_name("2006-01-02-volume-min-001.txt", "2006-01-02-volume-min-001"),
            (None, None)
        );
        assert_eq!(from_file_name("X_m_d_h.txt", "X"), (None, None));
        assert_eq!(from_file_name("1H_full.txt", "1H"), (None, None));
    }

    #[test]
    fn adjustments_are_safe_names() {
        assert_eq!(
            "UNADJUSTED".parse::<Adjustment>().unwrap().as_str(),
            "unadjusted"
        );
        for bad in ["", "a/b", "..", "adj split", "x".repeat(25).as_str()] {
            assert!(bad.parse::<Adjustment>().is_err(), "{bad}");
        }
        assert_eq!(Adjustment::none().as_str(), "none");
    }

    #[test]
    fn spacing_is_the_most_frequent_gap() {
        assert_eq!(usual_spacing(&[0, 60, 120, 300, 360]), Some(60));
        assert_eq!(usual_spacing(&[0, 300, 600, 660, 960]), Some(300));
        // ties go to the smaller gap; duplicates are ignored
        assert_eq!(usual_spacing(&[0, 60, 60, 360]), Some(60));
        assert_eq!(usual_spacing(&[5]), None);
        assert_eq!(usual_spacing(&[5, 5]), None);
    }

    #[test]
    fn series_validate_their_symbol() {
        assert!(Series::minute("../x").is_err());
        let s = Series::new("AAPL", tf("5min"), "adjsplit".parse().unwrap()).unwrap();
        assert_eq!(s.to_string(), "AAPL 5min adjsplit");
        assert!(!s.is_minute_unadjusted() && Series::minute("A").unwrap().is_minute_unadjusted());
    }
}
