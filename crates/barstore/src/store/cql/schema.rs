//! The tables of a CQL store and the statements barstore runs on them.
//!
//! Typed layout (`t` is the table name from the URL, `bars_1m` by default):
//!
//! ```text
//! t           (symbol text, timeframe text, adjustment text, bucket text, ts timestamp,
//!              open double, high double, low double, close double, volume double,
//!              PRIMARY KEY ((symbol, timeframe, adjustment, bucket), ts))
//! t_symbols   (symbol text, timeframe text, adjustment text, bucket text, zone text,
//!              rows bigint, first timestamp, last timestamp,
//!              PRIMARY KEY (symbol, timeframe, adjustment, bucket))  -- months per series
//! t_manifest  (source text PRIMARY KEY, size bigint, mtime_ns bigint, hash text,
//!              rows bigint, symbol text, timeframe text, adjustment text)  -- resume
//! ```
//!
//! Tables made before series existed lack `timeframe` and `adjustment` in their keys
//! (`PRIMARY KEY ((symbol, bucket), ts)`, index `(symbol, bucket)`): they hold the 1min
//! series with no adjustment of each symbol and keep working for it. So does the text
//! layout (`?layout=text`), the earlier notebook's table, with `timestamp text` and
//! `float` prices; it has no index table, so its months are enumerated from a range,
//! or with `SELECT DISTINCT` when the range is open.
//!
//! Statements take the series key first: `(symbol, timeframe, adjustment)` on tables
//! with series, `(symbol)` on the others ([`Statements::key`]).
//!
//! All names are validated identifiers (see [`super::target::identifier`]).

use super::target::{CqlOptions, Layout, Replication, Target};
use crate::error::{Error, Result};
use crate::series::Series;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

/// Prepared statements of one store.
pub struct Statements {
    /// Whether the tables key bars by series (else by symbol: the 1min series only).
    pub series: bool,
    pub insert: PreparedStatement,
    pub range: PreparedStatement,
    pub stats: PreparedStatement,
    /// Every (symbol, bucket) of a table without an index (text layout).
    pub partitions: Option<PreparedStatement>,
    pub index: Option<IndexStatements>,
}

/// Statements on the `_symbols` index of the typed layout.
pub struct IndexStatements {
    /// key, bucket, zone
    pub put: PreparedStatement,
    /// key, bucket, rows, first, last
    pub stats: PreparedStatement,
    /// key -> bucket
    pub buckets: PreparedStatement,
    /// key -> zone
    pub zone: PreparedStatement,
    /// symbol -> (timeframe, adjustment) per month; (bucket) on tables without series
    pub series_of: PreparedStatement,
    /// -> (symbol, [timeframe, adjustment,] zone, rows, first, last) per month
    pub all: PreparedStatement,
}

impl Statements {
    /// The leading key values of `series` in this store's statements.
    pub fn key<'a>(&self, series: &'a Series, timeframe: &'a str) -> Vec<&'a str> {
        if self.series {
            vec![&series.symbol, timeframe, series.adjustment.as_str()]
        } else {
            vec![&series.symbol]
        }
    }
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
            Layout::Typed => {
                let series = columns(s, &t.keyspace, &t.table)
                    .await?
                    .iter()
                    .any(|c| c == "timeframe");
                let (key, key_cols, where_key) = if series {
                    ("symbol, timeframe, adjustment", "?, ?, ?", "symbol = ? AND timeframe = ? AND adjustment = ?")
                } else {
                    ("symbol", "?", "symbol = ?")
                };
                let series_of = if series { "timeframe, adjustment" } else { "bucket" };
                Statements {
                    series,
                    insert: p(format!("INSERT INTO {ks}.{tb} ({key}, bucket, ts, open, high, low, close, volume) VALUES ({key_cols}, ?, ?, ?, ?, ?, ?, ?)")).await?,
                    range: p(format!("SELECT ts, open, high, low, close, volume FROM {ks}.{tb} WHERE {where_key} AND bucket = ? AND ts >= ? AND ts <= ?")).await?,
                    stats: p(format!("SELECT count(*), min(ts), max(ts) FROM {ks}.{tb} WHERE {where_key} AND bucket = ?")).await?,
                    partitions: None,
                    index: Some(IndexStatements {
                        put: p(format!("INSERT INTO {index} ({key}, bucket, zone) VALUES ({key_cols}, ?, ?)")).await?,
                        stats: p(format!("INSERT INTO {index} ({key}, bucket, rows, first, last) VALUES ({key_cols}, ?, ?, ?, ?)")).await?,
                        buckets: p(format!("SELECT bucket FROM {index} WHERE {where_key}")).await?,
                        zone: p(format!("SELECT zone FROM {index} WHERE {where_key} LIMIT 1")).await?,
                        series_of: p(format!("SELECT {series_of} FROM {index} WHERE symbol = ?")).await?,
                        all: p(format!("SELECT {key}, zone, rows, first, last FROM {index}")).await?,
                    }),
                }
            }
            Layout::Text | Layout::Auto => Statements {
                series: false,
                insert: p(format!("INSERT INTO {ks}.{tb} (symbol, bucket, timestamp, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")).await?,
                range: p(format!("SELECT timestamp, open, high, low, close, volume FROM {ks}.{tb} WHERE symbol = ? AND bucket = ? AND timestamp >= ? AND timestamp <= ?")).await?,
                stats: p(format!("SELECT count(*), min(timestamp), max(timestamp) FROM {ks}.{tb} WHERE symbol = ? AND bucket = ?")).await?,
                partitions: Some(p(format!("SELECT DISTINCT symbol, bucket FROM {ks}.{tb}")).await?),
                index: None,
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
            put: prepare(s, t, format!("INSERT INTO {manifest} (source, size, mtime_ns, hash, rows, symbol, timeframe, adjustment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")).await?,
            all: prepare(s, t, format!("SELECT source, size, mtime_ns, hash, rows, symbol, timeframe, adjustment FROM {manifest}")).await?,
        })
    }
}

/// The column names of a table (none when it does not exist).
async fn columns(s: &Session, keyspace: &str, table: &str) -> Result<Vec<String>> {
    let failed =
        |e: &dyn std::fmt::Display| cql_error(format!("looking up table {keyspace}.{table}"), e);
    let rows = s
        .query_unpaged(
            "SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?",
            (keyspace, table),
        )
        .await
        .map_err(|e| failed(&e))?
        .into_rows_result()
        .map_err(|e| failed(&e))?;
    let mut names = Vec::new();
    for row in rows.rows::<(String,)>().map_err(|e| failed(&e))? {
        names.push(row.map_err(|e| failed(&e))?.0);
    }
    Ok(names)
}

/// The layout of an existing table, from its columns: `ts` (typed) or `timestamp`
/// (text).
pub async fn detect_layout(s: &Session, t: &Target) -> Result<Layout> {
    let names = columns(s, &t.keyspace, &t.table).await?;
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
                    "keyspace {ks} does not exist: give a replication (e.g. NetworkTopologyStrategy:dc1=3) to create it; the SimpleStrategy:1 default is only for a single local node"
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
            run(format!("CREATE TABLE IF NOT EXISTS {ks}.{tb} (symbol text, timeframe text, adjustment text, bucket text, ts timestamp, open double, high double, low double, close double, volume double, PRIMARY KEY ((symbol, timeframe, adjustment, bucket), ts)) WITH CLUSTERING ORDER BY (ts ASC) AND compaction = {compaction}")).await?;
            run(format!("CREATE TABLE IF NOT EXISTS {ks}.{tb}_symbols (symbol text, timeframe text, adjustment text, bucket text, zone text, rows bigint, first timestamp, last timestamp, PRIMARY KEY (symbol, timeframe, adjustment, bucket))")).await?;
        }
        Layout::Text | Layout::Auto => {
            run(format!("CREATE TABLE IF NOT EXISTS {ks}.{tb} (symbol text, bucket text, timestamp text, open float, high float, low float, close float, volume float, PRIMARY KEY ((symbol, bucket), timestamp)) WITH compaction = {compaction}")).await?;
        }
    }
    let manifest = format!("{tb}_manifest");
    run(format!("CREATE TABLE IF NOT EXISTS {ks}.{manifest} (source text PRIMARY KEY, size bigint, mtime_ns bigint, hash text, rows bigint, symbol text, timeframe text, adjustment text)")).await?;
    // a manifest made before series existed gets their columns (null: 1min, none)
    let have = columns(s, ks, &manifest).await?;
    for column in ["timeframe", "adjustment"] {
        if !have.iter().any(|c| c == column) {
            run(format!("ALTER TABLE {ks}.{manifest} ADD {column} text")).await?;
        }
    }
    s.await_schema_agreement()
        .await
        .map_err(|e| cql_error("waiting for schema agreement".into(), e))?;
    Ok(())
}
