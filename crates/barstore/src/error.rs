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

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The store URL cannot be understood.
    #[error("invalid store URL {url:?}: {reason}; expected cql://host[:port][,host...]/keyspace[?table=NAME&layout=auto|chunked|typed|text]")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS set-up failed: a CA, a client certificate or key that cannot be used.
    #[error("{detail}: {source}")]
    Tls {
        /// What was being set up, naming the file (never its content).
        detail: String,
        /// OpenSSL's error.
        source: openssl::error::ErrorStack,
    },
    /// A client certificate was given without its key, or a key without its certificate.
    #[error("a client certificate needs both the certificate file and its key file")]
    HalfClientCert,
    /// The key file does not hold the client certificate's private key.
    #[error("{} is not the private key of the client certificate {}", key.display(), cert.display())]
    KeyMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },
    /// A keyspace is missing and barstore may not guess how to replicate it.
    #[error("keyspace {keyspace} does not exist: give a replication (e.g. NetworkTopologyStrategy:dc1=3) to create it; the SimpleStrategy:1 default is only for a single local node")]
    Replication {
        /// The keyspace.
        keyspace: String,
    },
    /// The driver's runtime could not be started.
    #[error("cannot start the CQL driver's runtime: {source}")]
    Runtime {
        /// The operating system's error.
        source: std::io::Error,
    },
    /// No node of the cluster could be reached.
    #[error("cannot connect to {hosts}: {source}{hint}; check the hosts and ports, TLS and the credentials")]
    Connect {
        /// The contact points.
        hosts: String,
        /// What the failure may mean (a client certificate refused), or nothing.
        hint: String,
        /// The driver's error (a `scylla::errors::NewSessionError`).
        source: Cause,
    },
}

impl OpenError {
    /// An unreachable cluster may be reachable later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, OpenError::Connect { .. })
    }
}

/// Why an input file could not be loaded. Nothing of the file is stored unless the
/// variant says otherwise; the load goes on with the other files when
/// [`FileError::is_per_file`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's (or the archive's) error.
        source: std::io::Error,
    },
    /// The layout of the file could not be recognised.
    #[error("{file}: cannot recognise the layout: {reason}; state the format (e.g. datetime,open,high,low,close,volume)")]
    Unrecognised {
        /// The input file (or `archive.zip!member`).
        file: String,
        /// What was missing or ambiguous.
        reason: String,
    },
    /// The symbol could not be derived from the file name.
    #[error("{file}: cannot derive a symbol from the file name with pattern {pattern:?}; give a pattern such as '{{symbol}}_full_1min_adjsplit.txt'")]
    Pattern {
        /// The input file.
        file: String,
        /// The pattern that did not match.
        pattern: String,
    },
    /// A name taken from the file (its symbol) cannot be used.
    #[error("{file}: {source}")]
    Name {
        /// The input file.
        file: String,
        /// The name and the rule it breaks.
        source: OptionError,
    },
    /// The file's bars do not fit its timeframe.
    #[error("{file}: line {line}: {detail}")]
    Timeframe {
        /// The input file.
        file: String,
        /// A line that shows the problem.
        line: u64,
        /// The timeframes involved and what to do.
        detail: String,
    },
    /// The header of a file with named columns (actions) lacks what it needs.
    #[error("{file}: line 1: {detail}")]
    Header {
        /// The input file.
        file: String,
        /// What is missing and what is expected.
        detail: String,
    },
    /// The file's series cannot go into this store as it is (another time zone, a table
    /// that cannot hold it).
    #[error("{file}: {detail}")]
    Series {
        /// The input file.
        file: String,
        /// What is wrong and what to do.
        detail: String,
    },
    /// The store failed while the file was being written; the months acknowledged
    /// before are stored, and the file is loaded again by the next run.
    #[error("{file}: {source}")]
    Store {
        /// The input file.
        file: String,
        /// The store's failure.
        source: StoreError,
    },
}

impl FileError {
    /// Wraps an I/O error reading `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FileError::Io {
            path: path.into(),
            source,
        }
    }

    /// True when the failure concerns this file alone (its content, its name, reading
    /// it): the load reports it and goes on. A store failure stops the load.
    pub fn is_per_file(&self) -> bool {
        !matches!(self, FileError::Store { .. })
    }

    /// True when loading the file again may succeed without changing it.
    pub fn is_retryable(&self) -> bool {
        match self {
            FileError::Store { source, .. } => source.is_retryable(),
            _ => false,
        }
    }
}

/// Why stored series cannot be read as asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// No bars are stored for the symbol.
    #[error("symbol {0:?} is not in the store")]
    UnknownSymbol(String),
    /// Symbols of a many-symbol read that are not stored.
    #[error("not in the store: {list} ({count} of the symbols asked for; leave them out, or skip them with --skip-missing or missing=\"skip\")", list = preview(.symbols))]
    UnknownSymbols {
        /// How many.
        count: usize,
        /// Which, sorted.
        symbols: Vec<String>,
    },
    /// The symbol is stored, but not in the series asked for.
    #[error("{symbol} has no {wanted} series; stored: {stored}")]
    UnknownSeries {
        /// The symbol.
        symbol: String,
        /// The timeframe and adjustment asked for.
        wanted: String,
        /// The stored series of the symbol.
        stored: String,
    },
    /// The symbol has several stored series and the request does not say which.
    #[error("{symbol} has several {what} stored: {choices}; choose one")]
    Ambiguous {
        /// The symbol.
        symbol: String,
        /// What to choose (`adjustments`).
        what: String,
        /// The stored choices, comma-separated.
        choices: String,
    },
    /// The start of the range is after its end.
    #[error("start {start} is after end {end}")]
    Range {
        /// The start as given.
        start: String,
        /// The end as given.
        end: String,
    },
    /// A time outside what the time zone database covers.
    #[error("time out of range: {source}")]
    OutOfRange {
        /// The time library's error.
        source: jiff::Error,
    },
    /// Resampling into a timeframe that is not a whole number of the stored bars.
    #[error("cannot resample {series} into {target} bars: the target must be a whole number of {base} bars")]
    Resample {
        /// The stored series.
        series: String,
        /// The timeframe asked for.
        target: String,
        /// The stored series' timeframe.
        base: String,
    },
    /// Two stores hold one series with different time zones.
    #[error("{series} is stored in {to} with time zone {to_zone}, in {from} with {from_zone}")]
    Zones {
        /// The series.
        series: String,
        /// The store copied into, and its zone for the series.
        to: String,
        /// The zone in `to`.
        to_zone: String,
        /// The store copied from.
        from: String,
        /// The zone in `from`.
        from_zone: String,
    },
    /// A series cannot be adjusted on read as asked.
    #[error("cannot adjust {series}: {detail}")]
    Adjust {
        /// The series.
        series: String,
        /// Why, and what to do.
        detail: String,
    },
}

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
    /// The store holds data it did not expect (a file written by something else, a
    /// symbol loaded with another time zone).
    #[error("{}: {detail}", path.display())]
    Unexpected {
        /// The store file or directory at fault.
        path: PathBuf,
        /// What is wrong and what to do.
        detail: String,
    },
    /// Another process holds the store's write lock.
    #[error("{}: the store is being written by another barstore process; wait for it to finish", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
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

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The first symbols of a list, then how many more.
fn preview(symbols: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut out = symbols
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if symbols.len() > SHOWN {
        out.push_str(&format!(" and {} more", symbols.len() - SHOWN));
    }
    out
}
