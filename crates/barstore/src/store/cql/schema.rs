//! The tables of a CQL store and the statements barstore runs on them.
//!
//! Typed layout (`t` is the table name from the URL, `bars_1m` by default):
//!
//! ```text
//! t           (symbol text, bucket text, ts timestamp, open double, high double,
//!              low double, close double, volume double, PRIMARY KEY ((symbol, bucket), ts))
//! t_symbols   (symbol text, bucket text, zone text, rows bigint, first timestamp,
//!              last timestamp, PRIMARY KEY (symbol, bucket))   -- which months exist
//! t_manifest  (source text PRIMARY KEY, size bigint, mtime_ns bigint, hash text,
//!              rows bigint, symbol text)                        -- resume after a crash
//! ```
//!
//! The text layout (`?layout=text`) is the earlier notebook's table, with
//! `timestamp text` and `float` prices; it has no index table, so its months are
//! enumerated from a range, or with `SELECT DISTINCT` when the range is open.
//!
//! All names are validated identifiers (see [`super::target::identifier`]).

use super::target::{CqlOptions, Layout, Replication, Target};
use crate::error::{Error, Result};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

/// Prepared statements of one store.
pub struct Statements {
    pub insert: PreparedStatement,
    pub range: PreparedStatement,
    pub stats: PreparedStatement,
    pub partitions: PreparedStatement,
    pub index_put: Option<PreparedStatement>,
    pub index_stats: Option<PreparedStatement>,
    pub index_buckets: Option<PreparedStatement>,
    pub index_zone: Option<PreparedStatement>,
    pub index_all: Option<PreparedStatement>,
}

fn cql_error(context: String, e: impl std::fmt::Display) -> Error {
    Error::Cql {
        context,
        detail: e.to_string(),
        retryable: false,
    }
}

async fn prepare(session: &Session, t: &Target, cql: String) -> Result<PreparedStatement> {
    let mut p = session.prepare(cql.clone()).await.map_err(|e| {
        let text = e.to_string();
        if text.contains("unconfigured table") || text.contains("does not exist") || text.contains("Undefined column") || text.contains("Undefined name") {
            t.schema_error(format!(
                "{text}; load data first (barstore creates the tables), or use ?layout=text for a table in the original layout"
            ))
        } else {
            cql_error(format!("preparing {cql:?}"), e)
        }
    })?;
    p.set_page_size(super::PAGE_ROWS);
    p.set_is_idempotent(true);
    Ok(p)
}

impl Statements {
    /// Prepares every statement; fails with a schema error when the tables are missing
    /// or have another layout.
    pub async fn prepare(s: &Session, t: &Target) -> Result<Self> {
        let (ks, tb) = (&t.keyspace, &t.table);
        let p = |cql: String| prepare(s, t, cql);
        let index = format!("{ks}.{tb}_symbols");
        Ok(match t.layout {
            Layout::Typed => Statements {
                insert: p(format!("INSERT INTO {ks}.{tb} (symbol, bucket, ts, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")).await?,
                range: p(format!("SELECT ts, open, high, low, close, volume FROM {ks}.{tb} WHERE symbol = ? AND bucket = ? AND ts >= ? AND ts <= ?")).await?,
                stats: p(format!("SELECT count(*), min(ts), max(ts) FROM {ks}.{tb} WHERE symbol = ? AND bucket = ?")).await?,
                partitions: p(format!("SELECT DISTINCT symbol, bucket FROM {ks}.{tb}")).await?,
                index_put: Some(p(format!("INSERT INTO {index} (symbol, bucket, zone) VALUES (?, ?, ?)")).await?),
                index_stats: Some(p(format!("UPDATE {index} SET rows = ?, first = ?, last = ? WHERE symbol = ? AND bucket = ?")).await?),
                index_buckets: Some(p(format!("SELECT bucket FROM {index} WHERE symbol = ?")).await?),
                index_zone: Some(p(format!("SELECT zone FROM {index} WHERE symbol = ? LIMIT 1")).await?),
                index_all: Some(p(format!("SELECT symbol, zone, rows, first, last FROM {index}")).await?),
            },
            Layout::Text | Layout::Auto => Statements {
                insert: p(format!("INSERT INTO {ks}.{tb} (symbol, bucket, timestamp, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")).await?,
                range: p(format!("SELECT timestamp, open, high, low, close, volume FROM {ks}.{tb} WHERE symbol = ? AND bucket = ? AND timestamp >= ? AND timestamp <= ?")).await?,
                stats: p(format!("SELECT count(*), min(timestamp), max(timestamp) FROM {ks}.{tb} WHERE symbol = ? AND bucket = ?")).await?,
                partitions: p(format!("SELECT DISTINCT symbol, bucket FROM {ks}.{tb}")).await?,
                index_put: None,
                index_stats: None,
                index_buckets: None,
                index_zone: None,
                index_all: None,
            },
        })
    }
}

/// Statements on the manifest table, which exists once a load or copy has run:
/// reading a table made by other tools never needs it.
pub struct ManifestStatements {
    pub put: PreparedStatement,
    pub all: PreparedStatement,
}

impl ManifestStatements {
    pub async fn prepare(s: &Session, t: &Target) -> Result<Self> {
        let manifest = format!("{}.{}_manifest", t.keyspace, t.table);
        Ok(ManifestStatements {
            put: prepare(s, t, format!("INSERT INTO {manifest} (source, size, mtime_ns, hash, rows, symbol) VALUES (?, ?, ?, ?, ?, ?)")).await?,
            all: prepare(s, t, format!("SELECT source, size, mtime_ns, hash, rows, symbol FROM {manifest}")).await?,
        })
    }
}

/// The layout of an existing table, from its columns: `ts` (typed) or `timestamp`
/// (text).
pub async fn detect_layout(s: &Session, t: &Target) -> Result<Layout> {
    let rows = s
        .query_unpaged(
            "SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?",
            (&t.keyspace, &t.table),
        )
        .await
        .map_err(|e| cql_error("looking up the table".into(), e))?
        .into_rows_result()
        .map_err(|e| cql_error("looking up the table".into(), e))?;
    let mut names = Vec::new();
    for row in rows
        .rows::<(String,)>()
        .map_err(|e| cql_error("looking up the table".into(), e))?
    {
        names.push(
            row.map_err(|e| cql_error("looking up the table".into(), e))?
                .0,
        );
    }
    if names.iter().any(|n| n == "ts") {
        Ok(Layout::Typed)
    } else if names.iter().any(|n| n == "timestamp") {
        Ok(Layout::Text)
    } else {
        Err(t.schema_error("does not exist or has neither a ts nor a timestamp column"))
    }
}

fn is_loopback(host: &str) -> bool {
    host.starts_with("127.") || host.starts_with("localhost:") || host.starts_with("[::1]")
}

/// Creates the keyspace (when absent) and the tables (when absent).
pub async fn ensure(s: &Session, t: &Target, opts: &CqlOptions) -> Result<()> {
    let (ks, tb) = (&t.keyspace, &t.table);
    let run = |cql: String| async move {
        s.query_unpaged(cql.clone(), ())
            .await
            .map_err(|e| cql_error(format!("running {cql:?}"), e))
            .map(|_| ())
    };
    let exists = s
        .query_unpaged(
            "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?",
            (ks,),
        )
        .await
        .map_err(|e| cql_error("looking up the keyspace".into(), e))?
        .into_rows_result()
        .map_err(|e| cql_error("looking up the keyspace".into(), e))?
        .rows_num()
        > 0;
    if !exists {
        let replication = match &opts.replication {
            Some(r) => r.clone(),
            None if t.hosts.iter().all(|h| is_loopback(h)) => Replication::Simple(1),
            None => {
                return Err(Error::Url(format!(
                    "keyspace {ks} does not exist: pass --replication (e.g. NetworkTopologyStrategy:dc1=3) to create it; the SimpleStrategy:1 default is only for a single local node"
                )))
            }
        };
        run(format!(
            "CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {}",
            replication.cql()
        ))
        .await?;
    }
    let compaction = opts.compaction.cql();
    match t.layout {
        Layout::Typed => {
            run(format!("CREATE TABLE IF NOT EXISTS {ks}.{tb} (symbol text, bucket text, ts timestamp, open double, high double, low double, close double, volume double, PRIMARY KEY ((symbol, bucket), ts)) WITH CLUSTERING ORDER BY (ts ASC) AND compaction = {compaction}")).await?;
            run(format!("CREATE TABLE IF NOT EXISTS {ks}.{tb}_symbols (symbol text, bucket text, zone text, rows bigint, first timestamp, last timestamp, PRIMARY KEY (symbol, bucket))")).await?;
        }
        Layout::Text | Layout::Auto => {
            run(format!("CREATE TABLE IF NOT EXISTS {ks}.{tb} (symbol text, bucket text, timestamp text, open float, high float, low float, close float, volume float, PRIMARY KEY ((symbol, bucket), timestamp)) WITH compaction = {compaction}")).await?;
        }
    }
    run(format!("CREATE TABLE IF NOT EXISTS {ks}.{tb}_manifest (source text PRIMARY KEY, size bigint, mtime_ns bigint, hash text, rows bigint, symbol text)")).await?;
    s.await_schema_agreement()
        .await
        .map_err(|e| cql_error("waiting for schema agreement".into(), e))?;
    Ok(())
}
