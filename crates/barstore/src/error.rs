//! The library's error type: one enum for every operation that can fail as a whole.
//!
//! A *row* that cannot be loaded is not an error here: it is a [`crate::parse::Reject`]
//! written to the error log while the load goes on. An [`Error`] stops the operation
//! (or, during a load, the one file it names).

use std::path::PathBuf;

/// Why a load, read or store operation failed. Every message names the object at fault
/// (file, symbol, store path) and, where there is one, the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The layout of an input file could not be recognised.
    #[error("{file}: cannot recognise the layout: {reason}; state the format (e.g. datetime,open,high,low,close,volume)")]
    Unrecognised {
        /// The input file (or `archive.zip!member`).
        file: String,
        /// What was missing or ambiguous.
        reason: String,
    },
    /// A `--format` specification is invalid.
    #[error("invalid format {spec:?}: {reason}")]
    Format {
        /// The specification as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A symbol that cannot be used as a store key.
    #[error("invalid symbol {symbol:?}: {reason}")]
    Symbol {
        /// The offending symbol.
        symbol: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// The symbol could not be derived from a file name.
    #[error("{file}: cannot derive a symbol from the file name with pattern {pattern:?}; give a pattern such as '{{symbol}}_full_1min_adjsplit.txt'")]
    Pattern {
        /// The input file.
        file: String,
        /// The pattern that did not match.
        pattern: String,
    },
    /// A file's bars do not fit its timeframe; nothing of the file is stored.
    #[error("{file}: line {line}: {detail}")]
    Timeframe {
        /// The input file.
        file: String,
        /// A line that shows the problem.
        line: u64,
        /// The timeframes involved and what to do.
        detail: String,
    },
    /// A file's series cannot go into this store as it is (another time zone, a table
    /// that cannot hold it); nothing of the file is stored.
    #[error("{file}: {detail}")]
    Series {
        /// The input file.
        file: String,
        /// What is wrong and what to do.
        detail: String,
    },
    /// A read names a symbol with several stored series and does not say which.
    #[error("{symbol} has several {what} stored: {choices}; choose one")]
    Ambiguous {
        /// The symbol.
        symbol: String,
        /// What to choose (`adjustments`).
        what: String,
        /// The stored choices, comma-separated.
        choices: String,
    },
    /// An unknown IANA time zone.
    #[error("unknown time zone {zone:?}: use an IANA name such as America/New_York")]
    TimeZone {
        /// The name as given.
        zone: String,
    },
    /// An argument of a read or load request is invalid.
    #[error("{0}")]
    Invalid(String),
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
    Store {
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
    /// No rows are stored for the symbol.
    #[error("symbol {0:?} is not in the store")]
    UnknownSymbol(String),
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
    /// An invalid store URL or CQL option (hosts, keyspace or table name, replication).
    #[error("{0}")]
    Url(String),
    /// No node of the cluster could be reached.
    #[error(
        "cannot connect to {hosts}: {detail}; check the hosts and ports, TLS and the credentials"
    )]
    Connect {
        /// The contact points.
        hosts: String,
        /// The driver's error.
        detail: String,
    },
    /// A CQL request failed (after retries, when the failure was transient).
    #[error("{context}: {detail}")]
    Cql {
        /// What was being done, naming the symbol and month where there is one.
        context: String,
        /// The driver's error and what to do.
        detail: String,
        /// Whether the failure was transient (a later run may succeed).
        retryable: bool,
    },
    /// A table is missing or does not have the expected columns.
    #[error("table {table}: {detail}")]
    Schema {
        /// `keyspace.table`.
        table: String,
        /// What is wrong and what to do.
        detail: String,
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
    /// cluster): running the same command again is worthwhile.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Cql {
                retryable: true,
                ..
            } | Error::Connect { .. }
        )
    }

    /// True for failures of one input file (its layout, its timeframe, its series, an
    /// I/O error): the load reports the file and goes on with the others.
    pub fn is_per_file(&self) -> bool {
        matches!(
            self,
            Error::Unrecognised { .. }
                | Error::Io { .. }
                | Error::Timeframe { .. }
                | Error::Series { .. }
        )
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Wraps a Parquet error with the file it concerns.
    pub fn parquet(path: impl Into<PathBuf>, source: parquet::errors::ParquetError) -> Self {
        Error::Parquet {
            path: path.into(),
            source,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
