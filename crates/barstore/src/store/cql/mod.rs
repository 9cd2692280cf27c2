//! The CQL store: ScyllaDB or Apache Cassandra through the official `scylla` driver.
//!
//! - [`target`]: the store URL, connection options and name validation.
//! - [`db`]: the session every request goes through (retries, paging, errors).
//! - [`schema`]: the keyspace and tables barstore creates, and the manifest.
//! - [`layout`]: how a table holds bars, one module per layout (typed, text, chunked);
//!   [`index`]: the `_symbols` index of months per series beside a table.
//! - This module: the [`Cql`] store, which resolves the table's layout once and hands
//!   it whole months to write and read (months in parallel).
//!
//! The driver is asynchronous; the [`Store`] trait is not, so each call blocks on the
//! store's own Tokio runtime. Callers on several threads (the loader's pool) share one
//! session.

mod actions;
pub mod db;
pub mod index;
pub mod layout;
pub mod schema;
pub mod target;

use super::{Found, ManifestEntry, MonthBars, SeriesInfo, Store};
use crate::actions::Action;
use crate::bars::Bars;
use crate::bucket::Month;
pub use crate::error::is_retryable;
use crate::error::{Error, OpenError, OptionError, Result, StoreError};
use crate::series::{Adjustment, Series, Timeframe};
use crate::symbol;
use crate::zone::Zone;
use db::Db;
use futures::{StreamExt, TryStreamExt};
use layout::{Kind, TableLayout};
use schema::ManifestStatements;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::client::{Compression, PoolSize};
use scylla::policies::load_balancing::DefaultPolicy;
use scylla::policies::retry::FallthroughRetryPolicy;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::Consistency;
use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;
pub use target::{is_cql_url, ClientCert, Compaction, CqlOptions, Replication, Secret, Target};

/// Months read at once.
const READ_CONCURRENCY: usize = 16;
/// Symbols read at once by a many-symbol read: each waits on a few round trips (its
/// series, zone, months, then the months' chunks), so many in flight keep the node busy.
const SYMBOL_READS: usize = 32;
/// Symbols whose month one request of a many-symbol read reads, at most.
const GROUP_READ: usize = 50;
/// Symbols looked up in one request by a many-symbol read, and such requests at once.
const LOOKUP_GROUP: usize = 100;
const LOOKUP_CONCURRENCY: usize = 8;
/// Files a load works on at once: a file of a day's bars is parsed in well under a
/// millisecond, then waits on about five round trips (the series' zone, the month's
/// version, its transaction, the index, the manifest).
const FILE_LOADS: usize = 16;
/// Bytes of manifest rows per batch: under the node's default batch size warning (5 KiB).
const RECORD_BATCH_BYTES: usize = 4096;
/// Connections per host (per shard on ScyllaDB). Cassandra encodes and compresses a
/// connection's responses on one event-loop thread, so a single connection keeps one
/// reader from using the node's other cores (measured on a 2-core node, a 1.8M-row read:
/// 1.62 s with one connection and 8 months in flight, 1.42 s with four and 16).
const CONNECTIONS: NonZeroUsize = NonZeroUsize::new(4).unwrap();

/// A ScyllaDB/Cassandra store.
pub struct Cql {
    db: Db,
    runtime: tokio::runtime::Runtime,
    layout: tokio::sync::OnceCell<Box<dyn TableLayout>>,
    manifest: tokio::sync::OnceCell<ManifestStatements>,
}

/// The driver's consistency level named `name` (any case).
pub fn consistency(name: &str) -> Result<Consistency, OptionError> {
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
            return Err(OptionError::new(
                "consistency",
                name,
                "use ONE, QUORUM, LOCAL_QUORUM, LOCAL_ONE, ALL, ...",
            ))
        }
    })
}

impl Cql {
    /// Connects to the cluster named by `url`.
    pub fn connect(url: &str, opts: CqlOptions) -> Result<Self> {
        let target: Target = url.parse()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|source| OpenError::Runtime { source })?;
        let mut policy = DefaultPolicy::builder().token_aware(true);
        if let Some(dc) = &opts.dc {
            policy = policy.prefer_datacenter(dc.clone());
        }
        // barstore retries failed requests itself, with backoff and a report of each
        // (Db::retry): the driver's own immediate retry on another node would replace the
        // coordinator's answer (an unavailable consistency level) with that node's
        let profile = ExecutionProfile::builder()
            .consistency(consistency(&opts.consistency)?)
            .request_timeout(Some(Duration::from_secs(30)))
            .load_balancing_policy(policy.build())
            .retry_policy(Arc::new(FallthroughRetryPolicy::new()))
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
            builder = builder.tls_context(Some(tls_context(
                opts.tls_ca.as_deref(),
                opts.tls_client.as_ref(),
            )?));
        }
        let session = runtime
            .block_on(builder.build())
            .map_err(|source| OpenError::Connect {
                hosts: target.hosts.join(","),
                hint: client_auth_hint(&source, opts.tls, opts.tls_client.is_some()),
                source: source.into(),
            })?;
        Ok(Cql {
            db: Db {
                target,
                opts,
                session,
                retries: Default::default(),
            },
            runtime,
            layout: tokio::sync::OnceCell::new(),
            manifest: tokio::sync::OnceCell::new(),
        })
    }

    /// The parsed store URL.
    pub fn target(&self) -> &Target {
        &self.db.target
    }

    /// The driver session, for tests and tools that need plain CQL.
    pub fn session(&self) -> &Session {
        &self.db.session
    }

    /// Runs a future on the store's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// The table's layout, resolved once: the one the URL names (which must be the
    /// table's), or for `auto` the existing table's, chunked for a new one.
    async fn layout(&self) -> Result<&dyn TableLayout> {
        let layout = self
            .layout
            .get_or_try_init(|| async {
                let t = &self.db.target;
                let columns = db::columns(&self.db, &t.keyspace, &t.table).await?;
                let found = Kind::of_columns(&columns);
                let kind = match (t.layout, found) {
                    (Kind::Auto, Some(found)) => found,
                    (Kind::Auto, None) => Kind::Chunked,
                    (named, Some(found)) if named != found => {
                        return Err(t.schema_error(format!(
                            "the table has the {} layout, not {}; name ?layout={} or leave the layout out",
                            found.name(),
                            named.name(),
                            found.name()
                        )))
                    }
                    (named, _) => named,
                };
                layout::open(kind, &self.db, &columns).await
            })
            .await?;
        Ok(layout.as_ref())
    }

    async fn manifest_statements(&self) -> Result<&ManifestStatements> {
        self.manifest
            .get_or_try_init(|| ManifestStatements::prepare(&self.db))
            .await
    }

    async fn upsert_async(&self, series: &Series, zone: &Zone, months: &[MonthBars]) -> Result<()> {
        let layout = self.layout().await?;
        layout.accepts(&self.db, series)?;
        layout.write(&self.db, series, zone, months).await
    }

    async fn scan_async(&self, series: &Series, start: i64, end: i64) -> Result<Bars> {
        let layout = self.layout().await?;
        let zone = match layout.zone(&self.db, series).await? {
            Some(z) => Zone::new(&z)?,
            None => return Ok(Bars::default()),
        };
        let (first, last) = month_bounds(&zone, start, end);
        let months = layout.months(&self.db, series, first, last).await?;
        self.scan_months(series, &zone, months, start, end).await
    }

    /// The bars of `series` in `months` with `start <= ts <= end`, months in parallel.
    async fn scan_months(
        &self,
        series: &Series,
        zone: &Zone,
        months: Vec<Month>,
        start: i64,
        end: i64,
    ) -> Result<Bars> {
        let layout = self.layout().await?;
        let parts: Vec<Bars> = futures::stream::iter(months)
            .map(|m| layout.read(&self.db, series, zone, m, start, end))
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

/// `entries` in groups of at most [`RECORD_BATCH_BYTES`] of paths and hashes each, so
/// that a batch of manifest rows stays under the node's batch size warning.
fn record_groups(entries: &[ManifestEntry]) -> Vec<&[ManifestEntry]> {
    let mut groups = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, e) in entries.iter().enumerate() {
        let size = e.source.len() + e.hash.len() + e.symbol.len() + 64;
        if i > start && bytes + size > RECORD_BATCH_BYTES {
            groups.push(&entries[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < entries.len() {
        groups.push(&entries[start..]);
    }
    groups
}

/// The exchange months of `zone` that `start..=end` (UTC ms) touches; open bounds stay
/// open.
fn month_bounds(zone: &Zone, start: i64, end: i64) -> (Option<Month>, Option<Month>) {
    let mut z = zone.clone();
    let first = (start != i64::MIN).then(|| Month::of_local(z.utc_ms_to_local(start)));
    let last = (end != i64::MAX).then(|| Month::of_local(z.utc_ms_to_local(end)));
    (first, last)
}

/// Adds the months a failed write was about to the error's context.
pub(crate) fn while_writing(e: Error, months: &[MonthBars]) -> Error {
    match (e, months.first(), months.last()) {
        (
            Error::Store(StoreError::Cql {
                context,
                detail,
                source,
            }),
            Some(first),
            Some(last),
        ) => StoreError::Cql {
            context: format!(
                "{context}, before writing {} to {}",
                first.month, last.month
            ),
            detail,
            source,
        }
        .into(),
        (e, _, _) => e,
    }
}

/// Adds what a failed TLS connection may mean about client certificates. A node that
/// requires one closes the connection during the handshake, and the driver reports
/// either the TLS alert or only the broken connection, so the hint goes on every TLS
/// failure that is not the node's own certificate.
fn client_auth_hint(e: &scylla::errors::NewSessionError, tls: bool, presented: bool) -> String {
    if !tls || e.to_string().contains("certificate verify failed") {
        String::new()
    } else if presented {
        " (if the cluster checks client certificates, it did not accept this one)".into()
    } else {
        " (if the cluster requires a client certificate, give one and its key)".into()
    }
}

/// The TLS set-up: trust `ca` (else the system's roots), present `client` when given.
/// Messages name the files, never their content.
fn tls_context(
    ca: Option<&std::path::Path>,
    client: Option<&ClientCert>,
) -> Result<openssl::ssl::SslContext, OpenError> {
    use openssl::ssl::{SslContextBuilder, SslFiletype, SslMethod, SslVerifyMode};
    let failed = |detail: String| move |source| OpenError::Tls { detail, source };
    let mut b =
        SslContextBuilder::new(SslMethod::tls()).map_err(failed("TLS set-up failed".into()))?;
    match ca {
        Some(path) => b.set_ca_file(path).map_err(failed(format!(
            "cannot use {} as a CA certificate",
            path.display()
        )))?,
        None => b
            .set_default_verify_paths()
            .map_err(failed("cannot load the system's CA certificates".into()))?,
    }
    if let Some(client) = client {
        b.set_certificate_chain_file(&client.cert)
            .map_err(failed(format!(
                "cannot use {} as a client certificate",
                client.cert.display()
            )))?;
        b.set_private_key_file(&client.key, SslFiletype::PEM)
            .map_err(failed(format!(
                "cannot use {} as a private key",
                client.key.display()
            )))?;
        b.check_private_key().map_err(|_| OpenError::KeyMismatch {
            key: client.key.clone(),
            cert: client.cert.clone(),
        })?;
    }
    b.set_verify(SslVerifyMode::PEER);
    Ok(b.build())
}

impl Store for Cql {
    fn location(&self) -> String {
        self.db.target.to_string()
    }

    fn begin_load(&self) -> Result<()> {
        self.block_on(schema::ensure(&self.db))?;
        self.block_on(self.layout()).map(|_| ())
    }

    fn accepts(&self, series: &Series) -> Result<()> {
        let layout = self.block_on(self.layout())?;
        layout.accepts(&self.db, series)
    }

    fn as_stored(&self, bars: &mut Bars) -> Result<()> {
        if self.block_on(self.layout())?.single_precision() {
            for column in bars.values_mut() {
                column.iter_mut().for_each(|x| *x = f64::from(*x as f32));
            }
        }
        Ok(())
    }

    fn zone_of(&self, series: &Series) -> Result<Option<String>> {
        symbol::validate(&series.symbol)?;
        self.block_on(async { self.layout().await?.zone(&self.db, series).await })
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
        self.block_on(async {
            self.layout()
                .await?
                .months(&self.db, series, None, None)
                .await
        })
    }

    fn series_of(&self, symbol: &str) -> Result<Vec<Series>> {
        symbol::validate(symbol)?;
        self.block_on(async { self.layout().await?.series_of(&self.db, symbol).await })
    }

    fn series(&self) -> Result<Vec<SeriesInfo>> {
        self.block_on(async { self.layout().await?.series(&self.db).await })
    }

    fn lookup(&self, symbol: &str) -> Result<Vec<Found>> {
        let mut found = self.lookup_many(&[symbol.to_string()])?;
        Ok(found.pop().unwrap_or_default())
    }

    fn lookup_many(&self, symbols: &[String]) -> Result<Vec<Vec<Found>>> {
        for s in symbols {
            symbol::validate(s)?;
        }
        self.block_on(async {
            let layout = self.layout().await?;
            let groups: Vec<Vec<Vec<Found>>> = futures::stream::iter(symbols.chunks(LOOKUP_GROUP))
                .map(|group| async move {
                    let group: Vec<&str> = group.iter().map(String::as_str).collect();
                    layout.lookup_many(&self.db, &group).await
                })
                .buffered(LOOKUP_CONCURRENCY)
                .try_collect()
                .await?;
            Ok(groups.into_iter().flatten().collect())
        })
    }

    fn scan_many(&self, scans: &[(&Found, i64, i64)]) -> Result<Vec<Bars>> {
        // the months to read, grouped by what one request reads together: one month of
        // one timeframe and adjustment, the same bounds, many symbols
        type Group = (String, String, String, Month, i64, i64);
        let mut groups: BTreeMap<Group, Vec<usize>> = BTreeMap::new();
        let mut singles = Vec::new();
        // a zone per name: a market shares a few
        let mut zones: HashMap<&str, Zone> = HashMap::new();
        for (i, (found, start, end)) in scans.iter().enumerate() {
            symbol::validate(&found.series.symbol)?;
            let Some(months) = &found.months else {
                singles.push(i);
                continue;
            };
            let zone = match zones.entry(&found.zone) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(Zone::new(&found.zone)?),
            };
            let (first, last) = month_bounds(zone, *start, *end);
            let s = &found.series;
            for m in months.iter().filter(|m| m.within(first, last)) {
                let key = (
                    s.timeframe.to_string(),
                    s.adjustment.to_string(),
                    found.zone.clone(),
                    *m,
                    *start,
                    *end,
                );
                groups.entry(key).or_default().push(i);
            }
        }
        let mut parts: Vec<Vec<(Month, Bars)>> = vec![Vec::new(); scans.len()];
        let mut whole: Vec<(usize, Bars)> = self.block_on(
            futures::stream::iter(&singles)
                .map(|&i| async move {
                    let (found, start, end) = scans[i];
                    Ok::<_, Error>((i, self.scan_async(&found.series, start, end).await?))
                })
                .buffer_unordered(READ_CONCURRENCY)
                .try_collect(),
        )?;
        let read: Vec<(Month, &[usize], Vec<Bars>)> = self.block_on(async {
            let layout = self.layout().await?;
            // requests enough to keep the node busy, as large as that leaves them
            let jobs = groups.iter().flat_map(|(key, all)| {
                let size = (all.len() / READ_CONCURRENCY).clamp(1, GROUP_READ);
                all.chunks(size).map(move |c| (key, c))
            });
            futures::stream::iter(jobs)
                .map(|((_, _, zone, month, start, end), idx)| async move {
                    let series: Vec<&Series> = idx.iter().map(|&i| &scans[i].0.series).collect();
                    let zone = Zone::new(zone)?;
                    let bars = layout
                        .read_group(&self.db, &series, &zone, *month, *start, *end)
                        .await?;
                    Ok::<_, Error>((*month, idx, bars))
                })
                .buffer_unordered(READ_CONCURRENCY)
                .try_collect()
                .await
        })?;
        for (month, idx, bars) in read {
            for (&i, b) in idx.iter().zip(bars) {
                parts[i].push((month, b));
            }
        }
        let mut out = Vec::with_capacity(scans.len());
        whole.sort_by_key(|(i, _)| std::cmp::Reverse(*i));
        for (i, mut months) in parts.into_iter().enumerate() {
            if whole.last().is_some_and(|(w, _)| *w == i) {
                out.push(whole.pop().expect("just seen").1);
                continue;
            }
            months.sort_by_key(|(m, _)| *m);
            let mut bars = Bars::with_capacity(months.iter().map(|(_, b)| b.len()).sum());
            for (_, mut b) in months {
                bars.append(&mut b);
            }
            out.push(bars);
        }
        Ok(out)
    }

    fn scan_found(&self, found: &Found, start: i64, end: i64) -> Result<Bars> {
        let Some(months) = &found.months else {
            return self.scan(&found.series, start, end);
        };
        symbol::validate(&found.series.symbol)?;
        let zone = Zone::new(&found.zone)?;
        let (first, last) = month_bounds(&zone, start, end);
        let months = months
            .iter()
            .copied()
            .filter(|m| m.within(first, last))
            .collect();
        self.block_on(self.scan_months(&found.series, &zone, months, start, end))
    }

    fn concurrent_reads(&self) -> usize {
        SYMBOL_READS
    }

    fn concurrent_files(&self) -> usize {
        FILE_LOADS
    }

    fn manifest(&self) -> Result<HashMap<String, ManifestEntry>> {
        let st = self.block_on(self.manifest_statements())?;
        let mut out = HashMap::new();
        self.block_on(self.db.pages(
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

    fn actions(&self, symbol: Option<&str>) -> Result<Vec<Action>> {
        if let Some(s) = symbol {
            symbol::validate(s)?;
        }
        self.block_on(actions::read(&self.db, symbol))
    }

    fn put_actions(&self, new: &[Action]) -> Result<()> {
        if new.is_empty() {
            return Ok(());
        }
        self.begin_load()?;
        self.block_on(actions::put(&self.db, new))
    }

    fn record(&self, entries: &[ManifestEntry]) -> Result<()> {
        let st = self.block_on(self.manifest_statements())?;
        self.block_on(async {
            for group in record_groups(entries) {
                let mut batch = Batch::new(BatchType::Unlogged);
                for _ in group {
                    batch.append_statement(st.put.clone());
                }
                let values: Vec<_> = group
                    .iter()
                    .map(|e| {
                        (
                            &e.source,
                            e.size as i64,
                            e.mtime_ns,
                            &e.hash,
                            e.rows as i64,
                            &e.symbol,
                            &e.timeframe,
                            &e.adjustment,
                        )
                    })
                    .collect();
                let what = || {
                    format!(
                        "recording {} and the files before it in the manifest",
                        group[group.len() - 1].source
                    )
                };
                self.db.batch(what, &batch, values).await?;
            }
            Ok(())
        })
    }
}
