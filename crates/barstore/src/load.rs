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
//! (or, failing those, its content hash) are unchanged. A crash between the two leaves
//! an unrecorded file whose rows are partly stored; the rerun loads it again, and since
//! stores replace rows by (symbol, time) the result is exact.

use crate::bars::Bars;
use crate::bucket::Month;
use crate::defaults;
use crate::error::{Error, FileError, OptionError, Result, StoreError};
use crate::format::{detect, FormatSpec};
use crate::parse::{Parsed, Parser, Reject, Severity};
use crate::series::{self, Adjustment, Series, Timeframe};
use crate::source::{discover, Blocks, Source};
use crate::store::{ManifestEntry, MonthBars, Store};
use crate::symbol;
use crate::zone::Zone;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Bytes per parse block.
const BLOCK: usize = 1 << 20;
/// Blocks read before a parallel parse.
const BATCH: usize = 8;
/// Buffered rows of one file above which completed months go to the store.
pub const FLUSH_ROWS: usize = 1 << 20;
/// Loaded files recorded in the manifest together.
const RECORD_FILES: usize = 64;

/// How to load.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// File-name pattern with `{symbol}`; `None` takes the text before the first `_`.
    pub pattern: Option<String>,
    /// Input layout.
    pub format: FormatSpec,
    /// IANA zone of the files' wall-clock times.
    pub zone: String,
    /// The timeframe of every file; `None`: from each file's name, else its data.
    pub timeframe: Option<Timeframe>,
    /// The adjustment of every file; `None`: from each file's name, else none.
    pub adjustment: Option<Adjustment>,
    /// Worker threads; 0 means the store's choice ([`Store::concurrent_files`]: one per
    /// core on the embedded store, more on CQL).
    pub jobs: usize,
    /// Load files even when the manifest says they are loaded and unchanged.
    pub force: bool,
    /// Where rejected rows and warnings are written (JSON lines).
    pub errors: PathBuf,
    /// Set to stop the load at the next batch; completed files are kept.
    pub cancel: Arc<AtomicBool>,
    /// `(i, n)`: load only the symbols whose hash modulo `n` is `i`, so that `n`
    /// machines can load one dataset together (a symbol's files stay together).
    pub shard: Option<(u64, u64)>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            pattern: None,
            format: FormatSpec::Auto,
            zone: defaults::ZONE.into(),
            timeframe: None,
            adjustment: None,
            jobs: 0,
            force: false,
            errors: PathBuf::from(defaults::ERRORS),
            cancel: Arc::default(),
            shard: None,
        }
    }
}

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

/// The outcome of a load.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Input files found.
    pub files: u64,
    /// Files loaded in this run.
    pub loaded: u64,
    /// Files skipped as already loaded.
    pub skipped: u64,
    /// Files that could not be loaded, with the reason.
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

#[derive(Serialize)]
struct LogLine<'a> {
    file: &'a str,
    line: u64,
    raw: &'a str,
    reason: &'a str,
    severity: &'a str,
}

/// The per-row error log, opened on its first entry.
pub(crate) struct ErrorLog {
    path: PathBuf,
    out: Mutex<Option<BufWriter<File>>>,
}

impl ErrorLog {
    fn new(path: PathBuf) -> Self {
        ErrorLog {
            path,
            out: Mutex::new(None),
        }
    }

    fn write(&self, file: &str, rejects: &[Reject]) -> Result<()> {
        if rejects.is_empty() {
            return Ok(());
        }
        let mut guard = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let f = File::create(&self.path).map_err(|e| Error::output(&self.path, e))?;
            *guard = Some(BufWriter::new(f));
        }
        let out = guard.as_mut().expect("opened above");
        for r in rejects {
            let line = LogLine {
                file,
                line: r.line,
                raw: &r.raw,
                reason: &r.reason,
                severity: match r.severity {
                    Severity::Rejected => "rejected",
                    Severity::Warning => "warning",
                },
            };
            serde_json::to_writer(&mut *out, &line)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(|e| Error::output(&self.path, e))?;
        }
        out.flush().map_err(|e| Error::output(&self.path, e))
    }

    fn used(&self) -> bool {
        self.out.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }
}

/// Bars of one file waiting for the store, by month, with their line numbers.
#[derive(Default)]
struct Pending {
    months: BTreeMap<Month, (Bars, Vec<u64>)>,
    rows: usize,
}

impl Pending {
    fn absorb(&mut self, p: &mut Parsed, base: u64) {
        let n = p.bars.len();
        let mut i = 0;
        while i < n {
            let month = p.months[i];
            let mut j = i + 1;
            while j < n && p.months[j] == month {
                j += 1;
            }
            let (bars, lines) = self.months.entry(month).or_default();
            for k in i..j {
                bars.push(p.bars.row(k));
                lines.push(base + p.lines[k] as u64);
            }
            i = j;
        }
        self.rows += n;
    }

    /// Takes the months before the latest one (all of them when `all`, or when the
    /// latest is the only one).
    fn take(&mut self, all: bool) -> Vec<(Month, Bars, Vec<u64>)> {
        let keep = if all || self.months.len() < 2 {
            BTreeMap::new()
        } else {
            let last = *self.months.keys().next_back().expect("non-empty");
            self.months.split_off(&last)
        };
        let taken = std::mem::replace(&mut self.months, keep);
        self.rows = self.months.values().map(|(b, _)| b.len()).sum();
        taken.into_iter().map(|(m, (b, l))| (m, b, l)).collect()
    }
}

/// Where parsed months go: the store when loading, a collector when verifying.
pub(crate) type Sink<'a> = dyn Fn(&Series, Vec<MonthBars>) -> Result<()> + Sync + 'a;

/// Everything a file read needs besides the file.
pub(crate) struct ReadContext<'a> {
    pub format: &'a FormatSpec,
    pub zone: &'a Zone,
    pub log: Option<&'a ErrorLog>,
    pub progress: &'a dyn Progress,
    pub cancel: &'a AtomicBool,
    /// Called once a file's series is known, before any of its bars reach the sink.
    pub admit: &'a (dyn Fn(&str, &Series) -> Result<()> + Sync + 'a),
    pub sink: &'a Sink<'a>,
}

/// What is known of a file's series before it is read.
#[derive(Clone, Debug)]
pub(crate) struct Hint {
    pub symbol: String,
    /// Stated by the options or the file name, with where it was stated.
    pub timeframe: Option<(Timeframe, &'static str)>,
    pub adjustment: Adjustment,
}

impl Hint {
    /// Does a manifest entry record a load of this file into the same series?
    fn matches(&self, e: &ManifestEntry) -> bool {
        e.symbol == self.symbol
            && e.adjustment == self.adjustment.as_str()
            && self
                .timeframe
                .is_none_or(|(tf, _)| e.timeframe == tf.to_string())
    }

    /// The series of a file from its first parsed bars: the stated timeframe, checked
    /// against the spacing of the bars, or the timeframe the spacing shows.
    fn resolve(
        &self,
        file: &str,
        layout: &crate::format::Layout,
        parsed: &[Parsed],
        base: u64,
    ) -> Result<Series> {
        let mut times: Vec<(i64, u64)> = Vec::new();
        let mut offset = base;
        for p in parsed {
            times.extend(
                p.bars
                    .ts
                    .iter()
                    .zip(&p.lines)
                    .map(|(&t, &l)| (t, offset + l as u64)),
            );
            offset += p.line_count;
        }
        times.sort_unstable();
        times.dedup_by_key(|(t, _)| *t);
        let secs: Vec<i64> = times.iter().map(|(t, _)| t.div_euclid(1000)).collect();
        let date_only = layout.fields.contains(&crate::format::Field::Date)
            && !layout.fields.contains(&crate::format::Field::Time);
        let spacing = series::usual_spacing(&secs);
        let shown = |gap: i64| match Timeframe::from_seconds(gap) {
            Some(tf) => tf.to_string(),
            None if gap % 60 == 0 => format!("{} minutes", gap / 60),
            None => format!("{gap} seconds"),
        };
        let timeframe = match self.timeframe {
            Some((tf, stated)) => {
                if date_only && tf != Timeframe::DAY {
                    return Err(FileError::Timeframe {
                        file: file.to_string(),
                        line: times.first().map_or(base + 1, |t| t.1),
                        detail: format!(
                            "its rows carry a date only (1d bars), but its timeframe is {tf} ({stated})"
                        ),
                    }
                    .into());
                }
                if let Some(gap) = spacing.filter(|&g| g < tf.seconds()) {
                    let line = secs
                        .windows(2)
                        .position(|w| w[1] - w[0] < tf.seconds())
                        .map_or(base + 1, |i| times[i + 1].1);
                    return Err(FileError::Timeframe {
                        file: file.to_string(),
                        line,
                        detail: format!(
                            "its bars are {} apart (here less than {tf} after the one before), but its timeframe is {tf} ({stated}); state the timeframe of the data",
                            shown(gap)
                        ),
                    }
                    .into());
                }
                tf
            }
            None if date_only => Timeframe::DAY,
            None => match spacing {
                None => Timeframe::MINUTE,
                Some(gap) => Timeframe::from_seconds(gap).ok_or_else(|| FileError::Timeframe {
                    file: file.to_string(),
                    line: times.first().map_or(base + 1, |t| t.1),
                    detail: format!(
                        "its bars are usually {} apart, which is not a timeframe barstore stores (minutes or hours that divide a day, or 1d); state its timeframe",
                        shown(gap)
                    ),
                })?,
            },
        };
        Ok(Series::new(
            &self.symbol,
            timeframe,
            self.adjustment.clone(),
        )?)
    }
}

/// Reads one input into the sink; returns its counts, content hash and series.
pub(crate) fn read_source(
    source: &Source,
    hint: &Hint,
    ctx: &ReadContext<'_>,
) -> Result<(FileStats, String, Option<Series>)> {
    let id = source.id();
    let read_bytes = AtomicU64::new(0);
    source.with_reader(&read_bytes, |reader| {
        let mut blocks = Blocks::new(reader);
        let io = |e| FileError::io(&source.path, e);
        let mut stats = FileStats::default();
        let Some(mut first) = blocks.next_block(BLOCK).map_err(io)? else {
            return Ok((stats, blocks.hash(), None));
        };
        let layout = detect(&first[..first.len().min(64 * 1024)], ctx.format, &id)?;
        let mut base = 0u64;
        if layout.header {
            let cut = memchr::memchr(b'\n', &first).map_or(first.len(), |i| i + 1);
            first.drain(..cut);
            base = 1;
        }
        let parser = Parser::new(layout, ctx.zone.clone());
        let mut pending = Pending::default();
        let mut batch = vec![first];
        let mut reported = 0u64;
        let mut series: Option<Series> = None;
        let flush = |pending: &mut Pending,
                     all: bool,
                     stats: &mut FileStats,
                     series: &Series|
         -> Result<()> {
            let mut months = Vec::new();
            let mut warnings = Vec::new();
            for (month, mut bars, lines) in pending.take(all) {
                for (dropped, winner) in bars.sort_dedup_last() {
                    warnings.push(Reject {
                        line: lines[dropped],
                        raw: String::new(),
                        reason: format!("duplicate timestamp: replaced by line {}", lines[winner]),
                        severity: Severity::Warning,
                    });
                }
                stats.rows += bars.len() as u64;
                months.push(MonthBars { month, bars });
            }
            stats.warnings += warnings.len() as u64;
            if let Some(log) = ctx.log {
                log.write(&id, &warnings)?;
            }
            if months.is_empty() {
                return Ok(());
            }
            (ctx.sink)(series, months)
        };
        loop {
            while batch.len() < BATCH {
                match blocks.next_block(BLOCK).map_err(io)? {
                    Some(b) => batch.push(b),
                    None => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            let mut parsed: Vec<Parsed> = batch
                .par_iter()
                .map(|b| parser.clone().parse_chunk(b))
                .collect();
            batch.clear();
            let series = match &series {
                Some(s) => s,
                None => {
                    let s = hint.resolve(&id, parser.layout(), &parsed, base)?;
                    (ctx.admit)(&id, &s)?;
                    series.insert(s)
                }
            };
            let mut rows = 0;
            for p in &mut parsed {
                for r in &mut p.rejects {
                    r.line += base;
                    match r.severity {
                        Severity::Rejected => stats.rejected += 1,
                        Severity::Warning => stats.warnings += 1,
                    }
                }
                if let Some(log) = ctx.log {
                    log.write(&id, &p.rejects)?;
                }
                pending.absorb(p, base);
                base += p.line_count;
                rows += p.bars.len() as u64;
            }
            let now = read_bytes.load(Ordering::Relaxed);
            ctx.progress.advance(now - reported, rows);
            reported = now;
            if ctx.cancel.load(Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            if pending.rows >= FLUSH_ROWS {
                flush(&mut pending, false, &mut stats, series)?;
            }
        }
        if let Some(series) = &series {
            flush(&mut pending, true, &mut stats, series)?;
        }
        Ok((stats, blocks.hash(), series))
    })
}

/// Each input with what its name and the options say of its series.
pub(crate) fn with_hints(
    sources: Vec<Source>,
    opts: &LoadOptions,
) -> Vec<(Source, Result<Hint, FileError>)> {
    let pattern = opts.pattern.as_deref();
    sources
        .into_iter()
        .map(|s| {
            let name = s.file_name();
            let hint = symbol::from_file_name(&name, pattern)
                .ok_or_else(|| FileError::Pattern {
                    file: s.id(),
                    pattern: pattern.unwrap_or("{symbol}_...").to_string(),
                })
                .and_then(|sym| match symbol::validate(&sym) {
                    Ok(()) => Ok(sym),
                    Err(source) => Err(FileError::Name {
                        file: s.id(),
                        source,
                    }),
                })
                .map(|symbol| {
                    let (tf, adj) = series::from_file_name(&name, &symbol);
                    Hint {
                        timeframe: match opts.timeframe {
                            Some(tf) => Some((tf, "as given")),
                            None => tf.map(|tf| (tf, "from the file name")),
                        },
                        adjustment: opts
                            .adjustment
                            .clone()
                            .or(adj)
                            .unwrap_or_else(Adjustment::none),
                        symbol,
                    }
                });
            (s, hint)
        })
        .collect()
}

/// A thread pool of `jobs` threads (0: one per core).
pub(crate) fn pool(jobs: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|source| Error::Threads { jobs, source })
}

/// Manifest entries of loaded files, recorded in groups: a day's update of thousands
/// of small files pays a request per group, not per file. A group is recorded once it
/// holds [`RECORD_FILES`] files or [`FLUSH_ROWS`] rows, so a crash makes at most that
/// much load again (loads are idempotent).
struct Records<'a> {
    store: &'a dyn Store,
    pending: Mutex<(Vec<ManifestEntry>, u64)>,
}

impl<'a> Records<'a> {
    fn new(store: &'a dyn Store) -> Self {
        Records {
            store,
            pending: Mutex::new((Vec::new(), 0)),
        }
    }

    fn add(&self, entry: ManifestEntry) -> Result<()> {
        let full = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.1 += entry.rows;
            p.0.push(entry);
            if p.0.len() >= RECORD_FILES || p.1 >= FLUSH_ROWS as u64 {
                std::mem::take(&mut *p).0
            } else {
                return Ok(());
            }
        };
        self.store.record(&full)
    }

    fn flush(&self) -> Result<()> {
        let rest = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        self.store.record(&rest.0)
    }
}

/// Is the manifest entry for this input still valid? Compares size and mtime, and
/// when only the mtime changed, the content hash.
fn unchanged(source: &Source, entry: &ManifestEntry) -> Result<bool> {
    if entry.size != source.size {
        return Ok(false);
    }
    if entry.mtime_ns == source.mtime_ns {
        return Ok(true);
    }
    let hash = source.with_reader(&AtomicU64::new(0), |r| {
        let mut blocks = Blocks::new(r);
        while blocks
            .next_block(BLOCK)
            .map_err(|e| FileError::io(&source.path, e))?
            .is_some()
        {}
        Ok(blocks.hash())
    })?;
    Ok(hash == entry.hash)
}

/// Loads every input under `paths` into `store`.
///
/// A per-file failure (unreadable file, unrecognised layout) is reported in
/// [`LoadReport::failed`] and the other files go on; only problems with the store or
/// the options end the whole load with an error.
pub fn load(
    store: &dyn Store,
    paths: &[PathBuf],
    opts: &LoadOptions,
    progress: &dyn Progress,
) -> Result<LoadReport> {
    let started = Instant::now();
    let zone = Zone::new(&opts.zone)?;
    let mut sources = with_hints(discover(paths)?, opts);
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
    let manifest = store.manifest()?;
    if opts.errors.exists() {
        std::fs::remove_file(&opts.errors).map_err(|e| Error::output(&opts.errors, e))?;
    }
    let log = ErrorLog::new(opts.errors.clone());
    progress.start(
        sources.len() as u64,
        sources.iter().map(|(s, _)| s.size).sum(),
    );
    let mut report = LoadReport {
        files: sources.len() as u64,
        ..LoadReport::default()
    };
    // files whose name gives no usable symbol fail before anything is read
    let mut named: Vec<(Source, Hint)> = Vec::with_capacity(sources.len());
    for (source, hint) in sources {
        match hint {
            Ok(hint) => named.push((source, hint)),
            Err(e) => {
                let outcome = FileOutcome::Failed(e);
                progress.file_done(&source.id(), &outcome);
                if let FileOutcome::Failed(e) = outcome {
                    report.failed.push((source.id(), e));
                }
            }
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
    let sink = |series: &Series, months: Vec<MonthBars>| store.upsert(series, &zone, months);
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
        format: &opts.format,
        zone: &zone,
        log: Some(&log),
        progress,
        cancel: &opts.cancel,
        admit: &admit,
        sink: &sink,
    };
    let load_one = |(source, hint): &(Source, Hint)| -> Result<FileOutcome> {
        let id = source.id();
        if !opts.force {
            if let Some(entry) = manifest.get(&id) {
                if hint.matches(entry) && unchanged(source, entry)? {
                    progress.advance(source.size, 0);
                    return Ok(FileOutcome::Skipped);
                }
            }
        }
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
                records.add(ManifestEntry {
                    source: id,
                    size: source.size,
                    mtime_ns: source.mtime_ns,
                    hash,
                    rows: stats.rows,
                    symbol: series.symbol.clone(),
                    timeframe: series.timeframe.to_string(),
                    adjustment: series.adjustment.to_string(),
                })?;
                Ok(FileOutcome::Loaded(stats))
            }
            Err(e) => match e.in_file(&id) {
                Error::File(e) if e.is_per_file() => Ok(FileOutcome::Failed(e)),
                e => Err(e),
            },
        }
    };
    // Files of one symbol load one after another, in order, so that when two of them
    // hold the same bar the later file wins, as `verify` expects; symbols load in
    // parallel.
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (_, hint)) in sources.iter().enumerate() {
        groups.entry(hint.symbol.as_str()).or_default().push(i);
    }
    let groups: Vec<Vec<usize>> = groups.into_values().collect();
    let jobs = match opts.jobs {
        0 => store.concurrent_files(),
        n => n,
    };
    let outcomes: Vec<(usize, Result<FileOutcome>)> = pool(jobs)?.install(|| {
        groups
            .par_iter()
            .flat_map_iter(|group| {
                group.iter().map(|&i| {
                    let outcome = load_one(&sources[i]);
                    if let Ok(o) = &outcome {
                        progress.file_done(&sources[i].0.id(), o);
                    }
                    (i, outcome)
                })
            })
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
