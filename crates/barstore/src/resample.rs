//! Resampling bars into wider bars (5min, 1h, 1d, ...), on the exchange's wall clock.
//!
//! Bins are left-closed and labelled by their start, as pandas' `resample` does with
//! its default `origin="start_day"`: minute and hour bins count from midnight of the
//! first day in the data, `1d` bins are exchange dates. Open is the first bar's, high
//! the maximum, low the minimum, close the last bar's, volume the sum (missing when
//! every bar in the bin lacks one). Bins without bars are left out, where pandas would
//! emit a row of NaN.

use crate::bars::Bars;
use crate::calendar::DAY;
use crate::error::{Error, Result};

/// A bin width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    /// A number of seconds that divides a day (minutes and hours).
    Seconds(i64),
    /// One exchange date.
    Day,
}

impl std::str::FromStr for Interval {
    type Err = Error;

    /// `Nmin` (or `Nt`), `Nh`, `1d`; case-insensitive, `N` defaulting to 1.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::Invalid(format!(
                "invalid resample interval {s:?}: use e.g. 5min, 15min, 1h, 1d (minutes and hours must divide a day)"
            ))
        };
        let lower = s.trim().to_ascii_lowercase();
        let split = lower.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (num, unit) = lower.split_at(split);
        let n: i64 = if num.is_empty() {
            1
        } else {
            num.parse().map_err(|_| bad())?
        };
        let unit_secs = match unit {
            "min" | "t" | "m" => 60,
            "h" => 3600,
            "d" if n == 1 => return Ok(Interval::Day),
            _ => return Err(bad()),
        };
        let secs = n.checked_mul(unit_secs).ok_or_else(bad)?;
        if n == 0 || DAY % secs != 0 {
            return Err(bad());
        }
        Ok(if secs == DAY {
            Interval::Day
        } else {
            Interval::Seconds(secs)
        })
    }
}

/// Aggregates bars (with their local wall-clock seconds, sorted) into bins. Returns the
/// bins' local start times and their bars; the bars' `ts` is left for the caller to
/// fill, since it depends on the zone.
pub fn resample(local: &[i64], bars: &Bars, interval: Interval) -> (Vec<i64>, Bars) {
    let width = match interval {
        Interval::Seconds(s) => s,
        Interval::Day => DAY,
    };
    let mut labels = Vec::new();
    let mut out = Bars::default();
    let mut i = 0;
    while i < local.len() {
        let label = local[i].div_euclid(width) * width;
        let mut j = i;
        let (mut high, mut low) = (f64::MIN, f64::MAX);
        let mut volume = f64::NAN;
        while j < local.len() && local[j].div_euclid(width) * width == label {
            high = high.max(bars.high[j]);
            low = low.min(bars.low[j]);
            if !bars.volume[j].is_nan() {
                volume = if volume.is_nan() { 0.0 } else { volume } + bars.volume[j];
            }
            j += 1;
        }
        labels.push(label);
        out.push((0, [bars.open[i], high, low, bars.close[j - 1], volume]));
        i = j;
    }
    (labels, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_intervals() {
        assert_eq!("5min".parse::<Interval>().unwrap(), Interval::Seconds(300));
        assert_eq!("15T".parse::<Interval>().unwrap(), Interval::Seconds(900));
        assert_eq!("1H".parse::<Interval>().unwrap(), Interval::Seconds(3600));
        assert_eq!("min".parse::<Interval>().unwrap(), Interval::Seconds(60));
        assert_eq!("1d".parse::<Interval>().unwrap(), Interval::Day);
        assert_eq!("24h".parse::<Interval>().unwrap(), Interval::Day);
        for bad in ["7min", "0min", "2d", "1w", "", "min5", "5 parsecs"] {
            let err = bad.parse::<Interval>().unwrap_err().to_string();
            assert!(err.contains("invalid resample interval"), "{bad}: {err}");
        }
    }

    #[test]
    fn aggregates_first_max_min_last_sum() {
        let base = 19_000 * DAY + 9 * 3600 + 30 * 60;
        let local: Vec<i64> = [0, 60, 240, 300, 360].iter().map(|s| base + s).collect();
        let mut bars = Bars::default();
        for (k, (o, h, l, c, v)) in [
            (10.0, 11.0, 9.0, 10.5, 1.0),
            (10.5, 12.0, 10.0, 11.0, 2.0),
            (11.0, 11.5, 8.0, 9.0, 3.0),
            (9.0, 9.5, 8.5, 9.2, 4.0),
            (9.2, 9.3, 9.1, 9.25, f64::NAN),
        ]
        .into_iter()
        .enumerate()
        {
            bars.push((k as i64, [o, h, l, c, v]));
        }
        let (labels, agg) = resample(&local, &bars, Interval::Seconds(300));
        assert_eq!(labels, vec![base, base + 300]);
        assert_eq!(agg.open, vec![10.0, 9.0]);
        assert_eq!(agg.high, vec![12.0, 9.5]);
        assert_eq!(agg.low, vec![8.0, 8.5]);
        assert_eq!(agg.close, vec![9.0, 9.25]);
        assert_eq!(agg.volume, vec![6.0, 4.0]);
        let (labels, agg) = resample(&local, &bars, Interval::Day);
        assert_eq!(labels, vec![19_000 * DAY]);
        assert_eq!(agg.volume, vec![10.0]);
    }
}
