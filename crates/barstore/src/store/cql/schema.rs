//! The keyspace and tables of a CQL store: created when a load or copy first needs
//! them, with names validated as plain identifiers ([`super::target::identifier`]).
//! Each layout's own tables are described in its module ([`super::layout`]); beside
//! every bars table `t` barstore keeps its resume manifest:
//!
//! ```text
//! t_manifest  (source text PRIMARY KEY, size bigint, mtime_ns bigint, hash text,
//!              rows bigint, symbol text, timeframe text, adjustment text)
//! ```

use super::db::{columns, cql_error, keyspace_columns, schema_query, Db};
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
    /// The entries of a list of sources (`source IN ?`).
    pub of: PreparedStatement,
}

impl ManifestStatements {
    pub async fn prepare(db: &Db) -> Result<Self> {
        let manifest = format!("{}.{}_manifest", db.target.keyspace, db.target.table);
        Ok(ManifestStatements {
            put: db.prepare(format!("INSERT INTO {manifest} (source, size, mtime_ns, hash, rows, symbol, timeframe, adjustment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")).await?,
            of: db.prepare(format!("SELECT source, size, mtime_ns, hash, rows, symbol, timeframe, adjustment FROM {manifest} WHERE source IN ?")).await?,
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
    // only what is missing is created: a statement that changes nothing still costs
    // the node a schema digest of every keyspace (a tenth of a CPU-second on a node
    // with a few dozen tables), which every load and copy used to pay on connecting
    let tables = keyspace_columns(db, ks).await?;
    let cols = |table: &str| tables.get(table).map_or(&[][..], Vec::as_slice);
    let kind = match t.layout {
        Kind::Auto => Kind::of_columns(cols(tb)).unwrap_or(Kind::Chunked),
        named => named,
    };
    let index = cols(&format!("{tb}_symbols"));
    let mut ddl = Vec::new();
    if cols(tb).is_empty() || (kind != Kind::Text && index.is_empty()) {
        ddl.extend(super::layout::create(kind, t, opts.compaction.cql()));
    }
    // an index gets its catalog, filled from the index when the index is older than it
    let catalog = kind != Kind::Text && cols(&format!("{tb}_catalog")).is_empty();
    if catalog {
        ddl.push(super::catalog::create_catalog(ks, tb));
    }
    // a chunked table made before writes were fenced gets the months' version
    let table = cols(tb);
    let version =
        kind == Kind::Chunked && !table.is_empty() && !table.iter().any(|c| c == "version");
    if cols(&format!("{tb}_actions")).is_empty() {
        ddl.push(super::actions::create(db));
    }
    if cols(&format!("{tb}_manifest")).is_empty() {
        ddl.push(format!("CREATE TABLE IF NOT EXISTS {ks}.{tb}_manifest (source text PRIMARY KEY, size bigint, mtime_ns bigint, hash text, rows bigint, symbol text, timeframe text, adjustment text)"));
    }
    if ddl.is_empty() && !version {
        return Ok(());
    }
    // every statement may race with the same statement of another loader starting at
    // the same moment (the shards of a load start together): creating is conditional
    // (IF NOT EXISTS), and adding a column that another loader added first is done
    for cql in ddl {
        run(cql).await?;
    }
    if version {
        if let Err(e) = run(format!("ALTER TABLE {ks}.{tb} ADD version bigint static")).await {
            // the other loader's change may still be on its way to the node asked
            s.await_schema_agreement()
                .await
                .map_err(|e| cql_error("waiting for schema agreement".into(), e))?;
            if !columns(db, ks, tb).await?.iter().any(|c| c == "version") {
                return Err(e);
            }
        }
    }
    s.await_schema_agreement()
        .await
        .map_err(|e| cql_error("waiting for schema agreement".into(), e))?;
    if catalog && !index.is_empty() {
        super::catalog::fill_catalog(db).await?;
    }
    Ok(())
}
