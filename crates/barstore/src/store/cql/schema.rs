//! The keyspace and tables of a CQL store: created when a load or copy first needs
//! them, with names validated as plain identifiers ([`super::target::identifier`]).
//! Each layout's own tables are described in its module ([`super::layout`]); beside
//! every bars table `t` barstore keeps its resume manifest:
//!
//! ```text
//! t_manifest  (source text PRIMARY KEY, size bigint, mtime_ns bigint, hash text,
//!              rows bigint, symbol text, timeframe text, adjustment text)
//! ```

use super::db::{columns, cql_error, schema_query, Db};
use super::layout::Kind;
use super::target::Replication;
use crate::error::{OpenError, Result};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::unprepared::Statement;
use std::time::Duration;

/// How long a schema change may take.
const DDL_TIMEOUT: Duration = Duration::from_secs(120);

/// Statements on the manifest table, which exists once a load or copy has run:
/// reading a table made by other tools never needs it.
pub struct ManifestStatements {
    pub put: PreparedStatement,
    pub all: PreparedStatement,
}

impl ManifestStatements {
    pub async fn prepare(db: &Db) -> Result<Self> {
        let manifest = format!("{}.{}_manifest", db.target.keyspace, db.target.table);
        Ok(ManifestStatements {
            put: db.prepare(format!("INSERT INTO {manifest} (source, size, mtime_ns, hash, rows, symbol, timeframe, adjustment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")).await?,
            all: db.prepare(format!("SELECT source, size, mtime_ns, hash, rows, symbol, timeframe, adjustment FROM {manifest}")).await?,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    host.starts_with("127.") || host.starts_with("localhost:") || host.starts_with("[::1]")
}

/// Creates the keyspace (when absent) and the tables of the URL's layout (when absent;
/// for `auto`, a new table is chunked).
pub async fn ensure(db: &Db) -> Result<()> {
    let (t, opts, s) = (&db.target, &db.opts, &db.session);
    let (ks, tb) = (&t.keyspace, &t.table);
    // a busy node (flushing, compacting) can take far longer over a schema change than
    // over a read or write
    let run = |cql: String| async move {
        let mut ddl = Statement::new(cql.clone());
        ddl.set_request_timeout(Some(DDL_TIMEOUT));
        s.query_unpaged(ddl, ())
            .await
            .map_err(|e| cql_error(format!("running {cql:?}"), e))
            .map(|_| ())
    };
    let exists = schema_query(
        db,
        || format!("looking up keyspace {ks}"),
        "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?",
        (ks,),
    )
    .await?
    .into_rows_result()
    .map_err(|e| cql_error("looking up the keyspace".into(), e))?
    .rows_num()
        > 0;
    if !exists {
        let replication = match &opts.replication {
            Some(r) => r.clone(),
            None if t.hosts.iter().all(|h| is_loopback(h)) => Replication::Simple(1),
            None => {
                return Err(OpenError::Replication {
                    keyspace: ks.to_string(),
                }
                .into())
            }
        };
        run(format!(
            "CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {}",
            replication.cql()
        ))
        .await?;
    }
    let kind = match t.layout {
        Kind::Auto => Kind::of_columns(&columns(db, ks, tb).await?).unwrap_or(Kind::Chunked),
        named => named,
    };
    let index = columns(db, ks, &format!("{tb}_symbols")).await?;
    let had_catalog = !columns(db, ks, &format!("{tb}_catalog")).await?.is_empty();
    for ddl in super::layout::create(kind, t, opts.compaction.cql()) {
        run(ddl).await?;
    }
    // an index keyed by series (a new one is) gets its catalog, filled from the index
    // when the index is older than it
    if kind != Kind::Text && (index.is_empty() || index.iter().any(|c| c == "timeframe")) {
        run(super::catalog::create_catalog(ks, tb)).await?;
        if !had_catalog && !index.is_empty() {
            s.await_schema_agreement()
                .await
                .map_err(|e| cql_error("waiting for schema agreement".into(), e))?;
            super::catalog::fill_catalog(db).await?;
        }
    }
    // a chunked table made before writes were fenced gets the months' version
    if kind == Kind::Chunked && !columns(db, ks, tb).await?.iter().any(|c| c == "version") {
        run(format!("ALTER TABLE {ks}.{tb} ADD version bigint static")).await?;
    }
    run(super::actions::create(db)).await?;
    let manifest = format!("{tb}_manifest");
    run(format!("CREATE TABLE IF NOT EXISTS {ks}.{manifest} (source text PRIMARY KEY, size bigint, mtime_ns bigint, hash text, rows bigint, symbol text, timeframe text, adjustment text)")).await?;
    // a manifest made before series existed gets their columns (null: 1min, none)
    let have = columns(db, ks, &manifest).await?;
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
