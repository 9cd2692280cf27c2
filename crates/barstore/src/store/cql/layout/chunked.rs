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

use super::{Kind, TableLayout};
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
use crate::zone::{days_from_civil, Zone, DAY};
use futures::future::LocalBoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use scylla::serialize::row::{RowSerializationContext, SerializeRow};
use scylla::serialize::writers::RowWriter;
use scylla::serialize::SerializationError;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlDate, CqlTimestamp};
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

/// Attempts a write of one month makes while other writers keep changing it.
const ATTEMPTS: u32 = 30;
/// Blob bytes per conditional batch: under Cassandra's default batch size limit (50 KiB),
/// so that a month of chunks goes in a few transactions on any cluster.
const BATCH_BYTES: usize = 40 * 1024;
/// Months written at once by one write.
const MONTH_CONCURRENCY: usize = 4;

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

/// A chunk day as `YYYY-MM-DD`, for messages.
fn date(day: i64) -> String {
    let (y, m, d) = crate::zone::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

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
    for (i, &t) in bars.ts.iter().enumerate() {
        let r = days
            .entry(chunk_day(series, zone.utc_ms_to_local(t)))
            .or_insert(i..i);
        r.end = i + 1;
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

/// `bars` with `start <= ts <= end`.
fn trimmed(bars: Bars, start: i64, end: i64) -> Bars {
    let r = bars.range(start, end);
    if r.len() == bars.len() {
        bars
    } else {
        bars.slice(r)
    }
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

/// What a writer read of a month before merging into it: the version, the header of
/// every stored chunk, and the bars of the stored chunks it is about to rewrite.
struct Stored {
    version: Option<i64>,
    headers: BTreeMap<i64, MonthStats>,
    bars: BTreeMap<i64, Bars>,
    /// The stats of the stored chunks not in `headers` (none when it holds them all).
    base: MonthStats,
}

impl Stored {
    /// The month's stats: `base` plus every header.
    fn stats(&self) -> MonthStats {
        self.headers
            .values()
            .fold(self.base, |(n, lo, hi), (m, first, last)| {
                (n + m, lo.min(*first), hi.max(*last))
            })
    }
}

/// A stored chunk with the month's version, as the write path reads it.
type Versioned = (
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
    Option<i64>,
);

/// One statement of a conditional batch: the fence (the month's version moves from the
/// one read to the next) or a chunk.
enum Statement<'a> {
    Fence {
        next: i64,
        key: [&'a str; 4],
        read: Option<i64>,
    },
    Chunk {
        key: [&'a str; 4],
        day: i64,
        chunk: &'a chunk::Chunk,
    },
}

impl SerializeRow for Statement<'_> {
    fn serialize(
        &self,
        ctx: &RowSerializationContext<'_>,
        writer: &mut RowWriter,
    ) -> Result<(), SerializationError> {
        match self {
            Statement::Fence { next, key, read } => {
                (next, key[0], key[1], key[2], key[3], read).serialize(ctx, writer)
            }
            Statement::Chunk { key, day, chunk: c } => Keyed {
                key,
                rest: (
                    cql_date(*day),
                    c.n as i32,
                    CqlTimestamp(c.first),
                    CqlTimestamp(c.last),
                    c.codec,
                    c.checksum,
                    &c.columns[0],
                    &c.columns[1],
                    &c.columns[2],
                    &c.columns[3],
                    &c.columns[4],
                    &c.columns[5],
                ),
            }
            .serialize(ctx, writer),
        }
    }

    fn is_empty(&self) -> bool {
        false
    }
}

/// The version after `read`: the time in microseconds, and always above `read`, so that
/// it orders the index's stats as a write time would.
fn next_version(read: Option<i64>) -> i64 {
    let now = now_micros();
    read.map_or(now, |v| now.max(v + 1))
}

/// The statements only writes use, prepared on the first write: reading a table made
/// before versions existed needs none of them.
struct Writes {
    insert: PreparedStatement,
    fence: PreparedStatement,
    headers: PreparedStatement,
    stored: PreparedStatement,
}

impl Writes {
    async fn prepare(db: &Db) -> Result<Writes> {
        let (ks, tb) = (&db.target.keyspace, &db.target.table);
        let key = "symbol = ? AND timeframe = ? AND adjustment = ? AND bucket = ?";
        let mut fence = db
            .prepare(format!(
                "UPDATE {ks}.{tb} SET version = ? WHERE {key} IF version = ?"
            ))
            .await?;
        fence.set_is_idempotent(false);
        Ok(Writes {
            insert: db.prepare(format!("INSERT INTO {ks}.{tb} (symbol, timeframe, adjustment, bucket, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")).await?,
            fence,
            headers: db.prepare(format!("SELECT day, bars, first, last, version FROM {ks}.{tb} WHERE {key}")).await?,
            stored: db.prepare(format!("SELECT {COLUMNS}, version FROM {ks}.{tb} WHERE {key} AND day >= ? AND day <= ?")).await?,
        })
    }
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
            index: Index::prepare(db, true).await?,
            range: db
                .prepare(format!(
                    "SELECT {COLUMNS} FROM {ks}.{tb} WHERE {key} AND day >= ? AND day <= ?"
                ))
                .await?,
            group: db.prepare(format!("SELECT symbol, {COLUMNS} FROM {ks}.{tb} WHERE symbol IN ? AND timeframe = ? AND adjustment = ? AND bucket = ? AND day >= ? AND day <= ?")).await?,
            writes: tokio::sync::OnceCell::new(),
        })
    }

    async fn writes(&self, db: &Db) -> Result<&Writes> {
        self.writes.get_or_try_init(|| Writes::prepare(db)).await
    }

    /// Decodes one stored chunk, appending its bars to `out`; a corrupt chunk is an
    /// error naming the table, series and day.
    fn decode(db: &Db, series: &Series, row: Row, out: &mut Bars) -> Result<()> {
        let (day, n, _, _, codec, checksum, ts, open, high, low, close, volume) = row;
        let blobs = [&ts[..], &open, &high, &low, &close, &volume];
        chunk::decode(n.max(0) as usize, codec, checksum, blobs, out).map_err(|e| {
            db.target.schema_error(format!(
                "{series} {}: {e}; load that day's source file again (forced past the manifest) to rewrite it",
                date(days_of(day))
            ))
        })
    }

    /// Reads what a write of `days` merges into: the month's version and chunk headers,
    /// then the stored chunks of those days. `None` when the month changed between the
    /// two reads. A corrupt chunk among the days is left out (with a warning): the write
    /// replaces it with the bars it brings, which is how a reload repairs a day.
    async fn stored(
        &self,
        db: &Db,
        series: &Series,
        part: &Partition,
        days: &BTreeMap<i64, Range<usize>>,
    ) -> Result<Option<Stored>> {
        let w = self.writes(db).await?;
        let (key, bucket) = (part.key(series), &part.bucket);
        let what = || format!("reading {series} {bucket}");
        let mut version = None;
        let mut headers = BTreeMap::new();
        db.pages(
            what,
            &w.headers,
            Keyed {
                key: &key,
                rest: (),
            },
            |(day, n, first, last, v): (CqlDate, i32, CqlTimestamp, CqlTimestamp, Option<i64>)| {
                version = v;
                headers.insert(days_of(day), (i64::from(n), first.0, last.0));
            },
        )
        .await?;
        let mut stored = Stored {
            version,
            headers,
            bars: BTreeMap::new(),
            base: NO_STATS,
        };
        let touched: Vec<i64> = days
            .keys()
            .copied()
            .filter(|d| stored.headers.contains_key(d))
            .collect();
        let (Some(&lo), Some(&hi)) = (touched.first(), touched.last()) else {
            return Ok(Some(stored));
        };
        let mut changed = false;
        db.pages(
            what,
            &w.stored,
            Keyed {
                key: &key,
                rest: (cql_date(lo), cql_date(hi)),
            },
            |r: Versioned| {
                changed |= r.12 != version;
                let day = days_of(r.0);
                if changed || !days.contains_key(&day) {
                    return;
                }
                let row = (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11);
                let mut bars = Bars::default();
                match Self::decode(db, series, row, &mut bars) {
                    Ok(()) => {
                        stored.bars.insert(day, bars);
                    }
                    Err(e) => tracing::warn!("{e}: replacing the chunk with the bars loaded now"),
                }
            },
        )
        .await?;
        Ok((!changed).then_some(stored))
    }

    /// Writes the chunks of `days` (merged with `stored`) in conditional batches, each
    /// moving the month's version on from the one before. Days written are taken out of
    /// `days` and their headers put in `stored`; returns the final version, or `None`
    /// when another writer changed the month first.
    async fn commit(
        &self,
        db: &Db,
        series: &Series,
        part: &Partition,
        bars: &Bars,
        days: &mut BTreeMap<i64, Range<usize>>,
        stored: &mut Stored,
    ) -> Result<Option<i64>> {
        let w = self.writes(db).await?;
        let key = part.key(series);
        let chunks: Vec<(i64, chunk::Chunk)> = days
            .iter()
            .map(|(day, r)| {
                let new = bars.slice(r.clone());
                let merged = match stored.bars.remove(day) {
                    Some(before) => Bars::merge(&before, &new),
                    None => new,
                };
                (*day, chunk::encode(&merged, 0..merged.len()))
            })
            .collect();
        let mut version = stored.version;
        let mut rest = &chunks[..];
        while !rest.is_empty() {
            // at least one chunk per batch, then as many as fit in BATCH_BYTES
            let mut bytes = 0;
            let take = rest
                .iter()
                .position(|(_, c)| {
                    bytes += c.columns.iter().map(Vec::len).sum::<usize>();
                    bytes > BATCH_BYTES
                })
                .unwrap_or(rest.len())
                .max(1);
            let (group, after) = rest.split_at(take);
            let next = next_version(version);
            let mut batch = Batch::new(BatchType::Unlogged);
            batch.append_statement(w.fence.clone());
            let mut values = vec![Statement::Fence {
                next,
                key,
                read: version,
            }];
            for (day, chunk) in group {
                batch.append_statement(w.insert.clone());
                values.push(Statement::Chunk {
                    key,
                    day: *day,
                    chunk,
                });
            }
            let (first, last) = (date(group[0].0), date(group[group.len() - 1].0));
            if !db
                .conditional(
                    || format!("writing {series} {first} to {last}"),
                    &batch,
                    &values,
                )
                .await?
            {
                return Ok(None);
            }
            for (day, c) in group {
                days.remove(day);
                stored
                    .headers
                    .insert(*day, (i64::from(c.n), c.first, c.last));
            }
            version = Some(next);
            rest = after;
        }
        Ok(version)
    }

    /// Writes one month, fenced by its version: reads, merges and writes until no other
    /// writer changed the month in between, then records the month's stats in the index
    /// with the version as their write time.
    async fn write_month(
        &self,
        db: &Db,
        series: &Series,
        m: &MonthBars,
        zone: &mut Zone,
    ) -> Result<()> {
        let mut days = chunk_days(series, &m.bars, zone);
        let part = Partition::of(series, m.month);
        // days after every bar of a month this process has seen (a lookup or its own
        // write), or of a month a lookup did not find, are new: the write needs no read,
        // since its fence refuses it if the month changed since
        if let Some((base, version)) = self.index.seen(series, m.month) {
            let after = match version {
                Some(_) => chunk_day(series, zone.utc_ms_to_local(base.2)),
                None => i64::MIN,
            };
            if days.keys().next().is_some_and(|d| *d > after) {
                // the index names the month before any of its chunks is written
                self.index
                    .put_month(db, series, m.month, zone.name())
                    .await?;
                let mut stored = Stored {
                    version,
                    headers: BTreeMap::new(),
                    bars: BTreeMap::new(),
                    base,
                };
                if let Some(version) = self
                    .commit(db, series, &part, &m.bars, &mut days, &mut stored)
                    .await?
                {
                    return self
                        .index
                        .set_stats(db, series, m.month, stored.stats(), version)
                        .await;
                }
            }
        }
        let mut attempt = 0;
        loop {
            // the index names the month before any of its chunks is written
            let stored = if attempt == 0 {
                let (_, stored) = futures::try_join!(
                    self.index.put_month(db, series, m.month, zone.name()),
                    self.stored(db, series, &part, &days)
                )?;
                stored
            } else {
                self.stored(db, series, &part, &days).await?
            };
            if let Some(mut stored) = stored {
                if let Some(version) = self
                    .commit(db, series, &part, &m.bars, &mut days, &mut stored)
                    .await?
                {
                    return self
                        .index
                        .set_stats(db, series, m.month, stored.stats(), version)
                        .await;
                }
            }
            attempt += 1;
            if attempt == ATTEMPTS {
                return Err(StoreError::Busy {
                    context: format!("writing {series} {} on {}", part.bucket, db.target),
                    attempts: ATTEMPTS,
                }
                .into());
            }
            tokio::time::sleep(backoff(attempt.min(4))).await;
        }
    }
}

impl TableLayout for Chunked {
    fn kind(&self) -> Kind {
        Kind::Chunked
    }

    fn index(&self) -> Option<&Index> {
        Some(&self.index)
    }

    fn holds_series(&self) -> bool {
        true
    }

    fn write<'a>(
        &'a self,
        db: &'a Db,
        series: &'a Series,
        zone: &'a Zone,
        months: &'a [MonthBars],
    ) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            futures::stream::iter(months)
                .map(|m| {
                    let mut z = zone.clone();
                    async move { self.write_month(db, series, m, &mut z).await }
                })
                .buffer_unordered(MONTH_CONCURRENCY)
                .try_collect()
                .await
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
            let part = Partition::of(series, month);
            let (key, bucket) = (part.key(series), &part.bucket);
            let (lo, hi) = day_bounds(series, zone, month, start, end);
            let mut bars = Bars::default();
            let mut failed = None;
            db.pages(
                || format!("reading {series} {bucket}"),
                &self.range,
                Keyed {
                    key: &key,
                    rest: (cql_date(lo), cql_date(hi)),
                },
                |row: Row| {
                    if failed.is_none() {
                        if let Err(e) = Self::decode(db, series, row, &mut bars) {
                            failed = Some(e);
                        }
                    }
                },
            )
            .await?;
            match failed {
                Some(e) => Err(e),
                None => Ok(trimmed(bars, start, end)),
            }
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
            let mut by_symbol: HashMap<String, Bars> = HashMap::new();
            let mut failed = None;
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
                    if failed.is_some() {
                        return;
                    }
                    let row = (
                        r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11, r.12,
                    );
                    let Some(s) = series.iter().find(|s| s.symbol == r.0) else {
                        return;
                    };
                    let bars = by_symbol.entry(r.0).or_default();
                    if let Err(e) = Self::decode(db, s, row, bars) {
                        failed = Some(e);
                    }
                },
            )
            .await?;
            if let Some(e) = failed {
                return Err(e);
            }
            Ok(series
                .iter()
                .map(|s| trimmed(by_symbol.remove(&s.symbol).unwrap_or_default(), start, end))
                .collect())
        }
        .boxed_local()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::cql::Cql;
    use crate::store::Store;

    /// Minute bars of 2024-05-06..08 (UTC) whose minute index `i` passes `keep`, with
    /// values that tell the two writers apart.
    fn minutes(keep: impl Fn(i64) -> bool, price: f64) -> Bars {
        let start = days_from_civil(2024, 5, 6) * DAY * 1000;
        let mut bars = Bars::default();
        for i in (0..3 * 24 * 60).filter(|&i| keep(i)) {
            let p = price + i as f64 / 100.0;
            bars.push((start + i * 60_000, [p, p + 1.0, p - 1.0, p, i as f64]));
        }
        bars
    }

    /// A keyspace of its own on the node the tests use (`BARSTORE_TEST_CQL=host:port`, the
    /// test command starts one; without it the test is skipped), dropped at the end.
    struct Node {
        cql: Cql,
        keyspace: String,
    }

    impl Node {
        fn open(name: &str) -> Option<Node> {
            let node = crate::testing::cql_node(&format!("store::cql::layout::chunked::{name}"))?;
            let keyspace = format!("{name}_{}", std::process::id());
            let url = format!("cql://{node}/{keyspace}");
            let cql = Cql::connect(&url, Default::default()).unwrap();
            cql.begin_load().unwrap();
            Some(Node { cql, keyspace })
        }

        fn series(&self) -> Series {
            Series::minute("XYZ").unwrap()
        }

        fn zone(&self) -> Zone {
            Zone::new("UTC").unwrap()
        }

        /// The month of [`minutes`].
        fn month(&self) -> Month {
            Month::of_local(days_from_civil(2024, 5, 6) * DAY)
        }
    }

    impl Drop for Node {
        fn drop(&mut self) {
            let drop = format!("DROP KEYSPACE IF EXISTS {}", self.keyspace);
            let _ = self
                .cql
                .block_on(self.cql.session().query_unpaged(drop, ()));
        }
    }

    fn rows(bars: &Bars) -> Vec<crate::bars::Row> {
        (0..bars.len()).map(|i| bars.row(i)).collect()
    }

    /// A writer that read the month, then saw another writer commit before its own
    /// commit, is refused by the version it read; writing again merges both writers'
    /// bars. Needs a node: `BARSTORE_TEST_CQL=host:port` (the test command starts one).
    #[test]
    fn a_write_on_a_stale_version_is_refused_and_merged_again() {
        let Some(node) = Node::open("fence") else {
            return;
        };
        let (db, series, zone, month) = (&node.cql.db, node.series(), node.zone(), node.month());
        let (a, b) = (
            minutes(|i| i % 2 == 0, 100.0),
            minutes(|i| i % 2 == 1, 200.0),
        );
        node.cql.block_on(async {
            let layout = Chunked::open(db).await.unwrap();
            let part = Partition::of(&series, month);
            // A reads the empty month, then B writes every day of it
            let mut days = chunk_days(&series, &a, &mut zone.clone());
            let mut stale = layout
                .stored(db, &series, &part, &days)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stale.version, None);
            let b_month = MonthBars {
                month,
                bars: b.clone(),
            };
            layout
                .write_month(db, &series, &b_month, &mut zone.clone())
                .await
                .unwrap();
            // A's commit on what it read is refused, and writes nothing
            let refused = layout
                .commit(db, &series, &part, &a, &mut days, &mut stale)
                .await
                .unwrap();
            assert_eq!(refused, None);
            let stored = layout
                .read(db, &series, &zone, month, i64::MIN, i64::MAX)
                .await
                .unwrap();
            assert_eq!(rows(&stored), rows(&b));
            // a write from the start merges into B's days
            let a_month = MonthBars {
                month,
                bars: a.clone(),
            };
            layout
                .write_month(db, &series, &a_month, &mut zone.clone())
                .await
                .unwrap();
            let stored = layout
                .read(db, &series, &zone, month, i64::MIN, i64::MAX)
                .await
                .unwrap();
            assert_eq!(rows(&stored), rows(&Bars::merge(&a, &b)));
        });
    }

    /// A writer that appends days after the last bar it saw writes without reading the
    /// month; when another writer changed the month meanwhile, the fence refuses that
    /// write, and the writer reads and merges: every bar is kept, and the month's stats
    /// count them all.
    #[test]
    fn an_append_from_stale_stats_is_refused_and_merged_again() {
        let Some(node) = Node::open("append") else {
            return;
        };
        let (db, series, zone, month) = (&node.cql.db, node.series(), node.zone(), node.month());
        let all = minutes(|_| true, 100.0);
        let day = |d: i64| {
            let start = all.ts[0] + d * DAY * 1000;
            MonthBars {
                month,
                bars: all.slice(all.range(start, start + DAY * 1000 - 1)),
            }
        };
        node.cql.block_on(async {
            let (a, b) = (
                Chunked::open(db).await.unwrap(),
                Chunked::open(db).await.unwrap(),
            );
            a.write_month(db, &series, &day(0), &mut zone.clone())
                .await
                .unwrap();
            b.write_month(db, &series, &day(1), &mut zone.clone())
                .await
                .unwrap();
            // A saw the month after day 0 only: its append of day 2 starts from that
            assert!(a
                .index
                .seen(&series, month)
                .is_some_and(|(s, v)| s.0 == 1440 && v.is_some()));
            a.write_month(db, &series, &day(2), &mut zone.clone())
                .await
                .unwrap();
            let stored = a
                .read(db, &series, &zone, month, i64::MIN, i64::MAX)
                .await
                .unwrap();
            assert_eq!(rows(&stored), rows(&all));
            assert_eq!(
                a.index.seen(&series, month).map(|(s, _)| s),
                Some((all.len() as i64, all.ts[0], all.ts[all.len() - 1]))
            );
        });
    }
}
