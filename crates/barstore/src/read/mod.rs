//! Range reads: a series' bars between two exchange wall-clock times, optionally
//! filtered to the regular session, resampled and rounded, and written as CSV or
//! Parquet. A read names a symbol; [`resolve_series`] picks which of its stored series.

use crate::actions::{self, Action};
use crate::adjust::{self, Adjust, Factor};
use crate::bars::Bars;
use crate::error::{Error, OptionError, ReadError, Result};
use crate::exchange::Calendar;
use crate::parse::{parse_date, parse_time};
use crate::resample::resample;
use crate::series::{Adjustment, Series, Timeframe};
use crate::store::{AsOf, Found, Store};
use crate::zone::{format_local, Zone, DAY};
use arrow::array::RecordBatch;
use std::io::Write;
use std::path::Path;

mod bound;
mod output;

pub use bound::{day_of, Bound};
pub use output::{write_csv, write_parquet, write_rows};

/// Which bars of the day to keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SessionFilter {
    /// Every bar.
    #[default]
    All,
    /// Bars inside the exchange's regular session (its calendar's open <= exchange
    /// time < close; none on holidays).
    Regular,
}

impl std::str::FromStr for SessionFilter {
    type Err = OptionError;
    fn from_str(s: &str) -> Result<Self, OptionError> {
        match s.to_ascii_lowercase().as_str() {
            "all" => Ok(SessionFilter::All),
            "regular" | "rth" => Ok(SessionFilter::Regular),
            _ => Err(OptionError::new("session", s, "use all or regular")),
        }
    }
}

/// A read of one symbol.
#[derive(Clone, Debug, Default)]
pub struct ReadRequest {
    /// The symbol.
    pub symbol: String,
    /// First bar to include: a date (`2024-05-01`) or date-time, inclusive.
    pub start: Option<Bound>,
    /// Last bar to include: a date (the whole day) or date-time, inclusive.
    pub end: Option<Bound>,
    /// Which bars of the day to keep.
    pub session: SessionFilter,
    /// Round prices and volume to this many decimals (half to even, as numpy).
    pub round: Option<u32>,
    /// Resample into wider bars.
    pub resample: Option<Timeframe>,
    /// Show (and interpret `start`/`end`) in this zone instead of the symbol's own.
    pub tz: Option<String>,
    /// The stored timeframe to read; `None`: the finest stored.
    pub timeframe: Option<Timeframe>,
    /// The adjustment to read; `None`: the one stored (an error when several are).
    pub adjustment: Option<Adjustment>,
    /// The calendar of the regular session; `None`: the one of the symbol's zone.
    pub calendar: Option<Calendar>,
    /// Adjust raw prices for the stored corporate actions.
    pub adjust: Option<Adjust>,
    /// Adjust as of the end of this exchange date (days since 1970-01-01): only actions
    /// with an ex-date up to it, in their versions loaded by then. `None`: every action,
    /// newest versions.
    pub as_of: Option<i64>,
    /// The version of the store to read (the latest for `None`): see [`Store::view`].
    pub version: Option<AsOf>,
}

/// The result of a read: bars with their wall-clock times in `zone`.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The zone of `local`.
    pub zone: String,
    /// Bar start as wall-clock seconds since the local epoch.
    pub local: Vec<i64>,
    /// The bars (`ts` in UTC ms).
    pub bars: Bars,
}

/// Rounds half to even at `decimals`, as `numpy.round` and `DataFrame.round` do.
pub fn round_to(x: f64, decimals: u32) -> f64 {
    let p = 10f64.powi(decimals as i32);
    (x * p).round_ties_even() / p
}

/// The stored series of `symbol` a read means: with `adjustment` when given, else the
/// only one stored; in `timeframe` when given, else the finest stored.
pub fn resolve_series(
    store: &dyn Store,
    symbol: &str,
    timeframe: Option<Timeframe>,
    adjustment: Option<&Adjustment>,
) -> Result<Series> {
    pick_series(&store.series_of(symbol)?, symbol, timeframe, adjustment)
}

/// The series of `stored` (those of `symbol`) a read means, as [`resolve_series`].
fn pick_series(
    stored: &[Series],
    symbol: &str,
    timeframe: Option<Timeframe>,
    adjustment: Option<&Adjustment>,
) -> Result<Series> {
    if stored.is_empty() {
        return Err(ReadError::UnknownSymbol(symbol.to_string()).into());
    }
    let list = |series: &[Series]| {
        series
            .iter()
            .map(|s| format!("{} {}", s.timeframe, s.adjustment))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let fitting: Vec<Series> = stored
        .iter()
        .filter(|s| adjustment.is_none_or(|a| s.adjustment == *a))
        .filter(|s| timeframe.is_none_or(|t| s.timeframe == t))
        .cloned()
        .collect();
    let Some(finest) = fitting.iter().map(|s| s.timeframe).min() else {
        return Err(ReadError::UnknownSeries {
            symbol: symbol.to_string(),
            wanted: [
                timeframe.map(|t| t.to_string()),
                adjustment.map(|a| a.to_string()),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
            stored: list(stored),
        }
        .into());
    };
    let mut candidates: Vec<Series> = fitting
        .into_iter()
        .filter(|s| s.timeframe == finest)
        .collect();
    if candidates.len() > 1 {
        return Err(ReadError::Ambiguous {
            symbol: symbol.to_string(),
            what: format!("{finest} adjustments"),
            choices: candidates
                .iter()
                .map(|s| s.adjustment.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into());
    }
    Ok(candidates.remove(0))
}

/// Reads a symbol's bars, from one version of the store.
pub fn read(store: &dyn Store, req: &ReadRequest) -> Result<Frame> {
    let pinned = store.view(req.version.as_ref())?;
    let store = pinned.as_deref().unwrap_or(store);
    read_of(store, req, &store.lookup(&req.symbol)?)
}

/// Reads a symbol's bars, given the series stored for it (a many-symbol read has
/// looked them up already).
pub fn read_of(store: &dyn Store, req: &ReadRequest, stored: &[Found]) -> Result<Frame> {
    let mut scan = scan_of(req, stored)?;
    if req.adjust.is_some() {
        adjust_scan(store, req, &mut scan, &store.actions(Some(&req.symbol))?)?;
    }
    let bars = store.scan_found(&scan.found, scan.start, scan.end)?;
    frame_of(req, scan, bars)
}

/// What a read of one symbol scans: the series it means, and the instants (UTC ms) of
/// the request's bounds in the zone it is shown in.
pub struct Scan {
    /// The series, as looked up.
    pub found: Found,
    /// The first instant.
    pub start: i64,
    /// The last instant.
    pub end: i64,
    zone: Zone,
    zone_name: String,
    factors: Vec<Factor>,
}

/// Gives `scan` the factors of the request's adjustment, from `versions` (the stored
/// actions of its symbol; others are ignored).
pub fn adjust_scan(
    store: &dyn Store,
    req: &ReadRequest,
    scan: &mut Scan,
    versions: &[Action],
) -> Result<()> {
    if let Some(how) = req.adjust {
        let in_effect = actions::in_effect(versions, req.as_of);
        scan.factors = adjust::factors(store, &scan.found, &in_effect, how, req.calendar)?;
    }
    Ok(())
}

/// The scan a read of `req.symbol` makes, given the series stored for it.
pub fn scan_of(req: &ReadRequest, stored: &[Found]) -> Result<Scan> {
    let all: Vec<Series> = stored.iter().map(|f| f.series.clone()).collect();
    let series = pick_series(&all, &req.symbol, req.timeframe, req.adjustment.as_ref())?;
    let found = &stored[all.iter().position(|s| *s == series).unwrap_or_default()];
    if let Some(target) = req.resample {
        if !series.timeframe.divides(target) {
            return Err(ReadError::Resample {
                series: series.to_string(),
                target: target.to_string(),
                base: series.timeframe.to_string(),
            }
            .into());
        }
    }
    let exchange_zone = found.zone.clone();
    let zone_name = req.tz.clone().unwrap_or_else(|| exchange_zone.clone());
    let zone = Zone::new(&zone_name)?;
    let start = match &req.start {
        Some(b) => zone.bound_to_utc_ms(b.local)?,
        None => i64::MIN,
    };
    let end = match &req.end {
        Some(b) if b.whole_day => zone.bound_to_utc_ms(b.local + DAY)? - 1,
        Some(b) => zone.bound_to_utc_ms(b.local)?,
        None => i64::MAX,
    };
    if start > end {
        return Err(ReadError::Range {
            start: req.start.as_ref().map(Bound::to_string).unwrap_or_default(),
            end: req.end.as_ref().map(Bound::to_string).unwrap_or_default(),
        }
        .into());
    }
    Ok(Scan {
        found: found.clone(),
        start,
        end,
        zone,
        zone_name,
        factors: Vec::new(),
    })
}

/// The frame of a read of one symbol from the bars its scan found: adjusted for
/// corporate actions, then filtered to the session, resampled and rounded, in that
/// order.
pub fn frame_of(req: &ReadRequest, scan: Scan, mut bars: Bars) -> Result<Frame> {
    let Scan {
        found,
        mut zone,
        zone_name,
        factors,
        ..
    } = scan;
    let (series, exchange_zone) = (&found.series, &found.zone);
    if !factors.is_empty() {
        // a bar's factors go by its exchange date, whatever zone it is shown in
        let mut exchange = Zone::new(exchange_zone)?;
        let days: Vec<i64> = bars
            .ts
            .iter()
            .map(|&t| exchange.utc_ms_to_local(t).div_euclid(DAY))
            .collect();
        adjust::apply(&mut bars, &days, &factors);
    }
    let mut local: Vec<i64> = bars.ts.iter().map(|&t| zone.utc_ms_to_local(t)).collect();
    // daily bars carry a date, not a time of day: every session keeps them
    if req.session == SessionFilter::Regular && !series.timeframe.is_daily() {
        // the session is the exchange's, whatever zone the bars are shown in
        let calendar = req
            .calendar
            .unwrap_or_else(|| Calendar::for_zone(exchange_zone));
        let mut exchange = Zone::new(calendar.zone().unwrap_or(exchange_zone))?;
        let mut regular = calendar.regular_filter();
        let keep: Vec<bool> = bars
            .ts
            .iter()
            .map(|&t| regular.is_regular(exchange.utc_ms_to_local(t)))
            .collect();
        bars = bars.retain_index(|i| keep[i]);
        local.retain({
            let mut k = keep.iter();
            move |_| *k.next().expect("one flag per bar")
        });
    }
    if let Some(interval) = req.resample {
        let (labels, mut agg) = resample(&local, &bars, interval);
        agg.ts = labels
            .iter()
            .map(|&l| zone.bound_to_utc_ms(l))
            .collect::<Result<_, ReadError>>()?;
        local = labels;
        bars = agg;
    }
    if let Some(d) = req.round {
        for col in bars.values_mut() {
            col.iter_mut().for_each(|x| *x = round_to(*x, d));
        }
    }
    Ok(Frame {
        zone: zone_name,
        local,
        bars,
    })
}

#[cfg(test)]
mod tests {
    use super::bound::parse_bound;
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(parse_bound("1970-01-02").unwrap(), (DAY, true));
        assert_eq!(
            parse_bound("1970-01-02 09:30").unwrap(),
            (DAY + 34_200, false)
        );
        assert_eq!(
            parse_bound("1970-01-02T09:30:05").unwrap(),
            (DAY + 34_205, false)
        );
        for bad in [
            "yesterday",
            "1970-01-02 9:30",
            "1970-01-02x09:30",
            "1970-13-01",
        ] {
            let err = parse_bound(bad).unwrap_err().to_string();
            assert!(err.contains("YYYY-MM-DD"), "{bad}: {err}");
        }
    }

    #[test]
    fn rounding_matches_numpy() {
        assert_eq!(round_to(170.12345, 4), 170.1234);
        assert_eq!(round_to(170.12355, 4), 170.1236);
        assert_eq!(round_to(2.5, 0), 2.0);
        assert_eq!(round_to(3.5, 0), 4.0);
        assert_eq!(round_to(18053.0, 4), 18053.0);
    }

    #[test]
    fn sessions() {
        assert_eq!(
            "regular".parse::<SessionFilter>().unwrap(),
            SessionFilter::Regular
        );
        assert_eq!("ALL".parse::<SessionFilter>().unwrap(), SessionFilter::All);
        assert!("pre"
            .parse::<SessionFilter>()
            .unwrap_err()
            .to_string()
            .contains("all or regular"));
    }
}
