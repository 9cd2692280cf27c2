//! Resampling bars into wider bars (5min, 1h, 1d, ...), on the exchange's wall clock.
//!
//! Bins are left-closed and labelled by their start, as pandas' `resample` does with
//! its default `origin="start_day"`: minute and hour bins count from midnight of the
//! first day in the data, `1d` bins are exchange dates. Open is the first bar's, high
//! the maximum, low the minimum, close the last bar's, volume the sum (missing when
//! every bar in the bin lacks one). Bins without bars are left out, where pandas would
//! emit a row of NaN.

use crate::bars::Bars;
use crate::series::Timeframe;

/// Aggregates bars (with their local wall-clock seconds, sorted) into bins. Returns the
/// bins' local start times and their bars; the bars' `ts` is left for the caller to
/// fill, since it depends on the zone.
pub fn resample(local: &[i64], bars: &Bars, timeframe: Timeframe) -> (Vec<i64>, Bars) {
    let width = timeframe.seconds();
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
    use crate::zone::DAY;

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
        let (labels, agg) = resample(&local, &bars, "5min".parse().unwrap());
        assert_eq!(labels, vec![base, base + 300]);
        assert_eq!(agg.open, vec![10.0, 9.0]);
        assert_eq!(agg.high, vec![12.0, 9.5]);
        assert_eq!(agg.low, vec![8.0, 8.5]);
        assert_eq!(agg.close, vec![9.0, 9.25]);
        assert_eq!(agg.volume, vec![6.0, 4.0]);
        let (labels, agg) = resample(&local, &bars, Timeframe::DAY);
        assert_eq!(labels, vec![19_000 * DAY]);
        assert_eq!(agg.volume, vec![10.0]);
    }
}
