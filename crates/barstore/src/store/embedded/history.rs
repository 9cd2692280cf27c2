//! The versions of the embedded store: what each commit did, names pinned on versions
//! (snapshots), which version an `as_of` names, and `vacuum`, which removes the data
//! files no kept version needs.
//!
//! Snapshots live in `_barstore/snapshots.json` (`name → version`), replaced whole
//! under a lock. `vacuum` keeps the latest version, every version committed within
//! the retention and every snapshot's version readable, and records the oldest
//! version it kept (`_barstore/vacuum.json`) so that a read of an older one is refused
//! with that reason rather than failing on a missing file.

use super::state::FileMeta;
use super::table::Table;
use crate::error::{Result, StoreError};
use crate::store::AsOf;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};

/// One version, as `barstore history` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The version.
    pub version: i64,
    /// Commit time, UTC ms.
    pub timestamp: i64,
    /// What made it: `load`, `compact`, `upgrade`, or Delta Lake's operation name for a
    /// commit another engine wrote.
    pub operation: String,
    /// Series it wrote.
    pub series: u64,
    /// Bars in the files it added.
    pub rows: u64,
    /// Files it added.
    pub added: u64,
    /// Files it replaced.
    pub replaced: u64,
    /// Input files it completed.
    pub sources: u64,
    /// The snapshots naming it.
    pub snapshots: Vec<String>,
}

/// A named version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// The name.
    pub name: String,
    /// The version it pins.
    pub version: i64,
    /// When the name was given, UTC ms.
    pub created: i64,
}

/// What `vacuum` removed (or, dry, would remove).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VacuumReport {
    /// The files, absolute.
    pub removed: Vec<PathBuf>,
    /// Their bytes.
    pub bytes: u64,
    /// The oldest version still readable (snapshots aside).
    pub oldest: i64,
    /// True when nothing was removed, only listed.
    pub dry_run: bool,
}

/// Files no version names are left this long at least: a load running now writes its
/// files before the commit that names them.
const ORPHAN_GRACE_MS: i64 = 3600 * 1000;

const SNAPSHOTS: &str = "snapshots.json";
const VACUUMED: &str = "vacuum.json";

#[derive(Default, Serialize, Deserialize)]
struct Vacuumed {
    oldest: i64,
}

fn no_version(table: &Table, detail: String) -> crate::Error {
    StoreError::NoVersion {
        location: table
            .dir()
            .parent()
            .unwrap_or(table.dir())
            .display()
            .to_string(),
        detail,
    }
    .into()
}

fn read_json<T: for<'a> Deserialize<'a> + Default>(path: &Path) -> Result<T> {
    match std::fs::read(path) {
        Ok(text) => serde_json::from_slice(&text).map_err(|e| {
            StoreError::Unexpected {
                path: path.to_path_buf(),
                detail: format!("not a file barstore wrote: {e}"),
            }
            .into()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(StoreError::io(path, e).into()),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_vec_pretty(value).expect("serialises");
    crate::atomic::write(path, |f| {
        use std::io::Write;
        f.write_all(&text)
            .and_then(|()| f.sync_all())
            .map_err(|e| StoreError::io(path, e).into())
    })
}

/// Runs `f` holding the lock of the snapshot names.
fn locked<T>(meta: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::fs::create_dir_all(meta).map_err(|e| StoreError::io(meta, e))?;
    let path = meta.join("snapshots.lock");
    let file = File::create(&path).map_err(|e| StoreError::io(&path, e))?;
    file.lock().map_err(|e| StoreError::io(&path, e))?;
    f()
}

/// The snapshots, by name.
pub(super) fn snapshots(meta: &Path) -> Result<Vec<SnapshotInfo>> {
    let map: BTreeMap<String, SnapshotInfo> = read_json(&meta.join(SNAPSHOTS))?;
    Ok(map.into_values().collect())
}

/// Checks a snapshot name: letters, digits, `.`, `_`, `-`, at most 64, starting with a
/// letter or digit (so it never reads as a version or a time).
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(crate::error::OptionError::new(
            "snapshot",
            name,
            "use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter",
        )
        .into())
    }
}

pub(super) fn create_snapshot(
    table: &Table,
    meta: &Path,
    name: &str,
    version: i64,
) -> Result<SnapshotInfo> {
    check_name(name)?;
    if version < 0 {
        return Err(no_version(
            table,
            "the store has no version yet: load first".into(),
        ));
    }
    locked(meta, || {
        let path = meta.join(SNAPSHOTS);
        let mut map: BTreeMap<String, SnapshotInfo> = read_json(&path)?;
        if let Some(old) = map.get(name) {
            return Err(crate::error::OptionError::new(
                "snapshot",
                name,
                format!(
                    "a snapshot of that name pins version {}: delete it first",
                    old.version
                ),
            )
            .into());
        }
        let info = SnapshotInfo {
            name: name.to_string(),
            version,
            created: super::write::now_ms(),
        };
        map.insert(name.to_string(), info.clone());
        write_json(&path, &map)?;
        Ok(info)
    })
}

pub(super) fn delete_snapshot(meta: &Path, name: &str) -> Result<bool> {
    check_name(name)?;
    locked(meta, || {
        let path = meta.join(SNAPSHOTS);
        let mut map: BTreeMap<String, SnapshotInfo> = read_json(&path)?;
        let had = map.remove(name).is_some();
        if had {
            write_json(&path, &map)?;
        }
        Ok(had)
    })
}

/// The version `as_of` names; `None` for a time before the first version.
pub(super) fn resolve(table: &Table, meta: &Path, as_of: &AsOf) -> Result<Option<i64>> {
    if !table.exists() {
        return Err(no_version(
            table,
            "the store has no version yet: load first".into(),
        ));
    }
    let latest = table.latest()?;
    let snapshots = snapshots(meta)?;
    let version = match as_of {
        AsOf::Version(v) if (0..=latest).contains(v) => *v,
        AsOf::Version(v) => {
            return Err(no_version(
                table,
                format!("there is no version {v}: the versions are 0 to {latest}"),
            ))
        }
        AsOf::Time(t) => match table.version_at(*t)? {
            Some(v) => v,
            None => return Ok(None),
        },
        AsOf::Snapshot(name) => match snapshots.iter().find(|s| &s.name == name) {
            Some(s) => s.version,
            None => {
                return Err(no_version(
                    table,
                    format!(
                        "there is no snapshot named {name} (barstore snapshot list shows them)"
                    ),
                ))
            }
        },
    };
    let oldest = read_json::<Vacuumed>(&meta.join(VACUUMED))?.oldest;
    if version < oldest && !snapshots.iter().any(|s| s.version == version) {
        return Err(no_version(
            table,
            format!("version {version} was vacuumed: the oldest version kept is {oldest}"),
        ));
    }
    Ok(Some(version))
}

/// The versions, newest first, at most `limit`.
pub(super) fn list(table: &Table, limit: Option<usize>) -> Result<Vec<HistoryEntry>> {
    if !table.exists() {
        return Ok(Vec::new());
    }
    let meta = table
        .dir()
        .parent()
        .unwrap_or(table.dir())
        .join("_barstore");
    let snapshots = snapshots(&meta)?;
    let latest = table.latest()?;
    let mut out = Vec::new();
    for version in (0..=latest).rev().take(limit.unwrap_or(usize::MAX)) {
        let commit = table.read_commit(version)?;
        let mut entry = HistoryEntry {
            version,
            timestamp: commit.timestamp,
            operation: commit.operation.clone(),
            series: 0,
            rows: commit.added.iter().map(|(_, f)| f.rows).sum(),
            added: commit.added.len() as u64,
            replaced: commit.removed.len() as u64,
            sources: 0,
            snapshots: snapshots
                .iter()
                .filter(|s| s.version == version)
                .map(|s| s.name.clone())
                .collect(),
        };
        let series: BTreeSet<_> = commit.added.iter().map(|(k, _)| k.0.clone()).collect();
        entry.series = series.len() as u64;
        if let Some(note) = commit.note {
            entry.operation = note.operation;
            entry.sources = note.sources.len() as u64;
        }
        out.push(entry);
    }
    Ok(out)
}

/// Every `.parquet` file under the table's partition directories, relative to it.
fn data_files(table: &Path) -> Result<Vec<(String, PathBuf, std::fs::Metadata)>> {
    let mut out = Vec::new();
    let mut dirs = vec![table.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(&dir, e).into()),
        };
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
            let path = entry.path();
            let meta = entry.metadata().map_err(|e| StoreError::io(&path, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if meta.is_dir() {
                if name != super::table::LOG_DIR {
                    dirs.push(path);
                }
            } else if name.ends_with(".parquet") {
                let rel = path
                    .strip_prefix(table)
                    .expect("under the table")
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, path, meta));
            }
        }
    }
    Ok(out)
}

/// Removes the data files that no version to keep needs: the latest, every version
/// committed within `retain_ms` of now and every snapshot's. A file no version ever
/// named (a load that never committed) goes too once older than the retention and an
/// hour, so a load running now keeps its files.
pub(super) fn vacuum(
    table: &Table,
    meta: &Path,
    retain_ms: i64,
    dry_run: bool,
) -> Result<VacuumReport> {
    let mut report = VacuumReport {
        dry_run,
        ..VacuumReport::default()
    };
    if !table.exists() {
        return Ok(report);
    }
    let now = super::write::now_ms();
    let cutoff = now - retain_ms.max(0);
    let latest = table.latest()?;
    // every file some commit named, and the first version committed at or after the cutoff
    let mut named: BTreeSet<String> = BTreeSet::new();
    let mut commits = Vec::with_capacity(latest as usize + 1);
    for version in 0..=latest {
        let commit = table.read_commit(version)?;
        named.extend(commit.added.iter().map(|(_, f)| f.rel.clone()));
        named.extend(commit.removed.iter().cloned());
        commits.push(commit);
    }
    let window = commits
        .iter()
        .position(|c| c.timestamp >= cutoff)
        .map_or(latest, |v| v as i64);
    let files_at = |version: i64| -> Result<Vec<FileMeta>> {
        let state = super::log::load(table, meta, Some(version))?;
        Ok(state.files.into_values().flatten().collect())
    };
    let mut needed: BTreeSet<String> = files_at(window)?.into_iter().map(|f| f.rel).collect();
    for commit in &commits[window as usize + 1..] {
        needed.extend(commit.added.iter().map(|(_, f)| f.rel.clone()));
    }
    for snapshot in snapshots(meta)? {
        if snapshot.version < window {
            needed.extend(files_at(snapshot.version)?.into_iter().map(|f| f.rel));
        }
    }
    let orphan_cutoff = now - retain_ms.max(0).max(ORPHAN_GRACE_MS);
    for (rel, path, metadata) in data_files(table.dir())? {
        if needed.contains(&rel) {
            continue;
        }
        let modified = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        if !named.contains(&rel) && modified > orphan_cutoff {
            continue;
        }
        if !dry_run {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io(&path, e).into()),
            }
        }
        report.bytes += metadata.len();
        report.removed.push(path);
    }
    report.removed.sort();
    report.oldest = window;
    if !dry_run {
        let pinned: Vec<i64> = snapshots(meta)?.iter().map(|s| s.version).collect();
        super::checkpoint::prune(meta, window, &pinned);
        let path = meta.join(VACUUMED);
        let before = read_json::<Vacuumed>(&path)?.oldest;
        write_json(
            &path,
            &Vacuumed {
                oldest: before.max(window),
            },
        )?;
    }
    Ok(report)
}
