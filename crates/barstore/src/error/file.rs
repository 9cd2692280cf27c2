//! Why one input file could not be loaded (its rows' problems are rejects, not errors).

use super::*;

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
    /// The file's first line has no end within [`crate::parse::MAX_LINE`] bytes (a binary
    /// file, a stream of NULs): it is not read further.
    #[error("{file}: no line end in its first {} KiB: not a text file of bar rows", crate::parse::MAX_LINE / 1024)]
    NoLineEnd {
        /// The input file (or `archive.zip!member`).
        file: String,
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
    /// it, a stored day its bars would merge into that cannot be read): the load
    /// reports it and goes on. Any other store failure stops the load.
    pub fn is_per_file(&self) -> bool {
        !matches!(self, FileError::Store { source, .. } if !matches!(source, StoreError::Unreadable { .. }))
    }

    /// True when loading the file again may succeed without changing it.
    pub fn is_retryable(&self) -> bool {
        match self {
            FileError::Store { source, .. } => source.is_retryable(),
            _ => false,
        }
    }
}
