//! The chunked layout: a CQL row per chunk of a series (an exchange day of intraday bars,
//! an exchange month of daily ones), holding the bar count, first and last instant, the
//! codec, a checksum and one compressed blob per column ([`crate::chunk`]). Partitions
//! are a series' month, as in the typed layout: at most 31 rows of a few KB each.
//!
//! ```text
//! t         (symbol text, timeframe text, adjustment text, bucket text, day date,
//!            bars int, first timestamp, last timestamp, chunk_codec int, checksum bigint,
//!            ts blob, open blob, high blob, low blob, close blob, volume blob,
//!            version bigint static,  -- the month's version: its fencing token
//!            PRIMARY KEY ((symbol, timeframe, adjustment, bucket), day))
//! t_symbols the index, as for the typed layout
//! ```
//!
//! Writing bars into a stored chunk reads it, merges (the new bars win per instant) and
//! rewrites it. Two writers merging into one month at once could each miss the other's
//! bars, so every write of a month is fenced by the month's version: the writer reads the
//! version with the chunks it merges into, and writes its chunks in a conditional batch
//! (`UPDATE ... SET version = next IF version = read`, one lightweight transaction per
//! batch, with the chunks in the same partition). When another writer got there first the
//! batch does not apply and the writer reads and merges again. Nothing is held between
//! the read and the write, so a writer that stalls (a paused process, a long GC) cannot
//! overwrite what others wrote meanwhile: its stale version is refused by the write
//! itself. A new day of an existing series costs one read and one transaction.
//!
//! The month's stats go to the index with the version as their write time, so the stats
//! of the latest version win whatever order writers finish in.

use super::{Fetched, Kind, TableLayout};
use crate::bars::Bars;
use crate::bucket::Month;
use crate::chunk;
use crate::error::{Result, StoreError};
use crate::series::Series;
use crate::store::cql::db::{
    backoff, cql_date, days_of, now_micros, Db, Keyed, MonthStats, NO_STATS,
};
use crate::store::cql::index::Index;
use crate::store::cql::target::Target;
use crate::store::MonthBars;
use crate::zone::{days_from_civil, format_date, Zone, DAY};
use futures::future::LocalBoxFuture;
use futures::{FutureExt, StreamExt};
use scylla::serialize::row::{RowSerializationContext, SerializeRow};
use scylla::serialize::writers::RowWriter;
use scylla::serialize::SerializationError;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlDate, CqlTimestamp};
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

#[cfg(test)]
mod tests;
mod write;

use write::{Writes, MONTH_CONCURRENCY};

/// The DDL of a chunked table and its index.
pub fn create(t: &Target, compaction: &str) -> Vec<String> {
    let (ks, tb) = (&t.keyspace, &t.table);
    vec![
        format!("CREATE TABLE IF NOT EXISTS {ks}.{tb} (symbol text, timeframe text, adjustment text, bucket text, day date, bars int, first timestamp, last timestamp, chunk_codec int, checksum bigint, ts blob, open blob, high blob, low blob, close blob, volume blob, version bigint static, PRIMARY KEY ((symbol, timeframe, adjustment, bucket), day)) WITH CLUSTERING ORDER BY (day ASC) AND compaction = {compaction}"),
        format!("CREATE TABLE IF NOT EXISTS {ks}.{tb}_symbols (symbol text, timeframe text, adjustment text, bucket text, zone text, rows bigint, first timestamp, last timestamp, PRIMARY KEY (symbol, timeframe, adjustment, bucket))"),
    ]
}

/// A chunked table's statements.
pub struct Chunked {
    index: Index,
    range: PreparedStatement,
    run: PreparedStatement,
    group: PreparedStatement,
    writes: tokio::sync::OnceCell<Writes>,
}

/// A stored chunk as read: its day, bar count, first and last instant, codec, checksum
/// and the blobs of `ts, open, high, low, close, volume`.
type Row = (
    CqlDate,
    i32,
    CqlTimestamp,
    CqlTimestamp,
    i32,
    i64,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
);

/// The day a chunk is keyed by: the exchange date of its bars, or for daily bars the
/// first day of their month. `local` is wall-clock seconds.
fn chunk_day(series: &Series, local: i64) -> i64 {
    let day = local.div_euclid(DAY);
    if series.timeframe.is_daily() {
        let m = Month::of_local(local);
        days_from_civil(i64::from(m.year), m.month, 1)
    } else {
        day
    }
}

/// The bars of each chunk day, by index: consecutive, since bars are sorted.
fn chunk_days(series: &Series, bars: &Bars, zone: &mut Zone) -> BTreeMap<i64, Range<usize>> {
    let mut days: BTreeMap<i64, Range<usize>> = BTreeMap::new();
    let mut add = |day: i64, r: Range<usize>| days.entry(day).or_insert(r.clone()).end = r.end;
    // the day in hand, put in the map when the next begins: not a lookup a bar
    let mut current: Option<(i64, Range<usize>)> = None;
    for (i, &t) in bars.ts.iter().enumerate() {
        let day = chunk_day(series, zone.utc_ms_to_local(t));
        match &mut current {
            Some((d, r)) if *d == day => r.end = i + 1,
            _ => {
                if let Some((d, r)) = current.replace((day, i..i + 1)) {
                    add(d, r);
                }
            }
        }
    }
    if let Some((d, r)) = current {
        add(d, r);
    }
    days
}

/// The partition of a series' month: `(symbol, timeframe, adjustment, bucket)`.
struct Partition {
    timeframe: String,
    bucket: String,
}

impl Partition {
    fn of(series: &Series, month: Month) -> Partition {
        Partition {
            timeframe: series.timeframe.to_string(),
            bucket: month.to_string(),
        }
    }

    /// The partition key's values.
    fn key<'a>(&'a self, series: &'a Series) -> [&'a str; 4] {
        [
            &series.symbol,
            &self.timeframe,
            series.adjustment.as_str(),
            &self.bucket,
        ]
    }
}

/// The chunk days of `month` that `start..=end` touches, for `series` in `zone`.
fn day_bounds(series: &Series, zone: &Zone, month: Month, start: i64, end: i64) -> (i64, i64) {
    let mut z = zone.clone();
    let first = m_start(month).max(start);
    let last = m_end(&mut z, month).min(end);
    (
        chunk_day(series, z.utc_ms_to_local(first)),
        chunk_day(series, z.utc_ms_to_local(last)),
    )
}

/// A stored chunk with its symbol, as a read of several symbols gets it.
type Named = (
    String,
    CqlDate,
    i32,
    CqlTimestamp,
    CqlTimestamp,
    i32,
    i64,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
);

/// The first instant of a month, far enough back for any zone.
fn m_start(month: Month) -> i64 {
    (month.start_local() - DAY) * 1000
}

/// The last instant of a month in `zone`.
fn m_end(zone: &mut Zone, month: Month) -> i64 {
    zone.bound_to_utc_ms(month.next().start_local())
        .map_or((month.next().start_local() + DAY) * 1000, |t| t - 1)
}

/// The columns of a chunk, in the order of [`Row`].
const COLUMNS: &str =
    "day, bars, first, last, chunk_codec, checksum, ts, open, high, low, close, volume";

impl Chunked {
    /// Prepares the read statements on an existing table.
    pub async fn open(db: &Db) -> Result<Chunked> {
        let (ks, tb) = (&db.target.keyspace, &db.target.table);
        let key = "symbol = ? AND timeframe = ? AND adjustment = ? AND bucket = ?";
        Ok(Chunked {
            index: Index::prepare(db).await?,
            range: db
                .prepare(format!(
                    "SELECT {COLUMNS} FROM {ks}.{tb} WHERE {key} AND day >= ? AND day <= ?"
                ))
                .await?,
            run: db.prepare(format!("SELECT {COLUMNS} FROM {ks}.{tb} WHERE symbol = ? AND timeframe = ? AND adjustment = ? AND bucket IN ? AND day >= ? AND day <= ?")).await?,
            group: db.prepare(format!("SELECT symbol, {COLUMNS} FROM {ks}.{tb} WHERE symbol IN ? AND timeframe = ? AND adjustment = ? AND bucket = ? AND day >= ? AND day <= ?")).await?,
            writes: tokio::sync::OnceCell::new(),
        })
    }

    /// Decodes one stored chunk, appending its bars to `out`; a corrupt chunk is an
    /// error naming the table, series and day.
    fn decode(db: &Db, series: &Series, row: Row, out: &mut Bars) -> Result<()> {
        let (day, n, _, _, codec, checksum, ts, open, high, low, close, volume) = row;
        let blobs = [&ts[..], &open, &high, &low, &close, &volume];
        chunk::decode(n.max(0) as usize, codec, checksum, blobs, out).map_err(|e| {
            db.target.schema_error(format!(
                "{series} {}: {e}; load that day's source file again with --force --overwrite-unreadable to rewrite it",
                format_date(days_of(day))
            ))
        })
    }

    /// Appends the bars with `start <= ts <= end` of the stored chunks of one month of
    /// `series` (sorted by day) to `out`, which makes room for the chunks' bar count at
    /// once: growing it chunk by chunk copied each column about twice and faulted in
    /// fresh pages at every step.
    fn decode_into(
        db: &Db,
        series: &Series,
        rows: Vec<Row>,
        start: i64,
        end: i64,
        out: &mut Bars,
    ) -> Result<()> {
        let at = out.len();
        out.reserve(rows.iter().map(|r| r.1.max(0) as usize).sum());
        for row in rows {
            Self::decode(db, series, row, out)?;
        }
        out.keep_within(at, start, end);
        Ok(())
    }

    /// The stored chunks of `months` (sorted) of `series` that `start..=end` touches,
    /// sorted by day: one request, by the partition's key where it is one month (the
    /// driver then sends it to a replica of that partition).
    async fn rows(
        &self,
        db: &Db,
        series: &Series,
        zone: &Zone,
        months: &[Month],
        start: i64,
        end: i64,
    ) -> Result<Vec<Row>> {
        let (Some(&first), Some(&last)) = (months.first(), months.last()) else {
            return Ok(Vec::new());
        };
        let days = (
            cql_date(day_bounds(series, zone, first, start, end).0),
            cql_date(day_bounds(series, zone, last, start, end).1),
        );
        let part = Partition::of(series, first);
        let what = || format!("reading {series} {} to {last}", part.bucket);
        let mut rows: Vec<Row> = Vec::new();
        let add = |row: Row| rows.push(row);
        if months.len() == 1 {
            let key = part.key(series);
            let values = Keyed {
                key: &key,
                rest: days,
            };
            db.pages(what, &self.range, values, add).await?;
        } else {
            let buckets: Vec<String> = months.iter().map(Month::to_string).collect();
            let [symbol, timeframe, adjustment, _] = part.key(series);
            let values = (symbol, timeframe, adjustment, &buckets, days.0, days.1);
            db.pages(what, &self.run, values, add).await?;
            // the node returns partitions in its own order
            rows.sort_unstable_by_key(|r| r.0 .0);
        }
        Ok(rows)
    }
}

impl TableLayout for Chunked {
    fn kind(&self) -> Kind {
        Kind::Chunked
    }

    fn index(&self) -> Option<&Index> {
        Some(&self.index)
    }

    fn write<'a>(
        &'a self,
        db: &'a Db,
        series: &'a Series,
        zone: &'a Zone,
        months: &'a [MonthBars],
    ) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            // a month that fails (a stored day it cannot read) fails alone: the others
            // are written, and the first failure is the write's
            let results: Vec<Result<()>> = futures::stream::iter(months)
                .map(|m| {
                    let mut z = zone.clone();
                    async move { self.write_month(db, series, m, &mut z).await }
                })
                .buffer_unordered(MONTH_CONCURRENCY)
                .collect()
                .await;
            results.into_iter().collect()
        }
        .boxed_local()
    }

    fn read<'a>(
        &'a self,
        db: &'a Db,
        series: &'a Series,
        zone: &'a Zone,
        month: Month,
        start: i64,
        end: i64,
    ) -> LocalBoxFuture<'a, Result<Bars>> {
        async move {
            let rows = self.rows(db, series, zone, &[month], start, end).await?;
            let mut out = Bars::default();
            Self::decode_into(db, series, rows, start, end, &mut out)?;
            Ok(out)
        }
        .boxed_local()
    }

    fn fetch<'a>(
        &'a self,
        db: &'a Db,
        series: &'a Series,
        zone: &'a Zone,
        months: &'a [Month],
        start: i64,
        end: i64,
    ) -> LocalBoxFuture<'a, Result<Fetched<'a>>> {
        async move {
            let rows = self.rows(db, series, zone, months, start, end).await?;
            let append: Fetched<'a> = Box::new(move |out: &mut Bars| {
                Self::decode_into(db, series, rows, start, end, out)
            });
            Ok(append)
        }
        .boxed_local()
    }

    fn read_group<'a>(
        &'a self,
        db: &'a Db,
        series: &'a [&'a Series],
        zone: &'a Zone,
        month: Month,
        start: i64,
        end: i64,
    ) -> LocalBoxFuture<'a, Result<Vec<Bars>>> {
        async move {
            let Some(one) = series.first() else {
                return Ok(Vec::new());
            };
            let (lo, hi) = day_bounds(one, zone, month, start, end);
            let symbols: Vec<&str> = series.iter().map(|s| s.symbol.as_str()).collect();
            let (tf, bucket) = (one.timeframe.to_string(), month.to_string());
            let mut by_symbol: HashMap<String, Vec<Row>> = HashMap::new();
            db.pages(
                || format!("reading {} symbols {bucket}", symbols.len()),
                &self.group,
                (
                    &symbols,
                    &tf,
                    one.adjustment.as_str(),
                    &bucket,
                    cql_date(lo),
                    cql_date(hi),
                ),
                |r: Named| {
                    let row = (
                        r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11, r.12,
                    );
                    by_symbol.entry(r.0).or_default().push(row);
                },
            )
            .await?;
            series
                .iter()
                .map(|s| {
                    let rows = by_symbol.remove(&s.symbol).unwrap_or_default();
                    let mut out = Bars::default();
                    Self::decode_into(db, s, rows, start, end, &mut out)?;
                    Ok(out)
                })
                .collect()
        }
        .boxed_local()
    }
}
