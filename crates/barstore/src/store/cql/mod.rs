//! The CQL store: ScyllaDB or Apache Cassandra through the official `scylla` driver.
//!
//! - [`target`]: the store URL, connection options and name validation.
//! - [`schema`]: the tables barstore creates and checks.
//! - This module: the [`Cql`] store: writes (prepared statements, one-partition
//!   unlogged batches, bounded concurrency, retries with backoff) and reads (months in
//!   parallel, paged, decoded into columns).
//!
//! Bars live in `(symbol, timeframe, adjustment, bucket)` partitions, `bucket` being the
//! exchange-local month `YYYY-MM`, clustered by time; tables made before series existed
//! have `(symbol, bucket)` partitions and hold each symbol's 1min series only. The driver is asynchronous; the [`Store`] trait is not,
//! so each call blocks on the store's own Tokio runtime. Callers on several threads
//! (the loader's pool) share one session.

pub mod schema;
pub mod target;

use super::{ManifestEntry, MonthBars, SeriesInfo, Store};
use crate::bars::Bars;
use crate::bucket::Month;
use crate::calendar::{format_local, Zone, DAY};
use crate::error::{Error, Result};
use crate::series::{Adjustment, Series, Timeframe};
use crate::symbol;
use futures::{StreamExt, TryStreamExt};
use schema::{ManifestStatements, Statements};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::client::{Compression, PoolSize};
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::policies::load_balancing::DefaultPolicy;
use scylla::response::PagingState;
use scylla::serialize::row::{RowSerializationContext, SerializeRow};
use scylla::serialize::value::SerializeValue;
use scylla::serialize::writers::RowWriter;
use scylla::serialize::SerializationError;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;
use scylla::value::CqlTimestamp;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::ops::ControlFlow;
use std::time::Duration;
pub use target::{is_cql_url, Compaction, CqlOptions, Layout, Replication, Secret, Target};

/// Months read at once.
const READ_CONCURRENCY: usize = 16;
/// Connections per host (per shard on ScyllaDB). Cassandra encodes and compresses a
/// connection's responses on one event-loop thread, so a single connection keeps one
/// reader from using the node's other cores (measured on a 2-core node, a 1.8M-row read:
/// 1.62 s with one connection and 8 months in flight, 1.42 s with four and 16).
const CONNECTIONS: NonZeroUsize = NonZeroUsize::new(4).unwrap();
/// Rows per page when reading.
const PAGE_ROWS: i32 = 10_000;

/// A ScyllaDB/Cassandra store.
pub struct Cql {
    target: Target,
    opts: CqlOptions,
    text_zone: Zone,
    runtime: tokio::runtime::Runtime,
    session: Session,
    statements: tokio::sync::OnceCell<Statements>,
    manifest: tokio::sync::OnceCell<ManifestStatements>,
}

/// The driver's consistency level named `name` (any case).
pub fn consistency(name: &str) -> Result<Consistency> {
    Ok(match name.to_ascii_uppercase().as_str() {
        "ANY" => Consistency::Any,
        "ONE" => Consistency::One,
        "TWO" => Consistency::Two,
        "THREE" => Consistency::Three,
        "QUORUM" => Consistency::Quorum,
        "ALL" => Consistency::All,
        "LOCAL_QUORUM" => Consistency::LocalQuorum,
        "EACH_QUORUM" => Consistency::EachQuorum,
        "LOCAL_ONE" => Consistency::LocalOne,
        _ => {
            return Err(Error::Url(format!(
                "invalid consistency {name:?}: use ONE, QUORUM, LOCAL_QUORUM, LOCAL_ONE, ALL, ..."
            )))
        }
    })
}

/// Is a driver error worth another attempt? Timeouts, overload, unavailable replicas
/// and lost connections are; a rejected statement is not.
pub fn is_retryable(e: &ExecutionError) -> bool {
    match e {
        ExecutionError::EmptyPlan
        | ExecutionError::ConnectionPoolError(_)
        | ExecutionError::RequestTimeout(_) => true,
        ExecutionError::LastAttemptError(a) => match a {
            RequestAttemptError::DbError(db, _) => matches!(
                db,
                DbError::Unavailable { .. }
                    | DbError::Overloaded
                    | DbError::IsBootstrapping
                    | DbError::ReadTimeout { .. }
                    | DbError::WriteTimeout { .. }
                    | DbError::ServerError
                    | DbError::TruncateError
                    | DbError::RateLimitReached { .. }
            ),
            RequestAttemptError::BrokenConnectionError(_)
            | RequestAttemptError::UnableToAllocStreamId => true,
            _ => false,
        },
        _ => false,
    }
}

/// Zone, rows, first and last bar of one month in the `_symbols` index.
type MonthStats = (
    Option<String>,
    Option<i64>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
);
/// A row of the index of a table with series: symbol, timeframe, adjustment, stats.
type SeriesIndexRow = (
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
);
/// A row of the index of a table made before series: symbol, stats.
type SymbolIndexRow = (
    String,
    Option<String>,
    Option<i64>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
);

/// Statement values: the series key (and bucket) first, then `rest`. The key has one
/// value or three depending on the table ([`Statements::key`]), so the statements of
/// both kinds of table take the same Rust values.
struct Keyed<'a, R> {
    key: &'a [&'a str],
    rest: R,
}

impl<R: SerializeRow> SerializeRow for Keyed<'_, R> {
    fn serialize(
        &self,
        ctx: &RowSerializationContext<'_>,
        writer: &mut RowWriter,
    ) -> Result<(), SerializationError> {
        let columns = ctx.columns();
        let n = self.key.len().min(columns.len());
        for (value, column) in self.key.iter().zip(&columns[..n]) {
            value.serialize(column.typ(), writer.make_cell_writer())?;
        }
        self.rest
            .serialize(&RowSerializationContext::from_specs(&columns[n..]), writer)
    }

    fn is_empty(&self) -> bool {
        self.key.is_empty() && self.rest.is_empty()
    }
}

/// Exponential backoff with full jitter: up to 100 ms x 2^attempt, capped at 5 s.
fn backoff(attempt: u32) -> Duration {
    let cap = (100u64 << attempt.min(6)).min(5_000);
    let jitter = std::collections::hash_map::RandomState::new().hash_one(attempt) % 1000;
    Duration::from_millis(cap / 2 + cap * jitter / 2000)
}

impl Cql {
    /// Connects to the cluster named by `url`.
    pub fn connect(url: &str, opts: CqlOptions) -> Result<Self> {
        let mut target: Target = url.parse()?;
        let text_zone = Zone::new(&target.zone)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::io("tokio runtime", e))?;
        let mut policy = DefaultPolicy::builder().token_aware(true);
        if let Some(dc) = &opts.dc {
            policy = policy.prefer_datacenter(dc.clone());
        }
        let profile = ExecutionProfile::builder()
            .consistency(consistency(&opts.consistency)?)
            .request_timeout(Some(Duration::from_secs(30)))
            .load_balancing_policy(policy.build())
            .build();
        let mut builder = SessionBuilder::new()
            .known_nodes(&target.hosts)
            .compression(Some(Compression::Lz4))
            .pool_size(PoolSize::PerShard(CONNECTIONS))
            .connection_timeout(Duration::from_secs(10))
            .default_execution_profile_handle(profile.into_handle());
        if let Some(user) = &opts.user {
            let password = opts.password.clone().unwrap_or_default();
            builder = builder.user(user.clone(), password.0);
        }
        if opts.tls {
            builder = builder.tls_context(Some(tls_context(opts.tls_ca.as_deref())?));
        }
        let session = runtime
            .block_on(builder.build())
            .map_err(|e| Error::Connect {
                hosts: target.hosts.join(","),
                detail: e.to_string(),
            })?;
        if target.layout == Layout::Auto {
            target.layout = runtime.block_on(schema::detect_layout(&session, &target))?;
        }
        Ok(Cql {
            target,
            opts,
            text_zone,
            runtime,
            session,
            statements: tokio::sync::OnceCell::new(),
            manifest: tokio::sync::OnceCell::new(),
        })
    }

    /// The parsed store URL.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The driver session, for tests and tools that need plain CQL.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Runs a future on the store's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    async fn statements(&self) -> Result<&Statements> {
        self.statements
            .get_or_try_init(|| Statements::prepare(&self.session, &self.target))
            .await
    }

    async fn manifest_statements(&self) -> Result<&ManifestStatements> {
        self.manifest
            .get_or_try_init(|| ManifestStatements::prepare(&self.session, &self.target))
            .await
    }

    async fn zone_of_async(&self, series: &Series) -> Result<Option<String>> {
        let st = self.statements().await?;
        let Some(index) = &st.index else {
            return Ok(series
                .is_minute_unadjusted()
                .then(|| self.text_zone.name().to_string()));
        };
        let tf = series.timeframe.to_string();
        let key = st.key(series, &tf);
        let mut zone = None;
        self.pages(
            || format!("looking up {series}"),
            &index.zone,
            Keyed {
                key: &key,
                rest: (),
            },
            |(z,): (Option<String>,)| {
                if zone.is_none() {
                    zone = z;
                }
            },
        )
        .await?;
        Ok(zone.filter(|_| st.series || series.is_minute_unadjusted()))
    }

    /// Runs `attempt` until it succeeds, fails for good, or runs out of attempts.
    async fn retry<T, F, Fut>(&self, what: impl Fn() -> String, attempt: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ExecutionError>>,
    {
        let mut n = 0;
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) if is_retryable(&e) && n + 1 < self.opts.attempts => {
                    tracing::debug!("{}: attempt {} failed: {e}", what(), n + 1);
                    tokio::time::sleep(backoff(n)).await;
                    n += 1;
                }
                Err(e) => {
                    return Err(Error::Cql {
                        context: format!("{} on {}", what(), self.target),
                        detail: if is_retryable(&e) {
                            format!(
                                "gave up after {} attempts: {e}; rows acknowledged before are stored, run the same command again once the cluster is reachable",
                                self.opts.attempts
                            )
                        } else {
                            e.to_string()
                        },
                        retryable: is_retryable(&e),
                    })
                }
            }
        }
    }

    /// Executes a prepared statement that returns no rows.
    async fn exec(
        &self,
        what: impl Fn() -> String,
        stmt: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<()> {
        self.retry(what, || self.session.execute_unpaged(stmt, &values))
            .await
            .map(|_| ())
    }

    /// Runs a query page by page, handing each page's rows to `each`.
    async fn pages<R>(
        &self,
        what: impl Fn() -> String,
        stmt: &PreparedStatement,
        values: impl SerializeRow,
        mut each: impl FnMut(R),
    ) -> Result<()>
    where
        R: for<'f> scylla::deserialize::row::DeserializeRow<'f, 'f>,
    {
        let mut state = PagingState::start();
        loop {
            let (result, next) = self
                .retry(&what, || {
                    self.session
                        .execute_single_page(stmt, &values, state.clone())
                })
                .await?;
            let rows = result.into_rows_result().map_err(|e| Error::Cql {
                context: what(),
                detail: e.to_string(),
                retryable: false,
            })?;
            let iter = rows.rows::<R>().map_err(|e| self.target.schema_error(e))?;
            for row in iter {
                each(row.map_err(|e| self.target.schema_error(e))?);
            }
            match next.into_paging_control_flow() {
                ControlFlow::Continue(s) => state = s,
                ControlFlow::Break(()) => return Ok(()),
            }
        }
    }

    /// Writes rows `r` of one month as an unlogged batch: a single partition.
    async fn write_batch(
        &self,
        st: &Statements,
        series: &Series,
        m: &MonthBars,
        r: std::ops::Range<usize>,
    ) -> Result<()> {
        let (bucket, bars) = (&m.month.to_string(), &m.bars);
        let tf = series.timeframe.to_string();
        let mut key = st.key(series, &tf);
        key.push(bucket);
        let mut batch = Batch::new(BatchType::Unlogged);
        for _ in r.clone() {
            batch.append_statement(st.insert.clone());
        }
        batch.set_is_idempotent(true);
        let what = || format!("writing {series} {bucket}");
        match self.target.layout {
            Layout::Typed => {
                let rows: Vec<_> = r
                    .map(|i| {
                        let v = bars.volume[i];
                        Keyed {
                            key: &key,
                            rest: (
                                CqlTimestamp(bars.ts[i]),
                                bars.open[i],
                                bars.high[i],
                                bars.low[i],
                                bars.close[i],
                                (!v.is_nan()).then_some(v),
                            ),
                        }
                    })
                    .collect();
                self.retry(what, || self.session.batch(&batch, &rows))
                    .await?;
            }
            Layout::Text | Layout::Auto => {
                let mut zone = self.text_zone.clone();
                let rows: Vec<_> = r
                    .map(|i| {
                        let mut t = String::with_capacity(19);
                        format_local(zone.utc_ms_to_local(bars.ts[i]), &mut t);
                        let v = bars.volume[i];
                        Keyed {
                            key: &key,
                            rest: (
                                t,
                                bars.open[i] as f32,
                                bars.high[i] as f32,
                                bars.low[i] as f32,
                                bars.close[i] as f32,
                                (!v.is_nan()).then_some(v as f32),
                            ),
                        }
                    })
                    .collect();
                self.retry(what, || self.session.batch(&batch, &rows))
                    .await?;
            }
        }
        Ok(())
    }

    /// Refuses a series that a table made before series existed cannot hold apart.
    fn check_holds(&self, st: &Statements, series: &Series) -> Result<()> {
        if st.series || series.is_minute_unadjusted() {
            return Ok(());
        }
        Err(self.target.schema_error(format!(
            "the table predates series: it holds one 1min series per symbol, with no adjustment, so {series} cannot be stored apart in it; load it into a table barstore creates (another ?table=NAME), or copy this table into one first"
        )))
    }

    async fn upsert_async(&self, series: &Series, zone: &Zone, months: &[MonthBars]) -> Result<()> {
        let st = self.statements().await?;
        self.check_holds(st, series)?;
        let tf = series.timeframe.to_string();
        let key = st.key(series, &tf);
        // Months already indexed may hold rows from earlier loads: their stats are
        // counted on the server. A month new to the index has only the rows written
        // here (data is written after its index row), so its stats are known already.
        let indexed: HashSet<Month> = match st.index {
            Some(_) => self
                .months_async(series)
                .await
                .map_err(|e| e.while_writing(months))?
                .into_iter()
                .collect(),
            None => HashSet::new(),
        };
        if let Some(index) = &st.index {
            // The index row goes first: a crash after it leaves a bucket that reads
            // find (and a rerun fills), never stored rows that reads cannot find.
            for m in months {
                let bucket = m.month.to_string();
                self.exec(
                    || format!("indexing {series} {bucket}"),
                    &index.put,
                    Keyed {
                        key: &key,
                        rest: (&bucket, zone.name()),
                    },
                )
                .await?;
            }
        }
        // every batch of every month through one bound: `concurrency` in flight in all
        let step = self.opts.batch_rows;
        let batches = months.iter().flat_map(|m| {
            (0..m.bars.len())
                .step_by(step)
                .map(move |s| (m, s..(s + step).min(m.bars.len())))
        });
        futures::stream::iter(batches)
            .map(|(m, r)| self.write_batch(st, series, m, r))
            .buffer_unordered(self.opts.concurrency)
            .try_collect::<()>()
            .await?;
        if let Some(index) = &st.index {
            for m in months {
                let bucket = m.month.to_string();
                let ts = &m.bars.ts;
                let (rows, first, last) = match (ts.first(), ts.last()) {
                    (Some(&first), Some(&last)) if !indexed.contains(&m.month) => {
                        (ts.len() as i64, first, last)
                    }
                    _ => self.partition_stats(st, &key, &bucket).await?,
                };
                self.exec(
                    || format!("indexing {series} {bucket}"),
                    &index.stats,
                    Keyed {
                        key: &key,
                        rest: (&bucket, rows, CqlTimestamp(first), CqlTimestamp(last)),
                    },
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Row count and first and last bar of one partition (typed layout).
    async fn partition_stats(
        &self,
        st: &Statements,
        key: &[&str],
        bucket: &str,
    ) -> Result<(i64, i64, i64)> {
        let mut out = (0, 0, 0);
        let mut key = key.to_vec();
        key.push(bucket);
        self.pages(
            || format!("counting {} {bucket}", key[0]),
            &st.stats,
            Keyed {
                key: &key,
                rest: (),
            },
            |(n, lo, hi): (i64, Option<CqlTimestamp>, Option<CqlTimestamp>)| {
                out = (n, lo.map_or(0, |t| t.0), hi.map_or(0, |t| t.0));
            },
        )
        .await?;
        Ok(out)
    }

    /// Every (symbol, bucket) partition of a text-layout table.
    async fn text_partitions(&self, st: &Statements) -> Result<Vec<(String, Month)>> {
        let mut out = Vec::new();
        let Some(partitions) = &st.partitions else {
            return Ok(out);
        };
        self.pages(
            || "listing partitions".to_string(),
            partitions,
            (),
            |(s, b): (String, String)| {
                if let Some(m) = Month::parse(&b) {
                    out.push((s, m));
                }
            },
        )
        .await?;
        out.sort();
        Ok(out)
    }

    async fn months_async(&self, series: &Series) -> Result<Vec<Month>> {
        let st = self.statements().await?;
        let mut months = Vec::new();
        if !st.series && !series.is_minute_unadjusted() {
            return Ok(months);
        }
        match &st.index {
            Some(index) => {
                let tf = series.timeframe.to_string();
                let key = st.key(series, &tf);
                self.pages(
                    || format!("listing months of {series}"),
                    &index.buckets,
                    Keyed {
                        key: &key,
                        rest: (),
                    },
                    |(b,): (String,)| months.extend(Month::parse(&b)),
                )
                .await?
            }
            None => {
                months = self
                    .text_partitions(st)
                    .await?
                    .into_iter()
                    .filter(|(s, _)| *s == series.symbol)
                    .map(|(_, m)| m)
                    .collect()
            }
        }
        months.sort();
        Ok(months)
    }

    async fn read_month(
        &self,
        st: &Statements,
        series: &Series,
        m: Month,
        start: i64,
        end: i64,
    ) -> Result<Bars> {
        let bucket = m.to_string();
        let tf = series.timeframe.to_string();
        let mut key = st.key(series, &tf);
        key.push(&bucket);
        let what = || format!("reading {series} {bucket}");
        let mut bars = Bars::default();
        match self.target.layout {
            Layout::Typed => {
                self.pages(
                    what,
                    &st.range,
                    Keyed {
                        key: &key,
                        rest: (CqlTimestamp(start), CqlTimestamp(end)),
                    },
                    |(t, o, h, l, c, v): (CqlTimestamp, f64, f64, f64, f64, Option<f64>)| {
                        bars.push((t.0, [o, h, l, c, v.unwrap_or(f64::NAN)]))
                    },
                )
                .await?
            }
            Layout::Text | Layout::Auto => {
                let mut zone = self.text_zone.clone();
                let (mut lo, mut hi) = (String::new(), String::new());
                format_local(
                    zone.utc_ms_to_local(start.max(-62_135_596_800_000)),
                    &mut lo,
                );
                format_local(zone.utc_ms_to_local(end.min(253_402_300_799_000)), &mut hi);
                let mut bad = None;
                self.pages(
                    what,
                    &st.range,
                    Keyed {
                        key: &key,
                        rest: (&lo, &hi),
                    },
                    |(t, o, h, l, c, v): (String, f32, f32, f32, f32, Option<f32>)| {
                        match parse_text_time(&t).and_then(|local| zone.local_to_utc_ms(local).ok())
                        {
                            Some(ts) => bars.push((
                                ts,
                                [
                                    o.into(),
                                    h.into(),
                                    l.into(),
                                    c.into(),
                                    v.map_or(f64::NAN, f64::from),
                                ],
                            )),
                            None => bad = Some(t),
                        }
                    },
                )
                .await?;
                if let Some(t) = bad {
                    return Err(self.target.schema_error(format!(
                        "{} {bucket}: timestamp {t:?} is not 'YYYY-MM-DD HH:MM:SS' in {}",
                        series.symbol,
                        self.text_zone.name()
                    )));
                }
                bars.sort_dedup_last();
            }
        }
        Ok(bars)
    }

    async fn scan_async(&self, series: &Series, start: i64, end: i64) -> Result<Bars> {
        let st = self.statements().await?;
        let zone = match self.zone_of_async(series).await? {
            Some(z) => Zone::new(&z)?,
            None => return Ok(Bars::default()),
        };
        let mut z = zone.clone();
        let first = (start != i64::MIN).then(|| Month::of_local(z.utc_ms_to_local(start)));
        let last = (end != i64::MAX).then(|| Month::of_local(z.utc_ms_to_local(end)));
        let months: Vec<Month> = match (self.target.layout, first, last) {
            (Layout::Text, Some(mut m), Some(last)) => {
                // The original layout has no index: like the notebook, visit each
                // month of the range.
                let mut v = Vec::new();
                while m <= last {
                    v.push(m);
                    m = m.next();
                }
                v
            }
            _ => self
                .months_async(series)
                .await?
                .into_iter()
                .filter(|m| first.is_none_or(|f| *m >= f) && last.is_none_or(|l| *m <= l))
                .collect(),
        };
        let parts: Vec<Bars> = futures::stream::iter(months)
            .map(|m| self.read_month(st, series, m, start, end))
            .buffered(READ_CONCURRENCY)
            .try_collect()
            .await?;
        let mut out = Bars::with_capacity(parts.iter().map(Bars::len).sum());
        for mut p in parts {
            out.append(&mut p);
        }
        Ok(out)
    }
}

impl Error {
    /// Adds the months a failed write was about to the error's context.
    fn while_writing(self, months: &[MonthBars]) -> Error {
        match (self, months.first(), months.last()) {
            (
                Error::Cql {
                    context,
                    detail,
                    retryable,
                },
                Some(first),
                Some(last),
            ) => Error::Cql {
                context: format!(
                    "{context}, before writing {} to {}",
                    first.month, last.month
                ),
                detail,
                retryable,
            },
            (e, _, _) => e,
        }
    }
}

/// Parses `YYYY-MM-DD HH:MM:SS` into local seconds.
fn parse_text_time(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    let (days, n) = crate::parse::parse_date(b)?;
    let rest = b.get(n + 1..)?;
    let (ms, m) = crate::parse::parse_time(rest)?;
    (b[n] == b' ' && m == rest.len()).then_some(days * DAY + ms / 1000)
}

fn tls_context(ca: Option<&std::path::Path>) -> Result<openssl::ssl::SslContext> {
    use openssl::ssl::{SslContextBuilder, SslMethod, SslVerifyMode};
    let tls_err = |e: openssl::error::ErrorStack| Error::Url(format!("TLS set-up failed: {e}"));
    let mut b = SslContextBuilder::new(SslMethod::tls()).map_err(tls_err)?;
    match ca {
        Some(path) => b.set_ca_file(path).map_err(|e| {
            Error::Url(format!(
                "cannot use {} as a CA certificate: {e}",
                path.display()
            ))
        })?,
        None => b.set_default_verify_paths().map_err(tls_err)?,
    }
    b.set_verify(SslVerifyMode::PEER);
    Ok(b.build())
}

impl Store for Cql {
    fn location(&self) -> String {
        self.target.to_string()
    }

    fn begin_load(&self) -> Result<()> {
        self.block_on(schema::ensure(&self.session, &self.target, &self.opts))?;
        self.block_on(self.statements()).map(|_| ())
    }

    fn accepts(&self, series: &Series) -> Result<()> {
        let st = self.block_on(self.statements())?;
        self.check_holds(st, series)
    }

    fn zone_of(&self, series: &Series) -> Result<Option<String>> {
        symbol::validate(&series.symbol)?;
        self.block_on(self.zone_of_async(series))
    }

    fn upsert(&self, series: &Series, zone: &Zone, months: Vec<MonthBars>) -> Result<()> {
        symbol::validate(&series.symbol)?;
        self.block_on(self.upsert_async(series, zone, &months))
    }

    fn scan(&self, series: &Series, start: i64, end: i64) -> Result<Bars> {
        symbol::validate(&series.symbol)?;
        self.block_on(self.scan_async(series, start, end))
    }

    fn months(&self, series: &Series) -> Result<Vec<Month>> {
        symbol::validate(&series.symbol)?;
        self.block_on(self.months_async(series))
    }

    fn series_of(&self, symbol: &str) -> Result<Vec<Series>> {
        symbol::validate(symbol)?;
        let st = self.block_on(self.statements())?;
        let Some(index) = &st.index else {
            // the text layout has no index: its one series is assumed, as the notebook did
            return Ok(vec![Series::minute(symbol)?]);
        };
        let mut out = Vec::new();
        let mut bad = None;
        if st.series {
            self.block_on(self.pages(
                || format!("listing the series of {symbol}"),
                &index.series_of,
                (symbol,),
                |(tf, adj): (String, String)| match (tf.parse::<Timeframe>(), adj.parse()) {
                    (Ok(tf), Ok(adj)) => out.push(Series {
                        symbol: symbol.to_string(),
                        timeframe: tf,
                        adjustment: adj,
                    }),
                    _ => bad = Some(format!("{tf} {adj}")),
                },
            ))?;
        } else {
            self.block_on(self.pages(
                || format!("listing the months of {symbol}"),
                &index.series_of,
                (symbol,),
                |(_,): (String,)| {
                    if out.is_empty() {
                        out.push(Series {
                            symbol: symbol.to_string(),
                            timeframe: Timeframe::MINUTE,
                            adjustment: Adjustment::none(),
                        });
                    }
                },
            ))?;
        }
        if let Some(bad) = bad {
            return Err(self.target.schema_error(format!(
                "{symbol}: the index names an unknown series {bad:?}"
            )));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn series(&self) -> Result<Vec<SeriesInfo>> {
        let st = self.block_on(self.statements())?;
        let mut by_series: BTreeMap<Series, SeriesInfo> = BTreeMap::new();
        let mut add = |series: Series, rows: i64, first: i64, last: i64, zone: String| {
            let e = by_series.entry(series.clone()).or_insert(SeriesInfo {
                series,
                rows: 0,
                first: i64::MAX,
                last: i64::MIN,
                zone,
            });
            if rows > 0 {
                e.rows += rows as u64;
                e.first = e.first.min(first);
                e.last = e.last.max(last);
            }
        };
        let mut add_row = |series: Result<Series>, (z, n, lo, hi): MonthStats| {
            if let Ok(series) = series {
                add(
                    series,
                    n.unwrap_or(0),
                    lo.map_or(0, |t| t.0),
                    hi.map_or(0, |t| t.0),
                    z.unwrap_or_default(),
                )
            }
        };
        match &st.index {
            Some(index) if st.series => self.block_on(self.pages(
                || "listing series".to_string(),
                &index.all,
                (),
                |(s, tf, adj, z, n, lo, hi): SeriesIndexRow| {
                    let series = tf.parse().and_then(|tf| Series::new(&s, tf, adj.parse()?));
                    add_row(series, (z, n, lo, hi))
                },
            ))?,
            Some(index) => self.block_on(self.pages(
                || "listing series".to_string(),
                &index.all,
                (),
                |(s, z, n, lo, hi): SymbolIndexRow| add_row(Series::minute(&s), (z, n, lo, hi)),
            ))?,
            None => {
                // No index: count each partition on the server rather than reading it.
                let parts = self.block_on(self.text_partitions(st))?;
                let mut zone = self.text_zone.clone();
                for (s, m) in parts {
                    let bucket = m.to_string();
                    let mut stats = (0, None, None);
                    self.block_on(self.pages(
                        || format!("counting {s} {bucket}"),
                        &st.stats,
                        (&s, &bucket),
                        |row: (i64, Option<String>, Option<String>)| stats = row,
                    ))?;
                    let mut utc = |t: Option<String>| {
                        t.as_deref()
                            .and_then(parse_text_time)
                            .and_then(|local| zone.local_to_utc_ms(local).ok())
                    };
                    if let (n, Some(first), Some(last), Ok(series)) =
                        (stats.0, utc(stats.1), utc(stats.2), Series::minute(&s))
                    {
                        add(series, n, first, last, self.text_zone.name().to_string());
                    }
                }
            }
        }
        Ok(by_series.into_values().filter(|s| s.rows > 0).collect())
    }

    fn manifest(&self) -> Result<HashMap<String, ManifestEntry>> {
        let st = self.block_on(self.manifest_statements())?;
        let mut out = HashMap::new();
        self.block_on(self.pages(
            || "reading the manifest".to_string(),
            &st.all,
            (),
            |(source, size, mtime_ns, hash, rows, symbol, timeframe, adjustment): (
                String,
                i64,
                i64,
                String,
                i64,
                String,
                Option<String>,
                Option<String>,
            )| {
                out.insert(
                    source.clone(),
                    ManifestEntry {
                        source,
                        size: size as u64,
                        mtime_ns,
                        hash,
                        rows: rows as u64,
                        symbol,
                        timeframe: timeframe.unwrap_or_else(|| Timeframe::MINUTE.to_string()),
                        adjustment: adjustment.unwrap_or_else(|| Adjustment::NONE.to_string()),
                    },
                );
            },
        ))?;
        Ok(out)
    }

    fn record(&self, e: &ManifestEntry) -> Result<()> {
        let st = self.block_on(self.manifest_statements())?;
        self.block_on(self.exec(
            || format!("recording {} in the manifest", e.source),
            &st.put,
            (
                &e.source,
                e.size as i64,
                e.mtime_ns,
                &e.hash,
                e.rows as i64,
                &e.symbol,
                &e.timeframe,
                &e.adjustment,
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 0..20 {
            let d = backoff(attempt).as_millis() as u64;
            let cap = (100u64 << attempt.min(6)).min(5_000);
            assert!(d >= cap / 2 && d <= cap, "{attempt}: {d}");
        }
    }

    #[test]
    fn text_times() {
        assert_eq!(parse_text_time("1970-01-02 00:00:05"), Some(DAY + 5));
        assert_eq!(parse_text_time("1970-01-02T00:00:05"), None);
        assert_eq!(parse_text_time("1970-01-02"), None);
    }
}
