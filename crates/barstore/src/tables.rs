//! The library's listings as Arrow tables: stored series, corporate actions, a
//! verification, a check and a calendar's sessions. The Python package hands them to
//! pandas as they are, so their columns, names and types are decided once, here.
//!
//! Exchange times are naive timestamps (wall clock, as bars are read); times an event
//! happened (an action's version) are UTC.

use crate::actions::Action;
use crate::check::SeriesReport;
use crate::exchange::Session;
use crate::store::SeriesInfo;
use crate::verify::VerifyReport;
use crate::zone::Zone;
use crate::Result;
use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, ListBuilder, StringArray,
    StringBuilder, TimestampMillisecondArray,
};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use std::collections::hash_map::{Entry, HashMap};
use std::sync::Arc;

const DAY_MS: i64 = 86_400_000;

/// A table from named columns; only those named `optional` may hold nulls, so a
/// listing has the same schema whatever its rows.
fn table(columns: Vec<(&str, ArrayRef)>, optional: &[&str]) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), optional.contains(name)))
        .collect();
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("columns of one length")
}

fn strings(values: impl Iterator<Item = impl AsRef<str>>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

/// Counts as signed integers, which pandas subtracts without wrapping.
fn counts(values: impl Iterator<Item = u64>) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(values.map(|n| n as i64)))
}

fn exchange_times(ms: Vec<i64>) -> ArrayRef {
    Arc::new(TimestampMillisecondArray::from(ms))
}

fn dates(days: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(Date32Array::from_iter_values(days.map(|d| d as i32)))
}

fn string_lists(rows: impl Iterator<Item = Vec<String>>) -> ArrayRef {
    let mut lists = ListBuilder::new(StringBuilder::new());
    for row in rows {
        lists.append_value(row.into_iter().map(Some));
    }
    Arc::new(lists.finish())
}

/// Stored series, one row each: `symbol, timeframe, adjustment, rows, first, last, tz`,
/// first and last bar in the series' exchange time.
pub fn series(infos: &[SeriesInfo]) -> Result<RecordBatch> {
    // a zone per name, not per series: a whole market shares a few
    let mut zones: HashMap<&str, Zone> = HashMap::new();
    let (mut first, mut last) = (Vec::new(), Vec::new());
    for s in infos {
        let zone = match zones.entry(&s.zone) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(Zone::new(&s.zone)?),
        };
        first.push(zone.utc_ms_to_local(s.first) * 1000);
        last.push(zone.utc_ms_to_local(s.last) * 1000);
    }
    Ok(table(
        vec![
            (
                "symbol",
                strings(infos.iter().map(|s| s.series.symbol.as_str())),
            ),
            (
                "timeframe",
                strings(infos.iter().map(|s| s.series.timeframe.to_string())),
            ),
            (
                "adjustment",
                strings(infos.iter().map(|s| s.series.adjustment.as_str())),
            ),
            ("rows", counts(infos.iter().map(|s| s.rows))),
            ("first", exchange_times(first)),
            ("last", exchange_times(last)),
            ("tz", strings(infos.iter().map(|s| s.zone.as_str()))),
        ],
        &[],
    ))
}

/// Corporate action versions, one row each: `symbol, ex_date, kind, split_from,
/// split_to, dividend, source, recorded` (when the version was loaded, UTC).
pub fn actions(rows: &[Action]) -> RecordBatch {
    let values: Vec<_> = rows.iter().map(|a| a.event.values()).collect();
    let recorded = TimestampMillisecondArray::from_iter_values(rows.iter().map(|a| a.recorded))
        .with_timezone("UTC");
    table(
        vec![
            ("symbol", strings(rows.iter().map(|a| a.symbol.as_str()))),
            ("ex_date", dates(rows.iter().map(|a| a.ex_date))),
            ("kind", strings(rows.iter().map(|a| a.event.kind()))),
            (
                "split_from",
                Arc::new(Float64Array::from_iter(values.iter().map(|v| v.0))),
            ),
            (
                "split_to",
                Arc::new(Float64Array::from_iter(values.iter().map(|v| v.1))),
            ),
            (
                "dividend",
                Arc::new(Float64Array::from_iter(values.iter().map(|v| v.2))),
            ),
            ("source", strings(rows.iter().map(|a| a.source.as_str()))),
            ("recorded", Arc::new(recorded)),
        ],
        &["split_from", "split_to", "dividend"],
    )
}

/// A verification's series, one row each: `symbol, timeframe, adjustment, source_rows,
/// store_rows, missing, extra, different`.
pub fn verified(report: &VerifyReport) -> RecordBatch {
    let d = &report.series;
    table(
        vec![
            (
                "symbol",
                strings(d.iter().map(|d| d.series.symbol.as_str())),
            ),
            (
                "timeframe",
                strings(d.iter().map(|d| d.series.timeframe.to_string())),
            ),
            (
                "adjustment",
                strings(d.iter().map(|d| d.series.adjustment.as_str())),
            ),
            ("source_rows", counts(d.iter().map(|d| d.source_rows))),
            ("store_rows", counts(d.iter().map(|d| d.store_rows))),
            ("missing", counts(d.iter().map(|d| d.missing))),
            ("extra", counts(d.iter().map(|d| d.extra))),
            ("different", counts(d.iter().map(|d| d.different))),
        ],
        &[],
    )
}

/// Checked days, one row per series and day: `symbol, timeframe, adjustment, date,
/// trading, close, expected, present, missing, missing_runs, outside, zero_volume, flat,
/// jumps, split, flagged, findings`, the runs and jumps as lists of labels
/// (`11:24-11:30`, `spike 11:00 +30.0%`), the findings joined by `; `.
pub fn checked(reports: &[SeriesReport]) -> RecordBatch {
    let rows: Vec<_> = reports
        .iter()
        .flat_map(|r| r.days.iter().map(move |d| (r, d)))
        .collect();
    let u32s =
        |f: fn(&crate::check::DayReport) -> u32| counts(rows.iter().map(|(_, d)| u64::from(f(d))));
    table(
        vec![
            (
                "symbol",
                strings(rows.iter().map(|(r, _)| r.symbol.as_str())),
            ),
            (
                "timeframe",
                strings(rows.iter().map(|(r, _)| r.timeframe.as_str())),
            ),
            (
                "adjustment",
                strings(rows.iter().map(|(r, _)| r.adjustment.as_str())),
            ),
            ("date", dates(rows.iter().map(|(_, d)| d.day))),
            (
                "trading",
                Arc::new(BooleanArray::from_iter(
                    rows.iter().map(|(_, d)| Some(d.trading)),
                )),
            ),
            ("close", strings(rows.iter().map(|(_, d)| d.close.as_str()))),
            (
                "expected",
                Arc::new(Int64Array::from_iter(
                    rows.iter().map(|(_, d)| d.expected.map(i64::from)),
                )),
            ),
            ("present", u32s(|d| d.present)),
            ("missing", u32s(|d| d.missing)),
            (
                "missing_runs",
                string_lists(
                    rows.iter()
                        .map(|(_, d)| d.missing_runs.iter().map(|r| r.label()).collect()),
                ),
            ),
            ("outside", u32s(|d| d.outside)),
            ("zero_volume", u32s(|d| d.zero_volume)),
            ("flat", u32s(|d| d.flat)),
            (
                "jumps",
                string_lists(
                    rows.iter()
                        .map(|(_, d)| d.jumps.iter().map(|j| j.label()).collect()),
                ),
            ),
            (
                "split",
                Arc::new(StringArray::from_iter(
                    rows.iter()
                        .map(|(_, d)| d.split.as_ref().map(|s| s.looks_like)),
                )),
            ),
            (
                "flagged",
                Arc::new(BooleanArray::from_iter(
                    rows.iter().map(|(_, d)| Some(d.flagged)),
                )),
            ),
            (
                "findings",
                strings(rows.iter().map(|(_, d)| d.findings.join("; "))),
            ),
        ],
        &["expected", "split"],
    )
}

/// A calendar's trading days: `date, open, close`, the regular session's open and close
/// in exchange time.
pub fn sessions(days: &[(i64, Session)]) -> RecordBatch {
    let at = |f: fn(&Session) -> i64| {
        exchange_times(days.iter().map(|(d, s)| d * DAY_MS + f(s) * 1000).collect())
    };
    table(
        vec![
            ("date", dates(days.iter().map(|(d, _)| *d))),
            ("open", at(|s| s.open)),
            ("close", at(|s| s.close)),
        ],
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::Event;
    use crate::exchange::Calendar;
    use crate::series::Series;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Date32Type, TimestampMillisecondType};

    #[test]
    fn series_times_are_exchange_wall_clock() {
        let info = SeriesInfo {
            series: Series::minute("AAPL").unwrap(),
            rows: 2,
            // 2024-07-01 13:30 and 20:00 UTC: 09:30 and 16:00 in New York (summer time)
            first: 1_719_840_600_000,
            last: 1_719_864_000_000,
            zone: "America/New_York".into(),
        };
        let t = series(&[info]).unwrap();
        let at = |c: &str| {
            t.column_by_name(c)
                .unwrap()
                .as_primitive::<TimestampMillisecondType>()
                .value(0)
        };
        assert_eq!(at("first"), 1_719_826_200_000);
        assert_eq!(at("last"), 1_719_849_600_000);
        assert_eq!(
            t.column_by_name("timeframe")
                .unwrap()
                .as_string::<i32>()
                .value(0),
            "1min"
        );
    }

    fn nullable(t: &RecordBatch) -> Vec<String> {
        let fields = t.schema_ref().fields().iter();
        fields
            .filter(|f| f.is_nullable())
            .map(|f| f.name().clone())
            .collect()
    }

    #[test]
    fn only_optional_columns_are_nullable() {
        let a = Action {
            symbol: "AAPL".into(),
            ex_date: 18_505,
            event: Event::Split { from: 1.0, to: 4.0 },
            source: "f.csv".into(),
            recorded: 0,
        };
        let t = actions(&[a]);
        assert_eq!(nullable(&t), ["split_from", "split_to", "dividend"]);
        assert_eq!(
            t.column_by_name("ex_date")
                .unwrap()
                .as_primitive::<Date32Type>()
                .value(0),
            18_505
        );
        assert!(t.column_by_name("dividend").unwrap().is_null(0));
        let empty = checked(&[]);
        assert_eq!(empty.num_rows(), 0);
        assert_eq!(nullable(&empty), ["expected", "split"]);
    }

    #[test]
    fn sessions_open_and_close_on_their_day() {
        // 2024-11-29, the day after Thanksgiving: an early close at 13:00
        let day = 20_056;
        let t = sessions(&Calendar::UsEquity.sessions(day, day));
        let at = |c: &str| {
            t.column_by_name(c)
                .unwrap()
                .as_primitive::<TimestampMillisecondType>()
                .value(0)
        };
        assert_eq!(at("open"), day * DAY_MS + 34_200_000);
        assert_eq!(at("close"), day * DAY_MS + 46_800_000);
        assert_eq!(
            t.column_by_name("date")
                .unwrap()
                .as_primitive::<Date32Type>()
                .value(0),
            day as i32
        );
    }
}
