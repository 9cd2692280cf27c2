//! The manifest of the embedded store (the input files loaded), kept by directory so
//! that a load reads the entries of its own inputs, not of every file ever loaded.
//!
//! Each entry is recorded in the `commitInfo` of the commit that loaded its file, so
//! entries change with the bars, in the same versions. Folding every commit's entries
//! on each load would grow with the store's history (after 250 daily updates of 2,000
//! files, a fold of the whole manifest was 148 MB, read by every load), so the entries
//! are also kept in `_barstore/manifest/`: one file per directory of input files (by a
//! hash of its path), holding the entries of that directory's files, and `folded.json`,
//! the version every one of those files is complete up to. A daily update in a new
//! directory so reads one small file, or none.
//!
//! All of it is derived data: any process folds the commits after `folded.json`'s
//! version into it (under a lock of its own, so that two folds never lose each
//! other's entries; files are replaced by a rename, so they are whole), and a fold of
//! another table at that path (its first commit differs) is begun again.

use super::checkpoint::commit_mark;
use super::table::Table;
use crate::error::{Result, StoreError};
use crate::store::ManifestEntry;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

const DIR: &str = "manifest";
const FOLDED: &str = "folded.json";

/// How far the directory files are complete, and of which table.
#[derive(Serialize, Deserialize, PartialEq)]
struct Folded {
    version: i64,
    /// Size and modification time (ns) of the table's first commit.
    table: (u64, i128),
}

/// The entries of one directory's files (or of several, when their hashes meet).
type Group = BTreeMap<String, ManifestEntry>;

/// The group a source belongs to: its directory (for a member of a zip, the zip's
/// path and the member's directory), so that the files a load names together are
/// kept together.
fn group_of(source: &str) -> &str {
    source.rfind('/').map_or("", |i| &source[..i])
}

fn group_path(meta: &Path, group: &str) -> PathBuf {
    let hash = xxhash_rust::xxh3::xxh3_64(group.as_bytes());
    meta.join(DIR).join(format!("{hash:016x}.json"))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_vec(value).expect("manifest entries serialise");
    crate::atomic::write(path, |f| {
        f.write_all(&text)
            .map_err(|e| crate::Error::output(path, e))
    })
}

/// A directory file as stored: empty when there is none, `None` when it is damaged.
fn read_group(path: &Path) -> Option<Group> {
    match read_json::<Group>(path) {
        Some(group) => Some(group),
        None if !path.exists() => Some(Group::new()),
        None => None,
    }
}

/// Folds the commits after `folded.json`'s version, up to the latest, into the
/// directory files. The latest version folded.
fn fold(table: &Table, meta: &Path) -> Result<i64> {
    let latest = table.latest()?;
    let Some(mark) = commit_mark(table, 0) else {
        return Ok(-1);
    };
    let dir = meta.join(DIR);
    let folded_path = dir.join(FOLDED);
    let current = |f: &Folded| f.table == mark;
    if read_json::<Folded>(&folded_path).is_some_and(|f| current(&f) && f.version >= latest) {
        return Ok(latest);
    }
    let lock = lock(&dir)?;
    let from = match read_json::<Folded>(&folded_path) {
        Some(f) if current(&f) => f.version,
        _ => {
            // none yet, or another table's: begin again
            clear(&dir)?;
            -1
        }
    };
    let latest = table.latest()?;
    if from >= latest {
        return Ok(latest);
    }
    let mut groups: HashMap<&str, Vec<ManifestEntry>> = HashMap::new();
    let commits = (from + 1..=latest)
        .map(|v| table.read_commit(v))
        .collect::<Result<Vec<_>>>()?;
    for commit in &commits {
        for entry in commit.note.iter().flat_map(|n| &n.sources) {
            groups
                .entry(group_of(&entry.source))
                .or_default()
                .push(entry.clone());
        }
    }
    let mut files: HashMap<PathBuf, Group> = HashMap::new();
    for (group, entries) in groups {
        let path = group_path(meta, group);
        if !files.contains_key(&path) {
            let file = match read_group(&path) {
                Some(file) => file,
                // damaged on disk: fold every commit again
                None if from >= 0 => {
                    drop(lock);
                    return refold(table, meta);
                }
                None => Group::new(),
            };
            files.insert(path.clone(), file);
        }
        let file = files.get_mut(&path).expect("inserted above");
        for entry in entries {
            file.insert(entry.source.clone(), entry);
        }
    }
    for (path, group) in &files {
        write_json(path, group)?;
    }
    write_json(
        &folded_path,
        &Folded {
            version: latest,
            table: mark,
        },
    )?;
    Ok(latest)
}

fn clear(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
        }
    }
    Ok(())
}

/// Keeps the directory files up to date after a commit, so that the next load reads
/// them as they are (derived data: a failure here only makes the next lookup fold).
pub(super) fn remember(table: &Table, meta: &Path) {
    if let Err(e) = fold(table, meta) {
        tracing::debug!("manifest not folded: {e}");
    }
}

/// The entries of `sources` at the latest version (before the table's first version,
/// those of the store written before it).
pub(super) fn lookup(
    table: &Table,
    meta: &Path,
    sources: &[String],
) -> Result<HashMap<String, ManifestEntry>> {
    let mut out = HashMap::new();
    if !table.exists() {
        let mut legacy = super::upgrade::legacy_manifest(meta);
        for source in sources {
            if let Some(entry) = legacy.remove(source) {
                out.insert(source.clone(), entry);
            }
        }
        return Ok(out);
    }
    fold(table, meta)?;
    let mut files: HashMap<PathBuf, Group> = HashMap::new();
    for source in sources {
        let path = group_path(meta, group_of(source));
        if !files.contains_key(&path) {
            let group = match read_group(&path) {
                Some(group) => group,
                // damaged on disk: fold every commit again
                None => {
                    refold(table, meta)?;
                    read_json(&path).unwrap_or_default()
                }
            };
            files.insert(path.clone(), group);
        }
        if let Some(entry) = files[&path].get(source) {
            out.insert(source.clone(), entry.clone());
        }
    }
    Ok(out)
}

/// Folds every commit again, from the first.
fn refold(table: &Table, meta: &Path) -> Result<i64> {
    let dir = meta.join(DIR);
    let lock = lock(&dir)?;
    clear(&dir)?;
    drop(lock);
    fold(table, meta)
}

/// The fold's lock, held while the directory files change.
fn lock(dir: &Path) -> Result<File> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    let path = dir.join(".lock");
    let file = File::create(&path).map_err(|e| StoreError::io(&path, e))?;
    file.lock().map_err(|e| StoreError::io(&path, e))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::group_of;

    #[test]
    fn a_source_groups_with_the_files_of_its_directory() {
        assert_eq!(
            group_of("/data/daily/2024-05-02/AAPL.txt"),
            "/data/daily/2024-05-02"
        );
        assert_eq!(group_of("/data/a.zip!AAPL.txt"), "/data");
        assert_eq!(group_of("/data/a.zip!dir/AAPL.txt"), "/data/a.zip!dir");
        assert_eq!(
            group_of("copy:/s/AAPL/1min/none/2024-05"),
            "copy:/s/AAPL/1min/none"
        );
        assert_eq!(group_of("AAPL.txt"), "");
    }
}
