//! Ingesting input files: each file's layout recognised, its blocks parsed in parallel,
//! its rows checked and bucketed by exchange month, its series found (from the options,
//! the file name or the spacing of its bars), and its months handed to a sink: the
//! store when loading ([`crate::load`]), a collector when verifying ([`crate::verify`]).
//! Rejected rows go to the error log, never stopping the file.

use crate::bars::Bars;
use crate::bucket::Month;
use crate::defaults;
use crate::error::{Error, FileError, Result};
use crate::format::{detect, EpochUnit, FormatSpec};
use crate::parse::{raw_text, too_long, Parsed, Parser, Reject, Severity, Years};
use crate::series::{self, Adjustment, Series, Timeframe};
use crate::source::{Block, Blocks, Source};
use crate::store::{ManifestEntry, MonthBars};
use crate::symbol;
use crate::zone::Zone;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

mod errors;
mod hint;
mod read;

pub(crate) use errors::ErrorLog;
pub(crate) use hint::Hint;
pub(crate) use read::{read_source, with_hints, ReadContext};

/// Bytes per parse block.
pub(crate) const BLOCK: usize = 1 << 20;

/// Blocks read before a parallel parse.
pub(crate) const BATCH: usize = 8;

/// Buffered rows of one file above which completed months go to the store.
pub const FLUSH_ROWS: usize = 1 << 20;

/// Receives progress as a load goes; every method has a no-op default.
pub trait Progress: Sync {
    /// The load starts with `files` inputs totalling `bytes` on disk.
    fn start(&self, _files: u64, _bytes: u64) {}
    /// More bytes were read and rows parsed.
    fn advance(&self, _bytes: u64, _rows: u64) {}
    /// A file finished (loaded, skipped or failed).
    fn file_done(&self, _source: &str, _outcome: &FileOutcome) {}
}

/// A [`Progress`] that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {}

/// What happened to one input file.
#[derive(Debug)]
pub enum FileOutcome {
    /// Loaded (possibly with rejected rows).
    Loaded(FileStats),
    /// Already loaded and unchanged.
    Skipped,
    /// Not loaded, and why.
    Failed(FileError),
}

/// Row counts of one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileStats {
    /// Rows written to the store.
    pub rows: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Rows loaded with a warning (including duplicates replaced by a later line).
    pub warnings: u64,
}

/// A thread pool of `jobs` threads (0: one per core).
pub(crate) fn pool(jobs: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|source| Error::Threads { jobs, source })
}

/// How input files are read (load and verify).
#[derive(Clone, Debug)]
pub struct InputOptions {
    /// File-name pattern with `{symbol}`; `None` takes the text before the first `_`.
    pub pattern: Option<String>,
    /// Input layout.
    pub format: FormatSpec,
    /// The exchange zone of the files' wall-clock times.
    pub zone: Zone,
    /// The timeframe of every file; `None`: from each file's name, else its data.
    pub timeframe: Option<Timeframe>,
    /// The adjustment of every file; `None`: from each file's name, else none.
    pub adjustment: Option<Adjustment>,
    /// The unit of epoch numbers; `None`: each number's magnitude says.
    pub epoch_unit: Option<EpochUnit>,
    /// The years bars may fall in; rows outside are rejected.
    pub years: Years,
    /// Worker threads; 0 means the store's choice ([`crate::store::Store::concurrent_files`]:
    /// one per core on the embedded store, more on CQL).
    pub jobs: usize,
    /// Set to stop at the next batch; completed files are kept.
    pub cancel: Arc<AtomicBool>,
}

impl Default for InputOptions {
    fn default() -> Self {
        InputOptions {
            pattern: None,
            format: FormatSpec::Auto,
            zone: Zone::new(defaults::ZONE).expect("the default zone exists"),
            timeframe: None,
            adjustment: None,
            epoch_unit: None,
            years: Years::default(),
            jobs: 0,
            cancel: Arc::default(),
        }
    }
}
