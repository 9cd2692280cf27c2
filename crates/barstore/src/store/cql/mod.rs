//! The CQL store: ScyllaDB or Apache Cassandra through the official `scylla` driver.
//!
//! - [`target`]: the store URL, connection options and name validation.
//! - [`db`]: the session every request goes through (retries, paging, errors).
//! - [`schema`]: the keyspace and tables barstore creates, and the manifest.
//! - [`layout`]: how a table holds bars, one module per layout (typed, text, chunked);
//!   [`index`]: the `_symbols` index of months per series beside a table.
//! - `connect` (the session, TLS), `scan` (one series in runs of months a request,
//!   many series a month of a group of symbols per request), `manifest` (the manifest
//!   table),
//!   `actions` (the corporate actions table).
//! - This module: the [`Cql`] store, which resolves the table's layout once and hands
//!   it whole months to write and runs of months to read (in parallel).
//!
//! The driver is asynchronous; the [`Store`] trait is not, so each call blocks on the
//! store's own Tokio runtime. Callers on several threads (the loader's pool) share one
//! session.

mod actions;
pub mod catalog;
mod connect;
pub mod db;
pub mod index;
pub mod layout;
mod manifest;
mod scan;
pub mod schema;
pub mod target;

use super::{Found, ManifestEntry, MonthBars, SeriesInfo, Store};
use crate::actions::Action;
use crate::bars::Bars;
use crate::bucket::Month;
pub use crate::error::is_retryable;
use crate::error::{Error, OpenError, OptionError, Result, StoreError};
use crate::series::Series;
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
use scylla::statement::{Consistency, SerialConsistency};
use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;
pub use target::{
    check_location, is_cql_url, redact, ClientCert, Compaction, CqlOptions, Replication, Secret,
    Target,
};

/// Symbols read at once by a many-symbol read: each waits on a few round trips (its
/// series, zone, months, then the months' chunks), so many in flight keep the node busy.
const SYMBOL_READS: usize = 32;
/// Symbols looked up in one request by a many-symbol read, and such requests at once.
const LOOKUP_GROUP: usize = 100;
const LOOKUP_CONCURRENCY: usize = 8;
/// Files a load works on at once: a file of a day's bars is parsed in well under a
/// millisecond, then waits on about five round trips (the series' zone, the month's
/// version, its transaction, the index, the manifest).
const FILE_LOADS: usize = 16;

/// A ScyllaDB/Cassandra store.
pub struct Cql {
    db: Db,
    runtime: tokio::runtime::Runtime,
    layout: tokio::sync::OnceCell<Box<dyn TableLayout>>,
    manifest: tokio::sync::OnceCell<ManifestStatements>,
}

/// The consistency levels by their CQL names.
const LEVELS: [(&str, Consistency); 9] = [
    ("ANY", Consistency::Any),
    ("ONE", Consistency::One),
    ("TWO", Consistency::Two),
    ("THREE", Consistency::Three),
    ("QUORUM", Consistency::Quorum),
    ("ALL", Consistency::All),
    ("LOCAL_QUORUM", Consistency::LocalQuorum),
    ("EACH_QUORUM", Consistency::EachQuorum),
    ("LOCAL_ONE", Consistency::LocalOne),
];

/// A consistency level by its CQL name (any case).
pub fn consistency(name: &str) -> Result<Consistency, OptionError> {
    let upper = name.to_ascii_uppercase();
    LEVELS
        .iter()
        .find(|(n, _)| *n == upper)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            OptionError::new(
                "consistency",
                name,
                "use ONE, QUORUM, LOCAL_QUORUM, LOCAL_ONE, ALL, ...",
            )
        })
}

/// A serial consistency level by its CQL name (any case): `SERIAL` or `LOCAL_SERIAL`.
pub fn serial_consistency(name: &str) -> Result<SerialConsistency, OptionError> {
    match name.to_ascii_uppercase().as_str() {
        "SERIAL" => Ok(SerialConsistency::Serial),
        "LOCAL_SERIAL" => Ok(SerialConsistency::LocalSerial),
        _ => Err(OptionError::new(
            "serial consistency",
            name,
            "use SERIAL (fencing across datacenters) or LOCAL_SERIAL (within one)",
        )),
    }
}

/// The CQL name of a serial consistency level, for messages.
pub fn serial_consistency_name(level: SerialConsistency) -> &'static str {
    match level {
        SerialConsistency::Serial => "SERIAL",
        SerialConsistency::LocalSerial => "LOCAL_SERIAL",
    }
}

/// The CQL name of a consistency level, for messages.
pub fn consistency_name(level: Consistency) -> &'static str {
    LEVELS
        .iter()
        .find(|(_, c)| *c == level)
        .map_or("SERIAL", |(n, _)| n)
}

impl Cql {
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
                layout::open(kind, &self.db).await
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

    fn scan_many(&self, scans: &[(&Found, i64, i64)]) -> Result<Vec<Bars>> {
        self.scan_group(scans)
    }

    fn scan_found(&self, found: &Found, start: i64, end: i64) -> Result<Bars> {
        self.scan_looked_up(found, start, end)
    }

    fn manifest(&self, sources: &[String]) -> Result<HashMap<String, ManifestEntry>> {
        self.read_manifest(sources)
    }

    fn record(&self, entries: &[ManifestEntry]) -> Result<()> {
        self.record_files(entries)
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

    fn concurrent_reads(&self) -> usize {
        SYMBOL_READS
    }

    fn concurrent_files(&self) -> usize {
        FILE_LOADS
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
}
