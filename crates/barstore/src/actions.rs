//! Corporate actions: the splits and cash dividends of a symbol by ex-date, kept beside
//! the bars so that raw (unadjusted) series can be adjusted on read as of any date.
//!
//! A store keeps every version of an action: loading a row that differs from the one
//! stored for the same symbol, ex-date and kind adds a version recorded at the load's
//! time, and reads as of a date before that load still see the old value (see
//! [`in_effect`]). Loading an unchanged row adds nothing, so loads are idempotent.
//!
//! Action files are CSV with a header naming `symbol`, `ex_date` and either
//! `split_from,split_to` (a 4-for-1 split is `AAPL,2020-08-31,1,4`) or `dividend` (cash
//! per share), or all of them; an optional `source` column says where a row came from.
//! [`crate::adjust`] stores them and adjusts reads with them.

use crate::error::{FileError, Result};
use crate::exchange::Calendar;
use crate::parse::parse_date;
use crate::symbol;
use crate::zone::{format_date, DAY};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What happened on the ex-date.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// `to` new shares for every `from` old ones: prices before the ex-date are
    /// multiplied by `from / to` and volumes by `to / from`.
    Split {
        /// Old shares.
        from: f64,
        /// New shares.
        to: f64,
    },
    /// A cash dividend per share.
    Dividend {
        /// Cash per share, in the quote currency of the unadjusted prices.
        cash: f64,
    },
}

impl Event {
    /// `split` or `dividend`: with the symbol and ex-date, the key of an action.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Split { .. } => "split",
            Event::Dividend { .. } => "dividend",
        }
    }

    /// `(split_from, split_to, dividend)` as an actions file's columns hold them.
    pub fn values(&self) -> (Option<f64>, Option<f64>, Option<f64>) {
        match *self {
            Event::Split { from, to } => (Some(from), Some(to), None),
            Event::Dividend { cash } => (None, None, Some(cash)),
        }
    }
}

/// One version of a corporate action.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// The symbol.
    pub symbol: String,
    /// The ex-date, days since 1970-01-01 (an exchange date).
    pub ex_date: i64,
    /// The split or dividend.
    pub event: Event,
    /// Where it came from: the file it was loaded from, unless the file names a source.
    pub source: String,
    /// When this version was loaded (UTC milliseconds).
    pub recorded: i64,
}

impl Action {
    /// The key its versions share.
    pub fn key(&self) -> (&str, i64, &'static str) {
        (&self.symbol, self.ex_date, self.event.kind())
    }
}

/// The version of each action in effect as of the end of `as_of` (days since
/// 1970-01-01; `None`: every action, newest versions), for actions whose ex-date is on
/// or before `as_of`, sorted by symbol and ex-date. The first version of an action is in
/// effect from the start: an action loaded today for an ex-date years ago counts as of
/// any date after that ex-date. A later version is in effect from the day it was
/// loaded.
pub fn in_effect(versions: &[Action], as_of: Option<i64>) -> Vec<&Action> {
    let mut by_key: BTreeMap<(&str, i64, &str), Vec<&Action>> = BTreeMap::new();
    for a in versions {
        if as_of.is_none_or(|d| a.ex_date <= d) {
            by_key.entry(a.key()).or_default().push(a);
        }
    }
    by_key
        .into_values()
        .map(|mut v| {
            v.sort_by_key(|a| a.recorded);
            let known = |a: &&&Action| as_of.is_none_or(|d| a.recorded < (d + 1) * DAY * 1000);
            v.iter().rev().find(known).copied().unwrap_or(v[0])
        })
        .collect()
}

/// What loading an actions file did.
#[derive(Debug, Default, Serialize)]
pub struct ActionsReport {
    /// Rows read (after the header).
    pub rows: u64,
    /// Actions stored for the first time.
    pub added: u64,
    /// Actions whose stored value changed (the old one stays in the history).
    pub changed: u64,
    /// Actions already stored with the same value.
    pub unchanged: u64,
    /// Rejected rows: line number and reason.
    pub rejected: Vec<(u64, String)>,
}

/// The columns of an actions file's header.
struct Columns {
    symbol: usize,
    ex_date: usize,
    split: Option<(usize, usize)>,
    dividend: Option<usize>,
    source: Option<usize>,
}

impl Columns {
    fn of(file: &str, header: &str) -> Result<Columns> {
        let names: Vec<String> = header
            .split(',')
            .map(|c| c.trim().to_ascii_lowercase())
            .collect();
        let at = |n: &str| names.iter().position(|c| c == n);
        let bad = |detail: &str| {
            FileError::Header {
            file: file.to_string(),
            detail: format!("{detail}; the header is {header:?}, expected symbol,ex_date,split_from,split_to or symbol,ex_date,dividend"),
        }
        };
        let (Some(symbol), Some(ex_date)) = (at("symbol"), at("ex_date")) else {
            return Err(bad("no symbol or ex_date column").into());
        };
        let split = match (at("split_from"), at("split_to")) {
            (Some(f), Some(t)) => Some((f, t)),
            (None, None) => None,
            _ => return Err(bad("split_from and split_to go together").into()),
        };
        let dividend = at("dividend");
        if split.is_none() && dividend.is_none() {
            return Err(bad("no split_from,split_to or dividend columns").into());
        }
        Ok(Columns {
            symbol,
            ex_date,
            split,
            dividend,
            source: at("source"),
        })
    }
}

/// The actions of a file's rows (with their line numbers; `recorded` is left 0), and
/// the report of the rows it rejected. A row may hold a split, a dividend or both.
pub fn parse(
    file: &str,
    text: &str,
    calendar: Calendar,
) -> Result<(Vec<(u64, Action)>, ActionsReport)> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i as u64 + 1, l));
    let header = lines
        .next()
        .map_or("", |(_, l)| l.trim_start_matches('\u{feff}'));
    let cols = Columns::of(file, header)?;
    let mut report = ActionsReport::default();
    let mut out: Vec<(u64, Action)> = Vec::new();
    let mut seen: HashMap<(String, i64, &'static str), (u64, Event)> = HashMap::new();
    for (line, text) in lines {
        if text.trim().is_empty() {
            continue;
        }
        report.rows += 1;
        match row(file, &cols, text, calendar) {
            Ok(actions) => {
                for a in actions {
                    let key = (a.symbol.clone(), a.ex_date, a.event.kind());
                    match seen.get(&key) {
                        Some((_, e)) if *e == a.event => {}
                        Some((first, _)) => report.rejected.push((
                            line,
                            format!(
                                "the {} of {} on {} differs from the one at line {first}",
                                a.event.kind(),
                                a.symbol,
                                format_date(a.ex_date)
                            ),
                        )),
                        None => {
                            seen.insert(key, (line, a.event));
                            out.push((line, a));
                        }
                    }
                }
            }
            Err(reason) => report.rejected.push((line, reason)),
        }
    }
    Ok((out, report))
}

/// The widest split ratio an action may have, either way (10,000 new shares for one, or
/// one for 10,000): a wider one is a typo, and would scale prices out of any sense.
pub const MAX_SPLIT: f64 = 10_000.0;

/// The actions of one row, or why it is rejected.
fn row(file: &str, cols: &Columns, text: &str, calendar: Calendar) -> Result<Vec<Action>, String> {
    let fields: Vec<&str> = text.split(',').map(str::trim).collect();
    let field = |i: usize| fields.get(i).copied().unwrap_or("");
    let symbol = field(cols.symbol).to_string();
    symbol::validate(&symbol).map_err(|e| e.to_string())?;
    let date = field(cols.ex_date);
    let ex_date = match parse_date(date.as_bytes()) {
        Some((day, n)) if n == date.len() => day,
        _ => return Err(format!("ex_date {date:?} is not a date (YYYY-MM-DD)")),
    };
    if calendar.session(ex_date).is_none() {
        return Err(format!(
            "ex_date {date} is not a trading day (the exchange is closed)"
        ));
    }
    let number = |name: &str, i: usize| -> Result<Option<f64>, String> {
        let s = field(i);
        if s.is_empty() {
            return Ok(None);
        }
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Ok(Some(x)),
            _ => Err(format!("{name} {s:?} must be a positive number")),
        }
    };
    let mut events = Vec::new();
    if let Some((f, t)) = cols.split {
        match (number("split_from", f)?, number("split_to", t)?) {
            (Some(from), Some(to)) if from == to => {
                return Err(format!("a {to}:{from} split changes nothing"))
            }
            (Some(from), Some(to)) if !(1.0 / MAX_SPLIT..=MAX_SPLIT).contains(&(to / from)) => {
                return Err(format!(
                    "split_from {} and split_to {} make a ratio outside 1:{MAX_SPLIT}..{MAX_SPLIT}:1; check them",
                    field(f),
                    field(t)
                ))
            }
            (Some(from), Some(to)) => events.push(Event::Split { from, to }),
            (None, None) => {}
            _ => return Err("a split needs both split_from and split_to".into()),
        }
    }
    if let Some(d) = cols.dividend {
        if let Some(cash) = number("dividend", d)? {
            events.push(Event::Dividend { cash });
        }
    }
    if events.is_empty() {
        return Err("no split or dividend on this row".into());
    }
    let source = cols
        .source
        .map(field)
        .filter(|s| !s.is_empty())
        .unwrap_or(file)
        .to_string();
    Ok(events
        .into_iter()
        .map(|event| Action {
            symbol: symbol.clone(),
            ex_date,
            event,
            source: source.clone(),
            recorded: 0,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::days_from_civil;

    fn day(y: i64, m: u32, d: u32) -> i64 {
        days_from_civil(y, m, d)
    }

    #[test]
    fn rows_of_both_headers_parse_and_bad_rows_say_why() {
        let text = "symbol,ex_date,split_from,split_to\nAAPL,2020-08-31,1,4\n\
                    ../x,2020-08-31,1,4\nAAPL,2020-08-29,1,4\nAAPL,2020-09-01,0,4\n\
                    AAPL,2020-09-02,2,2\nAAPL,2020-09-03,1,\nAAPL,2020-13-01,1,2\n";
        let (ok, report) = parse("a.csv", text, Calendar::UsEquity).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].0, 2);
        assert_eq!(ok[0].1.ex_date, day(2020, 8, 31));
        assert_eq!(ok[0].1.event, Event::Split { from: 1.0, to: 4.0 });
        assert_eq!(ok[0].1.source, "a.csv");
        let lines: Vec<u64> = report.rejected.iter().map(|r| r.0).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8]);
        let why: Vec<&str> = report.rejected.iter().map(|r| r.1.as_str()).collect();
        assert!(why[0].contains("invalid symbol"), "{}", why[0]);
        assert!(why[1].contains("not a trading day"), "{}", why[1]);
        assert!(
            why[2].contains("split_from \"0\" must be a positive number"),
            "{}",
            why[2]
        );
        assert!(why[3].contains("changes nothing"), "{}", why[3]);
        assert!(why[4].contains("needs both"), "{}", why[4]);
        assert!(why[5].contains("is not a date"), "{}", why[5]);

        let (ok, report) = parse(
            "d.csv",
            "Symbol,Ex_Date,Dividend,Source\nMSFT,2024-02-14,0.75,vendor\nMSFT,2024-02-15,-1,\n",
            Calendar::UsEquity,
        )
        .unwrap();
        assert_eq!(ok[0].1.event, Event::Dividend { cash: 0.75 });
        assert_eq!(ok[0].1.source, "vendor");
        assert_eq!(report.rejected.len(), 1);
    }

    #[test]
    fn a_header_without_the_columns_is_refused_naming_the_file() {
        let e = parse("x.csv", "symbol,date,ratio\n", Calendar::UsEquity).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("x.csv: line 1: no symbol or ex_date column"),
            "{msg}"
        );
    }

    #[test]
    fn a_key_given_twice_with_other_values_is_rejected_at_its_second_line() {
        let text =
            "symbol,ex_date,dividend\nA,2024-02-14,0.5\nA,2024-02-14,0.5\nA,2024-02-14,0.6\n";
        let (ok, report) = parse("d.csv", text, Calendar::UsEquity).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(report.rejected[0].0, 4);
        assert!(report.rejected[0].1.contains("line 2"));
    }

    #[test]
    fn versions_in_effect_follow_the_as_of_date() {
        let v = |ex: i64, cash: f64, recorded_day: i64| Action {
            symbol: "A".into(),
            ex_date: ex,
            event: Event::Dividend { cash },
            source: String::new(),
            recorded: recorded_day * DAY * 1000 + 5,
        };
        let (ex, loaded, fixed) = (day(2024, 2, 14), day(2024, 6, 1), day(2024, 9, 1));
        let versions = [v(ex, 0.5, loaded), v(ex, 0.6, fixed)];
        let cash = |as_of| {
            in_effect(&versions, as_of)
                .iter()
                .map(|a| a.event)
                .collect::<Vec<_>>()
        };
        assert_eq!(cash(None), [Event::Dividend { cash: 0.6 }]);
        assert_eq!(cash(Some(fixed)), [Event::Dividend { cash: 0.6 }]);
        assert_eq!(cash(Some(fixed - 1)), [Event::Dividend { cash: 0.5 }]);
        // loaded after the as-of date: the first version counts from the start
        assert_eq!(cash(Some(ex)), [Event::Dividend { cash: 0.5 }]);
        assert!(cash(Some(ex - 1)).is_empty());
    }
}
