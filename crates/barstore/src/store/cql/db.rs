//! The connection every layout talks through: the driver session plus what barstore adds
//! to each request (retries with backoff on transient errors, paging, errors that name
//! what was being done and the store).

use super::target::{CqlOptions, Target};
use crate::error::{is_retryable, Cause, Error, Result, StoreError};
use futures::Future;
use scylla::client::session::Session;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::response::query_result::QueryResult;
use scylla::response::PagingState;
use scylla::serialize::row::{RowSerializationContext, SerializeRow};
use scylla::serialize::value::SerializeValue;
use scylla::serialize::writers::RowWriter;
use scylla::serialize::SerializationError;
use scylla::statement::batch::Batch;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::unprepared::Statement;
use scylla::statement::Consistency;
use scylla::value::CqlDate;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::ControlFlow;
use std::time::Duration;

/// Rows per page when reading.
pub const PAGE_ROWS: i32 = 10_000;

/// Row count, first and last bar (UTC ms) of a stored month.
pub type MonthStats = (i64, i64, i64);

/// The stats of no bars: adding stats to them changes nothing.
pub const NO_STATS: MonthStats = (0, i64::MAX, i64::MIN);

/// A session on one store's keyspace and table.
pub struct Db {
    /// The store URL.
    pub target: Target,
    /// Connection and write options.
    pub opts: CqlOptions,
    /// The driver's session.
    pub session: Session,
    /// Keeps retry warnings to about one a second however many requests retry.
    pub retries: RetryLog,
}

/// How often a retry is reported: a lost node makes hundreds of in-flight requests
/// retry at once, and one line a second says as much as hundreds.
const RETRY_REPORT_EVERY: Duration = Duration::from_secs(1);

/// The last retry warning and how many retries were not reported since.
#[derive(Default)]
pub struct RetryLog {
    last: std::sync::Mutex<Option<std::time::Instant>>,
    unreported: std::sync::atomic::AtomicU64,
}

impl RetryLog {
    /// Warns (target `barstore::retry`) unless a warning went out within the last
    /// second; then the retry is only counted, and the next warning says how many.
    fn report(&self, message: impl FnOnce() -> String) {
        use std::sync::atomic::Ordering;
        let now = std::time::Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| now.duration_since(t) < RETRY_REPORT_EVERY) {
            self.unreported.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(now);
        let more = self.unreported.swap(0, Ordering::Relaxed);
        let more = match more {
            0 => String::new(),
            n => format!(" (and {n} more retries since the last report)"),
        };
        tracing::warn!(target: "barstore::retry", "{}{more}", message());
    }
}

/// A consistency level as CQL writes it (`LOCAL_QUORUM`).
fn cql_name(c: impl std::fmt::Debug) -> String {
    let debug = format!("{c:?}");
    let mut out = String::new();
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

/// What kind of failure a driver error is, in a few words, naming the consistency
/// level and replica counts where the node gave them.
pub fn failure_kind(e: &ExecutionError) -> String {
    match e {
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(db, _)) => match db {
            DbError::Unavailable {
                consistency,
                required,
                alive,
            } => format!(
                "unavailable: {} needs {required} replicas, {alive} alive",
                cql_name(consistency)
            ),
            DbError::WriteTimeout {
                consistency,
                received,
                required,
                ..
            } => format!(
                "write timeout: {} needs {required} replicas, {received} answered",
                cql_name(consistency)
            ),
            DbError::ReadTimeout {
                consistency,
                received,
                required,
                ..
            } => format!(
                "read timeout: {} needs {required} replicas, {received} answered",
                cql_name(consistency)
            ),
            DbError::Overloaded | DbError::RateLimitReached { .. } => "node overloaded".into(),
            DbError::IsBootstrapping => "node still starting".into(),
            other => format!("node error: {other}"),
        },
        ExecutionError::LastAttemptError(RequestAttemptError::BrokenConnectionError(_)) => {
            "connection lost".into()
        }
        ExecutionError::ConnectionPoolError(_) | ExecutionError::EmptyPlan => {
            "no connection to any replica".into()
        }
        ExecutionError::RequestTimeout(_) => "no answer within the request timeout".into(),
        other => other.to_string(),
    }
}

/// The time in microseconds since 1970, as CQL write times count.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Exponential backoff with full jitter: up to 100 ms x 2^attempt, capped at 5 s.
pub fn backoff(attempt: u32) -> Duration {
    let cap = (100u64 << attempt.min(6)).min(5_000);
    let jitter = std::collections::hash_map::RandomState::new().hash_one(attempt) % 1000;
    Duration::from_millis(cap / 2 + cap * jitter / 2000)
}

/// A CQL error that no retry would mend, with the driver's error as its source.
pub fn cql_error(context: String, e: impl Into<Cause>) -> Error {
    let source = e.into();
    StoreError::Cql {
        context,
        detail: source.to_string(),
        source,
    }
    .into()
}

/// Statement values: the series key (and bucket) first, then `rest`. The key has one
/// value or three depending on the table, so the statements of both kinds of table take
/// the same Rust values.
pub struct Keyed<'a, R> {
    /// The leading values.
    pub key: &'a [&'a str],
    /// The others.
    pub rest: R,
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

impl Db {
    /// Prepares a statement (idempotent, paged); a missing table or column is a schema
    /// error that says how to get the tables.
    pub async fn prepare(&self, cql: String) -> Result<PreparedStatement> {
        let mut p = self.session.prepare(cql.clone()).await.map_err(|e| {
            let text = e.to_string();
            if text.contains("unconfigured table") || text.contains("does not exist") || text.contains("Undefined column") || text.contains("Undefined name") {
                self.target.schema_error(format!(
                    "{text}; load data first (barstore creates the tables), or name the table's layout (?layout=text for the original one)"
                ))
            } else {
                cql_error(format!("preparing {cql:?}"), e)
            }
        })?;
        p.set_page_size(PAGE_ROWS);
        p.set_is_idempotent(true);
        Ok(p)
    }

    /// The nodes the driver holds no connection to, `; unreachable: host:port, ...`, or
    /// nothing when it reaches them all.
    pub fn unreachable(&self) -> String {
        let state = self.session.get_cluster_state();
        let down: Vec<String> = state
            .get_nodes_info()
            .iter()
            .filter(|n| !n.is_connected())
            .map(|n| n.address.to_string())
            .collect();
        if down.is_empty() {
            String::new()
        } else {
            format!("; unreachable: {}", down.join(", "))
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or runs out of time (or of
    /// attempts, when capped); each retry is reported (rate-limited) as a warning naming
    /// the failure, the nodes out of reach and the attempt. A request is retried for as
    /// long as `retry_for` whatever each attempt takes: a node that dies makes requests
    /// that involve it time out until the cluster's failure detector convicts it, tens of
    /// seconds on a busy cluster, and a load must ride that out.
    pub async fn retry<T, F, Fut>(&self, what: impl Fn() -> String, attempt: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, ExecutionError>>,
    {
        let started = std::time::Instant::now();
        let mut n = 0;
        // every kind of failure met, in order: the first attempts often say more (an
        // unavailable or timed-out consistency level) than the last (no connection)
        let mut seen: Vec<String> = Vec::new();
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let retryable = is_retryable(&e);
                    let kind = failure_kind(&e);
                    if !seen.contains(&kind) {
                        seen.push(kind.clone());
                    }
                    let wait = backoff(n);
                    let left = self.opts.retry_for.saturating_sub(started.elapsed());
                    let more = match self.opts.attempts {
                        Some(cap) => n + 1 < cap,
                        None => true,
                    };
                    if retryable && more && wait < left {
                        self.retries.report(|| {
                            format!(
                                "retrying {} on {}: {kind}{}; attempt {}{} in {:.1} s ({:.0} s of retries left)",
                                what(),
                                self.target,
                                self.unreachable(),
                                n + 2,
                                self.opts
                                    .attempts
                                    .map_or(String::new(), |cap| format!(" of {cap}")),
                                wait.as_secs_f64(),
                                left.as_secs_f64()
                            )
                        });
                        // a cancelled call ends here, not after its remaining attempts
                        crate::cancel::sleep(wait).await?;
                        n += 1;
                        continue;
                    }
                    return Err(StoreError::Cql {
                        context: format!("{} on {}", what(), self.target),
                        detail: if retryable {
                            format!(
                                "gave up after {} at {}: {}{}{} ({e}); rows acknowledged before are stored, run the same command again once the cluster is reachable",
                                match n + 1 {
                                    1 => "1 attempt".to_string(),
                                    n => format!("{n} attempts"),
                                },
                                super::consistency_name(self.opts.consistency),
                                seen.join(", then "),
                                self.unreachable(),
                                match n {
                                    0 => String::new(),
                                    _ => format!(
                                        "; {:.0} s after the first",
                                        started.elapsed().as_secs_f64()
                                    ),
                                },
                            )
                        } else {
                            e.to_string()
                        },
                        source: Box::new(e),
                    }
                    .into());
                }
            }
        }
    }

    /// Executes a prepared statement that returns no rows.
    pub async fn exec(
        &self,
        what: impl Fn() -> String,
        stmt: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<()> {
        self.retry(what, || self.session.execute_unpaged(stmt, &values))
            .await
            .map(|_| ())
    }

    /// Executes an unlogged batch (one partition's rows).
    pub async fn batch<V: scylla::serialize::batch::BatchValues>(
        &self,
        what: impl Fn() -> String,
        batch: &Batch,
        values: V,
    ) -> Result<()> {
        self.retry(what, || self.session.batch(batch, &values))
            .await
            .map(|_| ())
    }

    /// Executes a conditional batch (a lightweight transaction on one partition) and says
    /// whether it applied. A retry after a timeout may find the batch already applied
    /// and say it did not: callers read again and find their own write.
    pub async fn conditional<V: scylla::serialize::batch::BatchValues>(
        &self,
        what: impl Fn() -> String,
        batch: &Batch,
        values: V,
    ) -> Result<bool> {
        let result = self
            .retry(&what, || self.session.batch(batch, &values))
            .await?;
        // the first column of a lightweight transaction's row says whether it applied
        let rows = result
            .into_rows_result()
            .map_err(|e| cql_error(what(), e))?;
        let applied = rows
            .first_row::<scylla::value::Row>()
            .map_err(|e| self.target.schema_error(e))?
            .columns
            .into_iter()
            .next()
            .flatten()
            .and_then(|v| v.as_boolean());
        Ok(applied == Some(true))
    }

    /// Runs a query page by page, handing each page's rows to `each`.
    pub async fn pages<R>(
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
            let rows = result
                .into_rows_result()
                .map_err(|e| cql_error(what(), e))?;
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
}

/// Days since 1970-01-01 as a CQL `date`.
pub fn cql_date(days: i64) -> CqlDate {
    CqlDate((days + (1 << 31)) as u32)
}

/// A CQL `date` as days since 1970-01-01.
pub fn days_of(d: CqlDate) -> i64 {
    i64::from(d.0) - (1 << 31)
}

/// A query of the schema tables. Every node holds them whole, so one node's answer is
/// enough whatever consistency the bars are written at (a cluster with a node down still
/// answers at ALL); a lost connection is retried like any request.
pub async fn schema_query(
    db: &Db,
    what: impl Fn() -> String,
    cql: &str,
    values: impl SerializeRow,
) -> Result<QueryResult> {
    let mut query = Statement::new(cql);
    query.set_consistency(Consistency::One);
    query.set_is_idempotent(true);
    db.retry(what, || db.session.query_unpaged(query.clone(), &values))
        .await
}

/// The rows of a query on the schema tables, each deserialised as `R`.
async fn schema_rows<R>(
    db: &Db,
    what: impl Fn() -> String,
    cql: &str,
    values: impl SerializeRow,
) -> Result<Vec<R>>
where
    R: for<'f> scylla::deserialize::row::DeserializeRow<'f, 'f>,
{
    let rows = schema_query(db, &what, cql, values)
        .await?
        .into_rows_result()
        .map_err(|e| cql_error(what(), e))?;
    let typed = rows.rows::<R>().map_err(|e| cql_error(what(), e))?;
    typed
        .map(|row| row.map_err(|e| cql_error(what(), e)))
        .collect()
}

/// The column names of every table of a keyspace, by table (none when it does not
/// exist): one request where a lookup a table took one each.
pub async fn keyspace_columns(db: &Db, keyspace: &str) -> Result<HashMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> = schema_rows(
        db,
        || format!("looking up the tables of keyspace {keyspace}"),
        "SELECT table_name, column_name FROM system_schema.columns WHERE keyspace_name = ?",
        (keyspace,),
    )
    .await?;
    let mut tables: HashMap<String, Vec<String>> = HashMap::new();
    for (table, column) in rows {
        tables.entry(table).or_default().push(column);
    }
    Ok(tables)
}

/// The column names of a table (none when it does not exist).
pub async fn columns(db: &Db, keyspace: &str, table: &str) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = schema_rows(
        db,
        || format!("looking up table {keyspace}.{table}"),
        "SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?",
        (keyspace, table),
    )
    .await?;
    Ok(rows.into_iter().map(|(c,)| c).collect())
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
}
