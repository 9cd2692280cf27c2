//! Why a store failed, and which driver failures are worth another attempt.

use super::*;

/// Why a store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file or directory of the embedded store could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A Parquet file of the store could not be read or written.
    #[error("{}: {source}", path.display())]
    Parquet {
        /// The Parquet file.
        path: PathBuf,
        /// The Parquet library's error.
        source: parquet::errors::ParquetError,
    },
    /// The transaction log of the embedded store could not be read or committed to.
    #[error("{}: {source}", path.display())]
    Table {
        /// The table's directory.
        path: PathBuf,
        /// The Delta Lake library's error.
        source: Box<deltalake_core::DeltaTableError>,
    },
    /// A read asked for a version the store does not have (or a store without versions).
    #[error("{location}: {detail}")]
    NoVersion {
        /// The store.
        location: String,
        /// The version asked for and what the store has.
        detail: String,
    },
    /// The store holds data it did not expect (a file written by something else, a
    /// symbol loaded with another time zone).
    #[error("{}: {detail}", path.display())]
    Unexpected {
        /// The store file or directory at fault.
        path: PathBuf,
        /// What is wrong and what to do.
        detail: String,
    },
    /// A CQL request failed (after retries, when the failure was transient).
    #[error("{context}: {detail}")]
    Cql {
        /// What was being done, naming the symbol and month where there is one.
        context: String,
        /// The driver's error, the attempts made and what to do.
        detail: String,
        /// The driver's error.
        source: Cause,
    },
    /// Other writers kept changing the month a write was merging into.
    #[error("{context}: other loads changed this month {attempts} times while this one was merging into it; run the command again once they are done")]
    Busy {
        /// The series, month and store.
        context: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A write would merge into a stored chunk that cannot be decoded (an unknown codec,
    /// a checksum mismatch): nothing of that series' month was written, since the
    /// merge would replace the day's stored bars with only the ones loaded now.
    #[error("table {table}: {detail}")]
    Unreadable {
        /// `keyspace.table`.
        table: String,
        /// The series, the day, what is wrong with it and how to replace it.
        detail: String,
    },
    /// A table is missing or does not have the expected columns.
    #[error("table {table}: {detail}")]
    Schema {
        /// `keyspace.table`.
        table: String,
        /// What is wrong and what to do.
        detail: String,
    },
}

impl StoreError {
    /// Wraps an I/O error on a store file.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    /// Wraps a Delta Lake error on the table at `path`.
    pub fn table(path: impl Into<PathBuf>, source: deltalake_core::DeltaTableError) -> Self {
        StoreError::Table {
            path: path.into(),
            source: Box::new(source),
        }
    }

    /// Wraps a Parquet error on a store file.
    pub fn parquet(path: impl Into<PathBuf>, source: parquet::errors::ParquetError) -> Self {
        StoreError::Parquet {
            path: path.into(),
            source,
        }
    }

    /// True for transient failures: a driver error worth another attempt (a timeout,
    /// unavailable replicas, a lost connection), or a series another load is writing.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Cql { source, .. } => source
                .downcast_ref::<ExecutionError>()
                .is_some_and(is_retryable),
            StoreError::Busy { .. } => true,
            _ => false,
        }
    }
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
