//! barstore's own checkpoints of a version: the files and zones of a [`State`], so
//! that opening a store reads one file and the commits after it, not a replay of the
//! Delta log.
//!
//! Replaying the log with `deltalake-core` costs what the table's whole history holds:
//! 258 ms for a table of 30,000 live files, before barstore has read a bar. A
//! checkpoint costs what the version holds, once, in the compact form barstore reads.
//!
//! `_barstore/state.json` holds the newest version any process built, and
//! `_barstore/states/<version>.json` every [`EVERY`]th version, so that a read as of
//! an older version replays fewer than [`EVERY`] commits. All are derived data: a
//! checkpoint names its version and the size and time of that version's commit and of
//! the first one, so one that is torn or of another table at that path is simply not
//! used, and any process may write one (by a rename, so it is
//! whole).

use super::state::{key_dir, series_key, series_of_key, FileMeta, State};
use super::table::{Table, LOG_DIR};
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Versions between the checkpoints kept for older versions.
pub(super) const EVERY: i64 = 10;

/// Commits a state is moved forward by, at most, before the log is replayed instead.
const MAX_REPLAY: i64 = 200;

const LATEST: &str = "state.json";
const DIR: &str = "states";

#[derive(Serialize, Deserialize)]
struct Saved {
    version: i64,
    timestamp: i64,
    /// Size and modification time (ns) of the commits of version 0 and of `version`:
    /// which table, and which commit, this is of.
    sizes: [(u64, i128); 2],
    zones: BTreeMap<String, String>,
    /// By series key, by year.
    files: BTreeMap<String, BTreeMap<i32, Vec<SavedFile>>>,
}

/// A data file: name (or path, outside its year's directory), rows, first and last
/// bar, size.
type SavedFile = (String, u64, i64, i64, i64);

/// A commit file's size and modification time: commits are written once and never
/// changed, so these tell one table's commit from another's at the same path.
pub(super) fn commit_mark(table: &Table, version: i64) -> Option<(u64, i128)> {
    let path = table
        .dir()
        .join(LOG_DIR)
        .join(format!("{version:020}.json"));
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos() as i128;
    Some((meta.len(), modified))
}

fn sizes(table: &Table, version: i64) -> Option<[(u64, i128); 2]> {
    Some([commit_mark(table, 0)?, commit_mark(table, version)?])
}

fn at_version(meta: &Path, version: i64) -> PathBuf {
    meta.join(DIR).join(format!("{version:020}.json"))
}

fn read(table: &Table, path: &Path) -> Option<State> {
    let text = std::fs::read(path).ok()?;
    let saved: Saved = serde_json::from_slice(&text).ok()?;
    if sizes(table, saved.version)? != saved.sizes {
        return None;
    }
    let zones: HashMap<_, _> = saved
        .zones
        .into_iter()
        .filter_map(|(k, z)| Some((series_of_key(&k)?, z)))
        .collect();
    let mut files = BTreeMap::new();
    for (series, years) in saved.files {
        let series = series_of_key(&series)?;
        for (year, list) in years {
            let key = (series.clone(), year);
            let dir = key_dir(&key);
            let list = list
                .into_iter()
                .map(|(name, rows, first, last, size)| {
                    let rel = if name.contains('/') {
                        name
                    } else {
                        format!("{dir}/{name}")
                    };
                    FileMeta {
                        path: table.dir().join(&rel),
                        rel,
                        rows,
                        first,
                        last,
                        size,
                    }
                })
                .collect();
            files.insert(key, list);
        }
    }
    Some(State {
        version: saved.version,
        timestamp: saved.timestamp,
        files,
        zones,
    })
}

/// The newest checkpoint at or before `version`.
fn newest(table: &Table, meta: &Path, version: i64) -> Option<State> {
    let latest = read(table, &meta.join(LATEST)).filter(|s| s.version <= version);
    let floor = version - version.rem_euclid(EVERY);
    let older = (0..=MAX_REPLAY / EVERY)
        .map(|i| floor - i * EVERY)
        .take_while(|v| *v >= 0 && latest.as_ref().is_none_or(|s| s.version < *v))
        .find_map(|v| read(table, &at_version(meta, v)));
    older.or(latest)
}

/// The state at `version` from a checkpoint and the commits after it; `None` when no
/// checkpoint is near enough.
pub(super) fn load(table: &Table, meta: &Path, version: i64) -> Result<Option<State>> {
    let Some(mut state) = newest(table, meta, version) else {
        return Ok(None);
    };
    if version - state.version > MAX_REPLAY {
        return Ok(None);
    }
    let from = state.version;
    for v in from + 1..=version {
        let commit = table.read_commit(v)?;
        state.apply(v, &commit);
    }
    if version > from {
        save(table, meta, &state);
    }
    Ok(Some(state))
}

/// Keeps `state` (one the log made) as a checkpoint: the newest, and one of every
/// [`EVERY`]th version.
pub(super) fn save(table: &Table, meta: &Path, state: &State) {
    if state.version < 0 {
        return;
    }
    let Some(sizes) = sizes(table, state.version) else {
        return;
    };
    let mut files: BTreeMap<String, BTreeMap<i32, Vec<SavedFile>>> = BTreeMap::new();
    for (key, list) in &state.files {
        let dir = key_dir(key);
        let list = list
            .iter()
            .map(|f| {
                let name = f
                    .rel
                    .strip_prefix(&dir)
                    .and_then(|n| n.strip_prefix('/'))
                    .filter(|n| !n.contains('/'))
                    .unwrap_or(&f.rel);
                (name.to_string(), f.rows, f.first, f.last, f.size)
            })
            .collect();
        files
            .entry(series_key(&key.0))
            .or_default()
            .insert(key.1, list);
    }
    let saved = Saved {
        version: state.version,
        timestamp: state.timestamp,
        sizes,
        zones: state
            .zones
            .iter()
            .map(|(s, z)| (series_key(s), z.clone()))
            .collect(),
        files,
    };
    let text = serde_json::to_vec(&saved).expect("a checkpoint serialises");
    let newer = read_version(&meta.join(LATEST)).is_none_or(|v| v < state.version);
    if newer {
        write(&meta.join(LATEST), &text);
    }
    if state.version % EVERY == 0 {
        let path = at_version(meta, state.version);
        if !path.exists() {
            write(&path, &text);
        }
    }
}

/// The version a checkpoint names, without reading its files.
fn read_version(path: &Path) -> Option<i64> {
    #[derive(Deserialize)]
    struct Head {
        version: i64,
    }
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice::<Head>(&text)
        .ok()
        .map(|h| h.version)
}

fn write(path: &Path, text: &[u8]) {
    // derived data: a store on a read-only disk just replays the log next time
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let _ = crate::atomic::write(path, |f| {
        use std::io::Write;
        f.write_all(text).map_err(|e| crate::Error::output(dir, e))
    });
}

/// Removes the checkpoints of versions older than `oldest` that no version in `keep`
/// starts from.
pub(super) fn prune(meta: &Path, oldest: i64, keep: &[i64]) {
    let Ok(entries) = std::fs::read_dir(meta.join(DIR)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(v) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<i64>().ok())
        else {
            continue;
        };
        let needed = keep.iter().any(|k| (v..v + EVERY).contains(k));
        if v + EVERY <= oldest && !needed {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
