//! Loading: input files → parsed, validated, bucketed bars → a store.
//!
//! Files load in parallel, and each file's blocks parse in parallel, on one pool of
//! `jobs` threads. Memory is bounded whatever the file size: a file is read one batch of
//! blocks at a time, and the bars of completed months are handed to the store once a
//! file has buffered [`FLUSH_ROWS`] of them.
//!
//! Each file feeds one [`Series`]: its symbol and adjustment come from the options or the
//! file name, its timeframe from the options, the file name or the spacing of its bars
//! (read off the first batch, before anything is written, so a file whose bars are
//! closer together than its stated timeframe is refused whole).
//!
//! A file counts as loaded only when all its months are in the store; then it is
//! recorded in the store's manifest, and later loads skip it while its size and mtime
//! (or, failing those, its content hash) are unchanged and no earlier file of its symbol
//! loads in the same run (which would otherwise win over it). A crash between the two leaves
//! an unrecorded file whose rows are partly stored; the rerun loads it again, and since
//! stores replace rows by (symbol, time) the result is exact.

use crate::cancel;
use crate::defaults;
use crate::error::{Error, FileError, OptionError, Result, StoreError};
use crate::series::{Series, Timeframe};
use crate::source::{discover, Source};
use crate::store::{ManifestEntry, MonthBars, Store};
use rayon::prelude::*;
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

mod manifest;

use crate::ingest::{pool, read_source, with_hints, ErrorLog, Hint, ReadContext};
pub use crate::ingest::{FileOutcome, FileStats, InputOptions, NoProgress, Progress, FLUSH_ROWS};
use manifest::{unchanged, Records};

/// How to load: how the files are read, and what only a load has.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// How the input files are read.
    pub input: InputOptions,
    /// Load files even when the manifest says they are loaded and unchanged.
    pub force: bool,
    /// Where rejected rows and warnings are written (JSON lines).
    pub errors: PathBuf,
    /// `(i, n)`: load only the symbols whose hash modulo `n` is `i`, so that `n`
    /// machines can load one dataset together (a symbol's files stay together).
    pub shard: Option<(u64, u64)>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            input: InputOptions::default(),
            force: false,
            errors: PathBuf::from(defaults::ERRORS),
            shard: None,
        }
    }
}

/// The outcome of a load; serialised as an object of these fields, each failure as
/// `[file, reason]`.
#[derive(Debug, Default, Serialize)]
pub struct LoadReport {
    /// Input files found.
    pub files: u64,
    /// Files loaded in this run.
    pub loaded: u64,
    /// Files skipped as already loaded.
    pub skipped: u64,
    /// Files that could not be loaded, with the reason.
    #[serde(serialize_with = "reasons")]
    pub failed: Vec<(String, FileError)>,
    /// Rows written.
    pub rows: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Rows loaded with a warning.
    pub warnings: u64,
    /// Wall time.
    pub seconds: f64,
    /// The error log, when anything was written to it.
    pub error_log: Option<PathBuf>,
}

/// Failures as `(file, reason)` pairs of strings.
fn reasons<S: Serializer>(
    failed: &[(String, FileError)],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(failed.iter().map(|(file, why)| (file, why.to_string())))
}

impl LoadReport {
    /// The documented exit status: 0 when every row loaded, 1 when rows were rejected,
    /// 2 when a file could not be loaded at all.
    pub fn exit_code(&self) -> i32 {
        if !self.failed.is_empty() {
            2
        } else if self.rejected > 0 {
            1
        } else {
            0
        }
    }
}

/// Loads every input under `paths` into `store`.
///
/// A per-file failure (unreadable file, unrecognised layout) is reported in
/// [`LoadReport::failed`] and the other files go on; only problems with the store or
/// the options end the whole load with an error.
///
/// Once [`InputOptions::cancel`] is set, no file starts, each file stops at its next
/// batch and a CQL request stops waiting to retry; the load returns
/// [`Error::Cancelled`] when nothing of it is writing any more.
pub fn load(
    store: &dyn Store,
    paths: &[PathBuf],
    opts: &LoadOptions,
    progress: &dyn Progress,
) -> Result<LoadReport> {
    cancel::scoped(&opts.input.cancel, || {
        load_scoped(store, paths, opts, progress)
    })
}

/// [`load`] on a thread whose waits see the cancel flag.
fn load_scoped(
    store: &dyn Store,
    paths: &[PathBuf],
    opts: &LoadOptions,
    progress: &dyn Progress,
) -> Result<LoadReport> {
    let started = Instant::now();
    let zone = &opts.input.zone;
    let found = discover(paths);
    let mut sources = with_hints(found.sources, &opts.input);
    if let Some((i, n)) = opts.shard {
        if n == 0 || i >= n {
            return Err(
                OptionError::new("shard", format!("{i}/{n}"), "use I/N with 0 <= I < N").into(),
            );
        }
        // by symbol, so that all series of a symbol (and all files of a series) stay together
        sources.retain(|(_, hint)| {
            let key = hint.as_ref().map_or("", |h| h.symbol.as_str());
            xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % n == i
        });
    }
    store.begin_load()?;
    let ids: Vec<String> = sources.iter().map(|(s, _)| s.id()).collect();
    let manifest = store.manifest(&ids)?;
    if opts.errors.exists() {
        std::fs::remove_file(&opts.errors).map_err(|e| Error::output(&opts.errors, e))?;
    }
    let log = ErrorLog::new(opts.errors.clone());
    let files = (sources.len() + found.failed.len()) as u64;
    progress.start(files, sources.iter().map(|(s, _)| s.size).sum());
    let mut report = LoadReport {
        files,
        ..LoadReport::default()
    };
    let mut fail = |input: String, e: FileError| {
        let outcome = FileOutcome::Failed(e);
        progress.file_done(&input, &outcome);
        if let FileOutcome::Failed(e) = outcome {
            report.failed.push((input, e));
        }
    };
    // paths that cannot be inputs (a dangling symlink, an unreadable directory) fail alone
    for (path, e) in found.failed {
        fail(path, e);
    }
    // files whose name gives no usable symbol fail before anything is read
    let mut named: Vec<(Source, Hint)> = Vec::with_capacity(sources.len());
    for (source, hint) in sources {
        match hint {
            Ok(hint) => named.push((source, hint)),
            Err(e) => fail(source.id(), e),
        }
    }
    let sources = named;
    // the stored zones of every series of these symbols, in as few requests as the store
    // can make (and, on CQL, the months a fenced append may skip reading)
    let symbols: Vec<String> = sources
        .iter()
        .map(|(_, h)| h.symbol.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let stored: HashMap<Series, String> = store
        .lookup_many(&symbols)?
        .into_iter()
        .flatten()
        .map(|f| (f.series, f.zone))
        .collect();
    let records = Records::new(store);
    let sink = |series: &Series, months: Vec<MonthBars>| store.upsert(series, zone, months);
    let admit = |file: &str, series: &Series| -> Result<()> {
        let refuse = |detail: String| FileError::Series {
            file: file.to_string(),
            detail,
        };
        // a table that cannot hold the series refuses this file; a failing store stops the load
        store.accepts(series).map_err(|e| match e {
            Error::Store(StoreError::Schema { .. }) => refuse(e.to_string()).into(),
            e => e,
        })?;
        match stored.get(series) {
            Some(stored) if stored != zone.name() => Err(refuse(format!(
                "{series} is stored with time zone {stored}, not {}; load it with time zone {stored}",
                zone.name()
            ))
            .into()),
            _ => Ok(()),
        }
    };
    let ctx = ReadContext {
        input: &opts.input,
        log: Some(&log),
        progress,
        admit: Some(&admit),
        sink: &sink,
    };
    // Is this file loaded and unchanged since, into the series it would go to?
    let fresh = |(source, hint): &(Source, Hint)| -> Result<bool> {
        match manifest.get(&source.id()) {
            Some(entry) if !opts.force && hint.matches(entry) => unchanged(source, entry),
            _ => Ok(false),
        }
    };
    // Reads a file into the store: its outcome, and its manifest entry when it loaded.
    let load_one =
        |(source, hint): &(Source, Hint)| -> Result<(FileOutcome, Option<ManifestEntry>)> {
            let id = source.id();
            match read_source(source, hint, &ctx) {
                Ok((stats, hash, series)) => {
                    let series = match series {
                        Some(s) => s,
                        None => Series::new(
                            &hint.symbol,
                            hint.timeframe.map_or(Timeframe::MINUTE, |t| t.0),
                            hint.adjustment.clone(),
                        )?,
                    };
                    let entry = ManifestEntry {
                        source: id,
                        size: source.size,
                        mtime_ns: source.mtime_ns,
                        hash,
                        rows: stats.rows,
                        symbol: series.symbol.clone(),
                        timeframe: series.timeframe.to_string(),
                        adjustment: series.adjustment.to_string(),
                    };
                    Ok((FileOutcome::Loaded(stats), Some(entry)))
                }
                Err(e) => match e.in_file(&id) {
                    Error::File(e) if e.is_per_file() => Ok((FileOutcome::Failed(e), None)),
                    e => Err(e),
                },
            }
        };
    // Files of one symbol load one after another, in path order, so that when two of
    // them hold the same bar the later file wins, as `verify` expects; symbols load in
    // parallel. Once a file of a symbol loads (new, changed or forced), every later file
    // of the symbol loads again after it, changed or not: the store then holds what a
    // fresh load of the files as they are now would. A loaded file is recorded only once
    // the unchanged files after it have loaded again (or the next file that loads on its
    // own account starts): were it recorded before, a crash would leave it winning over
    // a later file that the rerun, finding both recorded, would skip.
    let load_group = |group: &[usize]| -> Vec<(usize, Result<FileOutcome>)> {
        let mut outcomes = Vec::with_capacity(group.len());
        let mut reload = false;
        let mut held: Vec<ManifestEntry> = Vec::new();
        for &i in group {
            let (source, _) = &sources[i];
            if opts.input.cancel.load(Ordering::Relaxed) {
                outcomes.push((i, Err(Error::Cancelled)));
                return outcomes;
            }
            let outcome = fresh(&sources[i]).and_then(|fresh| {
                if fresh && !reload {
                    progress.advance(source.size, 0);
                    return Ok(FileOutcome::Skipped);
                }
                if !fresh {
                    // the rerun would load this file again, and every file after it
                    records.add_all(std::mem::take(&mut held))?;
                }
                reload = true;
                let (outcome, entry) = load_one(&sources[i])?;
                match entry {
                    Some(entry) => held.push(entry),
                    // not reloaded: the files before it must load again on the rerun
                    None => held.clear(),
                }
                Ok(outcome)
            });
            let fatal = outcome.is_err();
            if let Ok(o) = &outcome {
                progress.file_done(&source.id(), o);
            }
            outcomes.push((i, outcome));
            if fatal {
                return outcomes;
            }
        }
        if let Err(e) = records.add_all(held) {
            outcomes.push((group[group.len() - 1], Err(e)));
        }
        outcomes
    };
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (_, hint)) in sources.iter().enumerate() {
        groups.entry(hint.symbol.as_str()).or_default().push(i);
    }
    let groups: Vec<Vec<usize>> = groups.into_values().collect();
    let jobs = match opts.input.jobs {
        0 => store.concurrent_files(),
        n => n,
    };
    let outcomes: Vec<(usize, Result<FileOutcome>)> = pool(jobs)?.install(|| {
        groups
            .par_iter()
            // each pool thread's waits see the flag as the load's own thread does
            .flat_map_iter(|group| cancel::scoped(&opts.input.cancel, || load_group(group)))
            .collect()
    });
    records.flush()?;
    for (i, outcome) in outcomes {
        let source = &sources[i].0;
        match outcome? {
            FileOutcome::Loaded(s) => {
                report.loaded += 1;
                report.rows += s.rows;
                report.rejected += s.rejected;
                report.warnings += s.warnings;
            }
            FileOutcome::Skipped => report.skipped += 1,
            FileOutcome::Failed(why) => report.failed.push((source.id(), why)),
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.error_log = log.used().then(|| opts.errors.clone());
    Ok(report)
}
