//! The chunked layout: a CQL row per chunk of a series (an exchange day of intraday bars,
//! an exchange month of daily ones), holding the bar count, first and last instant, the
//! codec, a checksum and one compressed blob per column ([`crate::chunk`]). Partitions
//! are a series' month, as in the typed layout: at most 31 rows of a few KB each.
//!
//! ```text
//! t         (symbol text, timeframe text, adjustment text, bucket text, day date,
//!            bars int, first timestamp, last timestamp, chunk_codec int, checksum bigint,
//!            ts blob, open blob, high blob, low blob, close blob, volume blob,
//!            PRIMARY KEY ((symbol, timeframe, adjustment, bucket), day))
//! t_symbols the index, as for the typed layout
//! t_leases  (symbol text, timeframe text, adjustment text, holder text,
//!            PRIMARY KEY ((symbol, timeframe, adjustment)))  -- one writer per series
//! ```
//!
//! Writing bars into a stored chunk reads it, merges (the new bars win per instant) and
//! rewrites it. Two loads merging into one series at once could each miss the other's
//! bars, so a write holds the series' lease: a row taken with a lightweight transaction
//! (`IF NOT EXISTS`) and a TTL, so that a crashed writer's lease expires on its own.

use super::{Kind, TableLayout};
use crate::bars::Bars;
use crate::bucket::Month;
use crate::calendar::{days_from_civil, Zone, DAY};
use crate::chunk;
use crate::error::{Result, StoreError};
use crate::series::Series;
use crate::store::cql::db::{Db, Keyed, MonthStats};
use crate::store::cql::index::Index;
use crate::store::cql::target::Target;
use crate::store::MonthBars;
use futures::future::LocalBoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlDate, CqlTimestamp};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Seconds a lease lives unless released: a crashed writer blocks its series this long.
const LEASE_TTL: u32 = 60;
/// How long a write waits for another writer's lease before giving up.
const LEASE_WAIT: Duration = Duration::from_secs(3 * LEASE_TTL as u64);
/// Chunks written at once by one month's write.
const WRITE_CONCURRENCY: usize = 32;
/// Months written at once by one write.
const MONTH_CONCURRENCY: usize = 4;

/// The DDL of a chunked table, its index and its leases.
pub fn create(t: &Target, compaction: &str) -> Vec<String> {
    let (ks, tb) = (&t.keyspace, &t.table);
    vec![
        format!("CREATE TABLE IF NOT EXISTS {ks}.{tb} (symbol text, timeframe text, adjustment text, bucket text, day date, bars int, first timestamp, last timestamp, chunk_codec int, checksum bigint, ts blob, open blob, high blob, low blob, close blob, volume blob, PRIMARY KEY ((symbol, timeframe, adjustment, bucket), day)) WITH CLUSTERING ORDER BY (day ASC) AND compaction = {compaction}"),
        format!("CREATE TABLE IF NOT EXISTS {ks}.{tb}_symbols (symbol text, timeframe text, adjustment text, bucket text, zone text, rows bigint, first timestamp, last timestamp, PRIMARY KEY (symbol, timeframe, adjustment, bucket))"),
        format!("CREATE TABLE IF NOT EXISTS {ks}.{tb}_leases (symbol text, timeframe text, adjustment text, holder text, PRIMARY KEY ((symbol, timeframe, adjustment)))"),
    ]
}

/// A chunked table's statements.
pub struct Chunked {
    index: Index,
    insert: PreparedStatement,
    range: PreparedStatement,
    month: PreparedStatement,
    take: PreparedStatement,
    release: PreparedStatement,
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

/// Days since 1970-01-01 as a CQL `date`.
fn cql_date(days: i64) -> CqlDate {
    CqlDate((days + (1 << 31)) as u32)
}

fn days_of(d: CqlDate) -> i64 {
    i64::from(d.0) - (1 << 31)
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

/// The first instant of a month, far enough back for any zone.
fn m_start(month: Month) -> i64 {
    (month.start_local() - DAY) * 1000
}

/// The last instant of a month in `zone`.
fn m_end(zone: &mut Zone, month: Month) -> i64 {
    zone.bound_to_utc_ms(month.next().start_local())
        .map_or((month.next().start_local() + DAY) * 1000, |t| t - 1)
}

impl Chunked {
    /// Prepares the statements on an existing table.
    pub async fn open(db: &Db) -> Result<Chunked> {
        let (ks, tb) = (&db.target.keyspace, &db.target.table);
        let key = "symbol = ? AND timeframe = ? AND adjustment = ? AND bucket = ?";
        let columns =
            "day, bars, first, last, chunk_codec, checksum, ts, open, high, low, close, volume";
        let leases = format!("{ks}.{tb}_leases");
        let mut take = db
            .prepare(format!("INSERT INTO {leases} (symbol, timeframe, adjustment, holder) VALUES (?, ?, ?, ?) IF NOT EXISTS USING TTL {LEASE_TTL}"))
            .await?;
        take.set_is_idempotent(false);
        let mut release = db
            .prepare(format!("DELETE FROM {leases} WHERE symbol = ? AND timeframe = ? AND adjustment = ? IF holder = ?"))
            .await?;
        release.set_is_idempotent(false);
        Ok(Chunked {
            index: Index::prepare(db, true).await?,
            insert: db.prepare(format!("INSERT INTO {ks}.{tb} (symbol, timeframe, adjustment, bucket, {columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")).await?,
            range: db.prepare(format!("SELECT {columns} FROM {ks}.{tb} WHERE {key} AND day >= ? AND day <= ?")).await?,
            month: db.prepare(format!("SELECT {columns} FROM {ks}.{tb} WHERE {key}")).await?,
            take,
            release,
        })
    }

    /// Takes the lease of `series`, waiting while another writer holds it.
    async fn lease(&self, db: &Db, series: &Series, holder: &str) -> Result<()> {
        let tf = series.timeframe.to_string();
        let key = [series.symbol.as_str(), &tf, series.adjustment.as_str()];
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let result = db
                .retry(
                    || format!("taking the write lease of {series}"),
                    || {
                        db.session.execute_unpaged(
                            &self.take,
                            Keyed {
                                key: &key,
                                rest: (holder,),
                            },
                        )
                    },
                )
                .await?;
            // the first column of a lightweight transaction's row says if it applied
            let applied = result
                .into_rows_result()
                .ok()
                .and_then(|rows| rows.first_row::<scylla::value::Row>().ok())
                .and_then(|row| row.columns.into_iter().next().flatten())
                .is_some_and(|v| v.as_boolean() == Some(true));
            if applied {
                return Ok(());
            }
            if started.elapsed() > LEASE_WAIT {
                return Err(StoreError::Busy {
                    context: format!("writing {series} on {}", db.target),
                    waited_s: LEASE_WAIT.as_secs(),
                    lease_s: LEASE_TTL.into(),
                }
                .into());
            }
            tokio::time::sleep(super::super::db::backoff(attempt.min(4))).await;
            attempt += 1;
        }
    }

    async fn release(&self, db: &Db, series: &Series, holder: &str) -> Result<()> {
        let tf = series.timeframe.to_string();
        let key = [series.symbol.as_str(), &tf, series.adjustment.as_str()];
        db.retry(
            || format!("releasing the write lease of {series}"),
            || {
                db.session.execute_unpaged(
                    &self.release,
                    Keyed {
                        key: &key,
                        rest: (holder,),
                    },
                )
            },
        )
        .await
        .map(|_| ())
    }

    /// Decodes one stored chunk, appending its bars to `out`; a corrupt chunk is an
    /// error naming the table, series and day.
    fn decode(db: &Db, series: &Series, row: Row, out: &mut Bars) -> Result<()> {
        let (day, n, _, _, codec, checksum, ts, open, high, low, close, volume) = row;
        let blobs = [&ts[..], &open, &high, &low, &close, &volume];
        chunk::decode(n.max(0) as usize, codec, checksum, blobs, out).map_err(|e| {
            let (y, m, d) = crate::calendar::civil_from_days(days_of(day));
            db.target.schema_error(format!(
                "{series} {y:04}-{m:02}-{d:02}: {e}; load that day's source file again (forced past the manifest) to rewrite it"
            ))
        })
    }

    /// The stored chunks of one month: header of each, decoded bars of the days in
    /// `decode_days`. A corrupt chunk among those is left out (with a warning): the
    /// write replaces it with the bars it brings, which is how a reload repairs a day.
    async fn stored_month(
        &self,
        db: &Db,
        series: &Series,
        month: Month,
        decode_days: &BTreeMap<i64, Vec<usize>>,
    ) -> Result<BTreeMap<i64, (MonthStats, Option<Bars>)>> {
        let part = Partition::of(series, month);
        let (key, bucket) = (part.key(series), &part.bucket);
        let mut out = BTreeMap::new();
        db.pages(
            || format!("reading {series} {bucket}"),
            &self.month,
            Keyed {
                key: &key,
                rest: (),
            },
            |row: Row| {
                let day = days_of(row.0);
                let stats = (i64::from(row.1), row.2 .0, row.3 .0);
                if !decode_days.contains_key(&day) {
                    out.insert(day, (stats, None));
                    return;
                }
                let mut bars = Bars::default();
                match Self::decode(db, series, row, &mut bars) {
                    Ok(()) => {
                        out.insert(day, (stats, Some(bars)));
                    }
                    Err(e) => tracing::warn!("{e}: replacing the chunk with the bars loaded now"),
                }
            },
        )
        .await?;
        Ok(out)
    }

    /// Writes one month under the series' lease: merges with the stored chunks of the
    /// days it touches (read under the lease, so that no other writer's bars are missed),
    /// writes the chunks, and returns the month's stats.
    async fn write_month(
        &self,
        db: &Db,
        series: &Series,
        m: &MonthBars,
        zone: &mut Zone,
    ) -> Result<MonthStats> {
        // the bars of each chunk day, by index into m.bars
        let mut days: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (i, &t) in m.bars.ts.iter().enumerate() {
            days.entry(chunk_day(series, zone.utc_ms_to_local(t)))
                .or_default()
                .push(i);
        }
        let mut old = self.stored_month(db, series, m.month, &days).await?;
        let part = Partition::of(series, m.month);
        let (key, bucket) = (part.key(series), &part.bucket);
        let mut chunks = Vec::with_capacity(days.len());
        for (day, idx) in &days {
            let new = m.bars.slice(idx[0]..idx[idx.len() - 1] + 1);
            let bars = match old.remove(day) {
                Some((_, Some(before))) => Bars::merge(&before, &new),
                _ => new,
            };
            chunks.push((*day, chunk::encode(&bars, 0..bars.len())));
        }
        futures::stream::iter(&chunks)
            .map(|(day, c)| {
                let values = Keyed {
                    key: &key,
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
                };
                let what = move || format!("writing {series} {bucket} day {day}");
                async move { db.exec(what, &self.insert, values).await }
            })
            .buffer_unordered(WRITE_CONCURRENCY)
            .try_collect::<()>()
            .await?;
        // the month now: the untouched stored chunks plus the ones just written
        let mut stats = (0, i64::MAX, i64::MIN);
        let all = old.values().map(|(s, _)| *s).chain(
            chunks
                .iter()
                .map(|(_, c)| (i64::from(c.n), c.first, c.last)),
        );
        for (n, first, last) in all {
            stats = (stats.0 + n, stats.1.min(first), stats.2.max(last));
        }
        Ok(stats)
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
            let holder = format!(
                "{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos())
            );
            self.index.put(db, series, months, zone.name()).await?;
            self.lease(db, series, &holder).await?;
            // the index's stats too are written under the lease, so that they count every
            // writer's bars
            let outcome: Result<()> = futures::stream::iter(months)
                .map(|m| {
                    let mut z = zone.clone();
                    async move {
                        let stats = self.write_month(db, series, m, &mut z).await?;
                        self.index.set_stats(db, series, m.month, stats).await
                    }
                })
                .buffer_unordered(MONTH_CONCURRENCY)
                .try_collect()
                .await;
            // a failed release leaves the lease to expire on its own
            let released = self.release(db, series, &holder).await;
            outcome?;
            released
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
            // the chunks of the exchange days the range touches, within the month
            let mut z = zone.clone();
            let first = m_start(month).max(start);
            let last = m_end(&mut z, month).min(end);
            let lo = chunk_day(series, z.utc_ms_to_local(first));
            let hi = chunk_day(series, z.utc_ms_to_local(last));
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
            if let Some(e) = failed {
                return Err(e);
            }
            let r = bars.range(start, end);
            Ok(if r.len() == bars.len() {
                bars
            } else {
                bars.slice(r)
            })
        }
        .boxed_local()
    }
}
