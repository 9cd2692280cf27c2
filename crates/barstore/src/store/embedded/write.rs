//! Writing: upserts are staged as new data files beside the committed ones, and a
//! commit makes a group of them (with the manifest entries of the input files they
//! complete) one new version.
//!
//! An upsert whose bars all come after every stored bar of a year (a daily update)
//! writes a part holding only them, now and then merged with the newest parts
//! ([`to_rewrite`]); any other upsert, and `compact`, writes a year file merging the
//! year's files with the new bars and removes those files from the version. Files are never changed or deleted in place: a version's files stay as
//! they were for readers of that version until `vacuum`.
//!
//! Two processes may write at once. A commit that finds newer versions looks at what
//! they changed: when none of them touched a year it wrote, it commits on top of them
//! as it is; for each year one of them did touch, it writes that year again from the
//! newer files and the bars it was given (kept until the commit), so neither write
//! loses a bar and no bar is stored twice.

use super::codec::{read_file, write_file};
use super::state::{key_dir, key_of, series_key, stats_time, Bounds, FileMeta, Key, State, Stats};
use super::table::{CommitNote, Committed, SeriesChange, Table, PARTITIONS};
use crate::bars::Bars;
use crate::bucket::Month;
use crate::error::{Result, StoreError};
use crate::store::{ManifestEntry, MonthBars};
use crate::zone::Zone;
use deltalake_core::kernel::{Action, Add, Remove};
use std::collections::{BTreeMap, HashMap};

/// Files a year may hold before an append merges some: a read opens every file of a
/// year whose bars it wants.
pub(super) const MAX_FILES: usize = 16;

/// Commits attempted before a write gives up on other writers' progress.
const MAX_ROUNDS: u32 = 1000;

/// A year of a series with staged writes.
#[derive(Debug)]
struct StagedYear {
    /// The committed files the writes were staged on.
    base: Vec<FileMeta>,
    /// The bars of each staged upsert of the year, in order, for a write again.
    incoming: Vec<Vec<MonthBars>>,
    zone: Zone,
    /// Files the staged writes added that are still part of the year.
    added: Vec<FileMeta>,
    /// Committed files the staged writes replace.
    removed: Vec<FileMeta>,
}

/// Writes staged on a version and not yet committed.
#[derive(Debug, Default)]
pub(super) struct Staged {
    years: BTreeMap<Key, StagedYear>,
}

impl Staged {
    pub(super) fn is_empty(&self) -> bool {
        self.years.is_empty()
    }
}

/// What a write of one year did: the file it added and the files it replaced.
struct Written {
    file: FileMeta,
    replaced: Vec<FileMeta>,
}

/// The files an upsert of `incoming` on a year holding `files` rewrites.
///
/// Bars that all come after the year's last one (a daily update) add a part and
/// rewrite nothing while the year holds fewer than [`MAX_FILES`]; then they merge with
/// the newest files, as far back as each older file is no bigger than what is merged
/// after it. A bar is so rewritten only when the file holding it at least doubles, and
/// an append costs what the new days cost plus, now and then, a merge of files of its
/// size, never the whole year. Any other upsert (a correction, a reload), and
/// `compact`, rewrites the whole year.
fn to_rewrite<'a>(files: &'a [FileMeta], incoming: &[MonthBars], compact: bool) -> &'a [FileMeta] {
    let first_in = incoming.iter().filter_map(|m| m.bars.ts.first()).min();
    let last_stored = files.iter().map(|f| f.last).max();
    let appends = matches!((first_in, last_stored), (Some(f), Some(l)) if *f > l);
    if compact || !appends {
        return files;
    }
    if files.len() < MAX_FILES {
        return &[];
    }
    let mut merged: u64 = incoming.iter().map(|m| m.bars.len() as u64).sum();
    let mut from = files.len() - 1;
    merged += files[from].rows;
    while from > 0 && files[from - 1].rows <= merged {
        from -= 1;
        merged += files[from].rows;
    }
    &files[from..]
}

/// Writes `incoming` on the year `key` holding `files`, merging the files
/// [`to_rewrite`] picks.
fn write_year(
    table: &Table,
    key: &Key,
    files: &[FileMeta],
    zone: &Zone,
    incoming: &[MonthBars],
    compact: bool,
) -> Result<Option<Written>> {
    let rewritten = to_rewrite(files, incoming, compact);
    let mut months: BTreeMap<Month, Bars> = BTreeMap::new();
    let mut z = zone.clone();
    for f in rewritten {
        let old = read_file(&f.path)?;
        let mut start = 0;
        while start < old.len() {
            let month = Month::of_local(z.utc_ms_to_local(old.ts[start]));
            let mut end = start + 1;
            while end < old.len() && Month::of_local(z.utc_ms_to_local(old.ts[end])) == month {
                end += 1;
            }
            let part = old.slice(start..end);
            let merged = match months.remove(&month) {
                Some(before) => Bars::merge(&before, &part),
                None => part,
            };
            months.insert(month, merged);
            start = end;
        }
    }
    let replaced = rewritten.to_vec();
    for m in incoming {
        let merged = match months.remove(&m.month) {
            Some(old) => Bars::merge(&old, &m.bars),
            None => m.bars.clone(),
        };
        months.insert(m.month, merged);
    }
    months.retain(|_, b| !b.is_empty());
    let (Some(first), Some(last)) = (
        months.values().filter_map(|b| b.ts.first()).min().copied(),
        months.values().filter_map(|b| b.ts.last()).max().copied(),
    ) else {
        return Ok(None);
    };
    let rel = format!(
        "{}/part-{}.parquet",
        key_dir(key),
        uuid::Uuid::new_v4().simple()
    );
    let path = table.dir().join(&rel);
    let size = write_file(&path, zone, &months)?;
    let rows = months.values().map(|b| b.len() as u64).sum();
    Ok(Some(Written {
        file: FileMeta {
            rel,
            path,
            rows,
            first,
            last,
            size,
        },
        replaced,
    }))
}

fn remove_file(file: &FileMeta) {
    // a file no version holds: vacuum removes what this leaves
    let _ = std::fs::remove_file(&file.path);
}

/// The files of a staged year: its committed files less those replaced, and those added.
fn effective(year: &StagedYear) -> Vec<FileMeta> {
    let mut files: Vec<FileMeta> = year
        .base
        .iter()
        .filter(|f| !year.removed.iter().any(|r| r.rel == f.rel))
        .cloned()
        .collect();
    files.extend(year.added.iter().cloned());
    files.sort_by_key(|f| (f.first, f.last));
    files
}

/// Records a write in its staged year: a file it replaces that the year's staged
/// writes added is deleted (no version holds it), one committed is removed from the
/// next version.
fn note_write(year: &mut StagedYear, written: Written) {
    for old in written.replaced {
        if let Some(i) = year.added.iter().position(|f| f.rel == old.rel) {
            remove_file(&year.added.remove(i));
        } else {
            year.removed.push(old);
        }
    }
    year.added.push(written.file);
}

/// Sets the effective files of `key` in `state` from its staged year.
fn show(state: &mut State, key: &Key, year: &StagedYear) {
    let files = effective(year);
    if files.is_empty() {
        state.files.remove(key);
    } else {
        state.files.insert(key.clone(), files);
    }
    state
        .zones
        .entry(key.0.clone())
        .or_insert_with(|| year.zone.name().to_string());
}

/// Writes `months` of `key` on the effective `state`, staging the result: the work of
/// an upsert, done with the year's lock held.
pub(super) fn upsert_year(
    table: &Table,
    working: &std::sync::Mutex<super::Working>,
    key: &Key,
    zone: &Zone,
    months: Vec<MonthBars>,
    compact: bool,
) -> Result<()> {
    let files = {
        let mut w = super::lock(working);
        let super::Working { state, staged, .. } = &mut *w;
        let files = state.files.get(key).cloned().unwrap_or_default();
        staged
            .years
            .entry(key.clone())
            .or_insert_with(|| StagedYear {
                base: files.clone(),
                incoming: Vec::new(),
                zone: zone.clone(),
                added: Vec::new(),
                removed: Vec::new(),
            });
        files
    };
    let written = write_year(table, key, &files, zone, &months, compact)?;
    let mut w = super::lock(working);
    let super::Working { state, staged, .. } = &mut *w;
    let year = staged.years.get_mut(key).expect("staged above");
    year.incoming.push(months);
    if let Some(written) = written {
        note_write(year, written);
    }
    show(state, key, year);
    Ok(())
}

/// Writes a staged year again on newer committed files, from the bars it was given.
fn rewrite(table: &Table, state: &mut State, key: &Key, year: &mut StagedYear) -> Result<()> {
    for f in year.added.drain(..) {
        remove_file(&f);
    }
    year.removed.clear();
    let incoming = std::mem::take(&mut year.incoming);
    for months in &incoming {
        let files = effective(year);
        if let Some(written) = write_year(table, key, &files, &year.zone, months, false)? {
            note_write(year, written);
        }
    }
    year.incoming = incoming;
    show(state, key, year);
    Ok(())
}

fn partition_values(key: &Key) -> HashMap<String, Option<String>> {
    let (series, year) = key;
    let values = [
        series.symbol.clone(),
        series.timeframe.to_string(),
        series.adjustment.to_string(),
        year.to_string(),
    ];
    PARTITIONS
        .iter()
        .zip(values)
        .map(|(k, v)| (k.to_string(), Some(v)))
        .collect()
}

/// The `add` of a data file, with its statistics.
pub(super) fn add_action(key: &Key, file: &FileMeta) -> Action {
    let stats = Stats {
        num_records: file.rows,
        min_values: Bounds {
            timestamp: stats_time(file.first),
        },
        max_values: Bounds {
            timestamp: stats_time(file.last),
        },
        // timestamps are never null; volumes may be, and are left uncounted rather
        // than counted wrong
        null_count: [("timestamp".to_string(), 0)].into_iter().collect(),
    };
    Action::Add(Add {
        path: file.rel.clone(),
        partition_values: partition_values(key),
        size: file.size,
        modification_time: now_ms(),
        data_change: true,
        stats: Some(serde_json::to_string(&stats).expect("stats serialise")),
        ..Add::default()
    })
}

fn remove_action(key: &Key, file: &FileMeta) -> Action {
    Action::Remove(Remove {
        path: file.rel.clone(),
        data_change: true,
        deletion_timestamp: Some(now_ms()),
        extended_file_metadata: Some(true),
        partition_values: Some(partition_values(key)),
        size: Some(file.size),
        ..Remove::default()
    })
}

pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Commits what `working` has staged, with `sources` (the input files it completes),
/// as one new version; follows and, where they overlap, writes again on top of what
/// other writers committed first. Returns the version (the current one when there was
/// nothing to commit).
pub(super) fn commit(
    table: &Table,
    w: &mut super::Working,
    operation: &str,
    sources: &[ManifestEntry],
) -> Result<i64> {
    if w.staged.is_empty() && sources.is_empty() {
        return Ok(w.state.version);
    }
    let compaction = operation == "compact";
    for _ in 0..MAX_ROUNDS {
        let latest = table.latest()?;
        for version in w.state.version + 1..=latest {
            let winner = table.read_commit(version)?;
            let touched: Vec<Key> = winner
                .added
                .iter()
                .map(|(k, _)| k.clone())
                .chain(winner.removed.iter().filter_map(|r| key_of(r)))
                .collect();
            // the winner's files go under the staged years' writes: those years are
            // written again on them
            let mut committed = State::default();
            for (key, year) in &mut w.staged.years {
                committed
                    .files
                    .insert(key.clone(), std::mem::take(&mut year.base));
            }
            committed.apply_files(&winner);
            for (key, year) in &mut w.staged.years {
                year.base = committed.files.remove(key).unwrap_or_default();
            }
            let staged_keys: Vec<Key> = w.staged.years.keys().cloned().collect();
            let held: Vec<(Key, Vec<FileMeta>)> = staged_keys
                .iter()
                .filter_map(|k| w.state.files.remove(k).map(|f| (k.clone(), f)))
                .collect();
            w.state.apply(version, &winner);
            w.state.files.extend(held);
            for key in touched {
                if let Some(year) = w.staged.years.get_mut(&key) {
                    rewrite(table, &mut w.state, &key, year)?;
                }
            }
        }
        let mut actions = Vec::new();
        let mut note = CommitNote {
            operation: operation.to_string(),
            sources: sources.to_vec(),
            ..CommitNote::default()
        };
        for (key, year) in &w.staged.years {
            let change: &mut SeriesChange = note.series.entry(series_key(&key.0)).or_default();
            for f in &year.added {
                actions.push(add_action(key, f));
                change.rows += f.rows;
                change.added += 1;
            }
            for f in &year.removed {
                actions.push(remove_action(key, f));
                change.replaced += 1;
            }
            note.zones
                .insert(series_key(&key.0), year.zone.name().to_string());
        }
        match table.commit(latest + 1, actions, &note, compaction)? {
            Committed::At(version) => {
                w.state.version = version;
                w.state.timestamp = now_ms();
                w.staged = Staged::default();
                return Ok(version);
            }
            Committed::Moved => continue,
        }
    }
    Err(StoreError::Busy {
        context: format!("{}: committing", table.dir().display()),
        attempts: MAX_ROUNDS,
    }
    .into())
}
