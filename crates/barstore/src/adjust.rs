//! Corporate actions into a store ([`load_actions`]) and raw prices adjusted with them
//! on read, for splits and dividends, by the standard backward
//! method: every bar before an action's ex-date is multiplied by the action's price
//! factor, and the factors of several actions multiply.
//!
//! - A split of `to` new shares for `from` old ones has price factor `from / to`;
//!   volumes before it are divided by that factor (multiplied by `to / from`).
//! - A cash dividend `D` has price factor `1 - D / C`, where `C` is the last regular
//!   session close before the ex-date (unadjusted); volumes are left alone.
//!
//! Factors are computed on the raw series, so the order in which actions were loaded
//! or the range read does not matter; a bar's factor depends only on its exchange date.

use crate::actions::{self, Action, ActionsReport, Event};
use crate::bars::Bars;
use crate::error::{OptionError, ReadError, Result};
use crate::exchange::Calendar;
use crate::series::Series;
use crate::store::{Found, Store};
use crate::zone::{format_date, Zone, DAY};
use std::collections::HashMap;
use std::path::Path;

/// Days before an ex-date searched for the close a dividend is measured against.
const CLOSE_LOOKBACK_DAYS: i64 = 31;

/// Loads an actions CSV into `store`: good rows are stored whatever their neighbours;
/// rejected ones are reported with their line and reason. `calendar` says which dates
/// are trading days (an ex-date must be one).
pub fn load_actions(store: &dyn Store, path: &Path, calendar: Calendar) -> Result<ActionsReport> {
    let file = path.display().to_string();
    let text = crate::source::read_listing(path)?;
    let (parsed, mut report) = actions::parse(&file, &text, calendar)?;
    let stored = store.actions(None)?;
    let mut latest: HashMap<(&str, i64, &str), &Action> = HashMap::new();
    for a in &stored {
        let e = latest.entry(a.key()).or_insert(a);
        if a.recorded > e.recorded {
            *e = a;
        }
    }
    // dividends are checked against the stored closes: with the store's write lock
    // taken (and, on CQL, its tables made) first, as the write of the actions takes them
    if parsed
        .iter()
        .any(|(_, a)| matches!(a.event, Event::Dividend { .. }))
    {
        store.begin_load()?;
    }
    let now = now_ms();
    let mut new = Vec::new();
    for (line, mut a) in parsed {
        if let Event::Dividend { cash } = a.event {
            if let Some((series, close)) = close_below(store, &a, cash, calendar)? {
                report.rejected.push((
                    line,
                    format!(
                        "the dividend of {cash} on {} is not below the close before it ({close}, {series}); check the amount",
                        format_date(a.ex_date)
                    ),
                ));
                continue;
            }
        }
        match latest.get(&a.key()) {
            Some(old) if old.event == a.event => report.unchanged += 1,
            Some(_) => {
                report.changed += 1;
                a.recorded = now;
                new.push(a);
            }
            None => {
                report.added += 1;
                a.recorded = now;
                new.push(a);
            }
        }
    }
    store.put_actions(&new)?;
    Ok(report)
}

/// A stored raw series of the action's symbol whose last close before the ex-date is
/// not above the dividend `cash`, with that close: such a dividend would make the
/// adjustment factor zero or negative.
fn close_below(
    store: &dyn Store,
    action: &Action,
    cash: f64,
    calendar: Calendar,
) -> Result<Option<(Series, f64)>> {
    for found in store.lookup(&action.symbol)? {
        if !is_raw(&found.series) {
            continue;
        }
        let zone = Zone::new(&found.zone)?;
        if let Some(close) = last_close(store, &found, &zone, calendar, action.ex_date)? {
            if close <= cash {
                return Ok(Some((found.series, close)));
            }
        }
    }
    Ok(None)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The stored actions of `symbol` (every symbol for `None`) sorted by symbol, ex-date
/// and kind: the versions in effect now, or every version (oldest first) with
/// `history`.
pub fn listed(store: &dyn Store, symbol: Option<&str>, history: bool) -> Result<Vec<Action>> {
    let mut all = store.actions(symbol)?;
    if !history {
        all = actions::in_effect(&all, None)
            .into_iter()
            .cloned()
            .collect();
    }
    all.sort_by(|a, b| (a.key(), a.recorded).cmp(&(b.key(), b.recorded)));
    Ok(all)
}

/// Which actions a read adjusts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjust {
    /// Splits only: what vendors call split-adjusted.
    Split,
    /// Splits and cash dividends: what vendors call split- and dividend-adjusted.
    SplitDiv,
}

impl std::str::FromStr for Adjust {
    type Err = OptionError;
    fn from_str(s: &str) -> Result<Self, OptionError> {
        match s.to_ascii_lowercase().as_str() {
            "split" | "splits" => Ok(Adjust::Split),
            "split+div" | "splitdiv" | "split+dividend" | "all" => Ok(Adjust::SplitDiv),
            _ => Err(OptionError::new("adjust", s, "use split or split+div")),
        }
    }
}

/// One action's factors from its ex-date back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Factor {
    /// Bars on exchange dates before this one (days since 1970-01-01) are adjusted.
    pub ex_date: i64,
    /// Multiplies prices.
    pub price: f64,
    /// Multiplies volumes.
    pub volume: f64,
}

/// Adjustment names of series that hold raw prices.
const RAW: &[&str] = &["none", "unadjusted", "raw"];

/// Does `series` hold raw prices (adjustment `none`, `unadjusted` or `raw`)?
pub fn is_raw(series: &Series) -> bool {
    RAW.contains(&series.adjustment.as_str())
}

/// The factors of `actions` (the symbol's, in effect as of the read's date) for the
/// looked-up series `found`: dividends need the last regular close before their
/// ex-date, read from the store.
pub fn factors(
    store: &dyn Store,
    found: &Found,
    actions: &[&Action],
    adjust: Adjust,
    calendar: Option<Calendar>,
) -> Result<Vec<Factor>> {
    let series = &found.series;
    if !is_raw(series) {
        return Err(ReadError::Adjust {
            series: series.to_string(),
            detail: format!(
                "its prices are already adjusted ({}); adjust on read applies to raw series (adjustment {})",
                series.adjustment,
                RAW.join(", ")
            ),
        }
        .into());
    }
    let zone = Zone::new(&found.zone)?;
    let calendar = calendar.unwrap_or_else(|| Calendar::for_zone(&found.zone));
    let mut out = Vec::new();
    for a in actions.iter().filter(|a| a.symbol == series.symbol) {
        let (price, volume) = match a.event {
            Event::Split { from, to } => (from / to, to / from),
            Event::Dividend { cash } if adjust == Adjust::SplitDiv => {
                match last_close(store, found, &zone, calendar, a.ex_date)? {
                    Some(close) if close > cash => (1.0 - cash / close, 1.0),
                    // stored before its bars were (a load refuses it once they are)
                    Some(close) => {
                        tracing::warn!(
                            "{series}: the dividend of {cash} on {} is not below the close before it ({close}); read without it",
                            format_date(a.ex_date)
                        );
                        continue;
                    }
                    None => continue,
                }
            }
            Event::Dividend { .. } => continue,
        };
        out.push(Factor {
            ex_date: a.ex_date,
            price,
            volume,
        });
    }
    out.sort_by_key(|f| f.ex_date);
    Ok(out)
}

/// The last regular-session close of `found` before `ex_date` (within
/// [`CLOSE_LOOKBACK_DAYS`]); the last bar's close for daily series.
fn last_close(
    store: &dyn Store,
    found: &Found,
    zone: &Zone,
    calendar: Calendar,
    ex_date: i64,
) -> Result<Option<f64>> {
    let start = zone.bound_to_utc_ms((ex_date - CLOSE_LOOKBACK_DAYS) * DAY)?;
    let end = zone.bound_to_utc_ms(ex_date * DAY)? - 1;
    let bars = store.scan_found(found, start, end)?;
    if found.series.timeframe.is_daily() {
        return Ok(bars.close.last().copied());
    }
    let mut exchange = Zone::new(calendar.zone().unwrap_or(&found.zone))?;
    let mut regular = calendar.regular_filter();
    Ok((0..bars.len())
        .rev()
        .find(|&i| regular.is_regular(exchange.utc_ms_to_local(bars.ts[i])))
        .map(|i| bars.close[i]))
}

/// Multiplies each bar by the factors of the ex-dates after its exchange date `days[i]`
/// (bars sorted by time, `factors` by ex-date).
pub fn apply(bars: &mut Bars, days: &[i64], factors: &[Factor]) {
    if factors.is_empty() {
        return;
    }
    // suffix[k]: the product of factors k.. (what a bar before factors[k] takes)
    let mut suffix = vec![(1.0, 1.0); factors.len() + 1];
    for k in (0..factors.len()).rev() {
        let (p, v) = suffix[k + 1];
        suffix[k] = (p * factors[k].price, v * factors[k].volume);
    }
    let mut k = 0;
    for (i, &day) in days.iter().enumerate() {
        while k < factors.len() && factors[k].ex_date <= day {
            k += 1;
        }
        if k == factors.len() {
            break;
        }
        let (p, v) = suffix[k];
        bars.open[i] *= p;
        bars.high[i] *= p;
        bars.low[i] *= p;
        bars.close[i] *= p;
        bars.volume[i] *= v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_take_the_factors_of_later_ex_dates() {
        let mut bars = Bars::default();
        for (i, price) in [100.0, 100.0, 50.0, 50.0].into_iter().enumerate() {
            bars.push((i as i64, [price, price, price, price, 10.0]));
        }
        let factors = [
            Factor {
                ex_date: 2,
                price: 0.5,
                volume: 2.0,
            },
            Factor {
                ex_date: 3,
                price: 0.9,
                volume: 1.0,
            },
        ];
        apply(&mut bars, &[1, 1, 2, 3], &factors);
        assert_eq!(bars.close, [45.0, 45.0, 45.0, 50.0]);
        assert_eq!(bars.volume, [20.0, 20.0, 10.0, 10.0]);
    }

    #[test]
    fn adjust_names() {
        assert_eq!("split".parse::<Adjust>().unwrap(), Adjust::Split);
        assert_eq!("Split+Div".parse::<Adjust>().unwrap(), Adjust::SplitDiv);
        let e = "dividends".parse::<Adjust>().unwrap_err().to_string();
        assert!(e.contains("use split or split+div"), "{e}");
    }
}
