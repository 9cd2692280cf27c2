//! The library's errors, one type per operation that can fail: opening a store
//! ([`OpenError`]), loading one input file ([`FileError`]), reading stored series
//! ([`ReadError`]), a store's own work ([`StoreError`]), and a value given for an option
//! ([`OptionError`]). [`Error`] says which of them stopped the call.
//!
//! A *row* that cannot be loaded is not an error here: it is a [`crate::parse::Reject`]
//! written to the error log while the load goes on.
//!
//! Every message is whole: it names the object at fault (file, symbol, store, option)
//! and, where there is one, the fix, and it already contains the text of its `source`.
//! `source()` is there for programs: to reach the driver's or the operating system's
//! error, and to tell transient failures from lasting ones ([`Error::is_retryable`]).

use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use std::path::PathBuf;

mod file;
mod open;
mod read;
mod store;

pub use file::FileError;
pub use open::OpenError;
pub use read::ReadError;
pub use store::{is_retryable, StoreError};

/// A driver, I/O or library error kept as the source of one of ours.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a call failed, by the operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value given for an option is not valid.
    #[error(transparent)]
    Option(#[from] OptionError),
    /// A store could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// An input file could not be loaded.
    #[error(transparent)]
    File(#[from] FileError),
    /// A read (or check, copy, chart) cannot be answered as asked.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file barstore writes for the user (an export, the error log) could not be written.
    #[error("{}: {source}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// The I/O or Parquet error.
        source: Cause,
    },
    /// The worker threads could not be started.
    #[error("cannot start {jobs} worker threads: {source}")]
    Threads {
        /// Threads asked for.
        jobs: usize,
        /// The thread pool's error.
        source: rayon::ThreadPoolBuildError,
    },
    /// A chart could not be drawn or written.
    #[error("{}: cannot draw the chart: {detail}", path.display())]
    Chart {
        /// The picture file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The operation was cancelled by the caller (Ctrl-C); what was completed is kept.
    #[error("cancelled: completed files are kept; run the same command again to resume")]
    Cancelled,
}

impl Error {
    /// True for failures a later attempt may not repeat (timeouts, an unreachable
    /// cluster, a series another load is writing): running the same command again is
    /// worthwhile.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Open(e) => e.is_retryable(),
            Error::File(e) => e.is_retryable(),
            Error::Store(e) => e.is_retryable(),
            _ => false,
        }
    }

    /// Wraps an error writing one of the user's files.
    pub fn output(path: impl Into<PathBuf>, source: impl Into<Cause>) -> Self {
        Error::Output {
            path: path.into(),
            source: source.into(),
        }
    }

    /// Names the input file a failure happened in: a store failure while loading
    /// `file` becomes [`FileError::Store`] (still retryable when the store's failure is).
    pub(crate) fn in_file(self, file: &str) -> Self {
        match self {
            Error::Store(source) => Error::File(FileError::Store {
                file: file.to_string(),
                source,
            }),
            Error::Option(source) => Error::File(FileError::Name {
                file: file.to_string(),
                source,
            }),
            other => other,
        }
    }
}

/// A value given for an option (a symbol, a timeframe, a time, a store name...) that
/// barstore cannot use.
#[derive(Debug, thiserror::Error)]
#[error("invalid {option} {value:?}: {reason}")]
pub struct OptionError {
    /// The option, as a user would name it (`timeframe`, `keyspace name`).
    pub option: &'static str,
    /// The value as given.
    pub value: String,
    /// Which rule it breaks, and what to give instead.
    pub reason: String,
}

impl OptionError {
    /// An invalid `value` for `option`.
    pub fn new(option: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        OptionError {
            option,
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
