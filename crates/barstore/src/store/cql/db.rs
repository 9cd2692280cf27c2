//! The connection every layout talks through: the driver session plus what barstore adds
//! to each request (retries with backoff on transient errors, paging, errors that name
//! what was being done and the store).

use super::target::{CqlOptions, Target};
use crate::error::{Error, Result};
use futures::Future;
use scylla::client::session::Session;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::response::PagingState;
use scylla::serialize::row::{RowSerializationContext, SerializeRow};
use scylla::serialize::value::SerializeValue;
use scylla::serialize::writers::RowWriter;
use scylla::serialize::SerializationError;
use scylla::statement::batch::Batch;
use scylla::statement::prepared::PreparedStatement;
use std::hash::BuildHasher;
use std::ops::ControlFlow;
use std::time::Duration;

/// Rows per page when reading.
pub const PAGE_ROWS: i32 = 10_000;

/// Row count, first and last bar (UTC ms) of a stored month.
pub type MonthStats = (i64, i64, i64);

/// A session on one store's keyspace and table.
pub struct Db {
    /// The store URL.
    pub target: Target,
    /// Connection and write options.
    pub opts: CqlOptions,
    /// The driver's session.
    pub session: Session,
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

/// Exponential backoff with full jitter: up to 100 ms x 2^attempt, capped at 5 s.
pub fn backoff(attempt: u32) -> Duration {
    let cap = (100u64 << attempt.min(6)).min(5_000);
    let jitter = std::collections::hash_map::RandomState::new().hash_one(attempt) % 1000;
    Duration::from_millis(cap / 2 + cap * jitter / 2000)
}

/// A CQL error that no retry would mend.
pub fn cql_error(context: String, e: impl std::fmt::Display) -> Error {
    Error::Cql {
        context,
        detail: e.to_string(),
        retryable: false,
    }
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

    /// Runs `attempt` until it succeeds, fails for good, or runs out of attempts.
    pub async fn retry<T, F, Fut>(&self, what: impl Fn() -> String, attempt: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, ExecutionError>>,
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
