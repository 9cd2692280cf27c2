//! Stores written before the table existed (a `bars/` dataset of year directories, a
//! `data.parquet` base and appended `part-NNNNNN_<first>_<last>.parquet` files each,
//! with `_barstore/series.jsonl` and `_barstore/manifest.jsonl` beside it).
//!
//! Their files are adopted as they are: the table's first version adds every file
//! that held live bars (a base, and the parts its `barstore.merged` key does not
//! hold), with the old manifest in its commit note, so no Parquet file is rewritten.
//! Until that first write, reads see the same files through the same state.

use super::codec::Footer;
use super::state::{key_of, series_key, FileMeta, Key, State};
use super::table::{CommitNote, Table};
use super::write::add_action;
use crate::error::{Result, StoreError};
use crate::store::ManifestEntry;
use deltalake_core::kernel::Action;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What the first version of an upgraded store holds.
pub(super) struct Adopted {
    pub(super) state: State,
    pub(super) actions: Vec<Action>,
    pub(super) note: CommitNote,
}

/// The base file of a year in the old layout.
const BASE: &str = "data.parquet";
/// The key of a base's highest part sequence number it holds.
const MERGED_KEY: &str = "barstore.merged";

fn part_seq(name: &str) -> Option<u64> {
    let rest = name.strip_prefix("part-")?.strip_suffix(".parquet")?;
    let mut it = rest.split('_');
    let seq = it.next()?.parse().ok()?;
    it.next()?.parse::<i64>().ok()?;
    it.next()?.parse::<i64>().ok()?;
    it.next().is_none().then_some(seq)
}

fn dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(|e| StoreError::io(dir, e))?;
                if entry
                    .file_type()
                    .map_err(|e| StoreError::io(dir, e))?
                    .is_dir()
                {
                    out.push(entry.path());
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(StoreError::io(dir, e).into()),
    }
    out.sort();
    Ok(out)
}

fn file_of(table: &Path, path: &Path, footer: &Footer) -> Option<FileMeta> {
    let rel = path
        .strip_prefix(table)
        .ok()?
        .to_string_lossy()
        .into_owned();
    let ranges: Vec<(i64, i64)> = footer.ranges().filter_map(|(_, r)| r).collect();
    Some(FileMeta {
        rel,
        path: path.to_path_buf(),
        rows: footer.rows(),
        first: ranges.iter().map(|r| r.0).min()?,
        last: ranges.iter().map(|r| r.1).max()?,
        size: std::fs::metadata(path).ok()?.len() as i64,
    })
}

/// The files of the old layout under `root` (none for a new store).
pub(super) fn adopt(root: &Path, table: &Table) -> Result<Adopted> {
    let mut state = State::empty();
    let mut note = CommitNote {
        operation: "upgrade".into(),
        sources: legacy_manifest(&root.join("_barstore"))
            .into_values()
            .collect(),
        ..CommitNote::default()
    };
    note.sources.sort_by(|a, b| a.source.cmp(&b.source));
    let mut actions = Vec::new();
    let dir = table.dir();
    for symbol in dirs(dir)? {
        let children = dirs(&symbol)?;
        if let Some(year) = children.iter().find(|d| {
            d.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("year="))
        }) {
            return Err(StoreError::Unexpected {
                path: year.clone(),
                detail: "a year directory with no timeframe and adjustment above it, as barstore 0.1 wrote them, which is no longer read: load its source files into a new store".into(),
            }
            .into());
        }
        for timeframe in children {
            for adjustment in dirs(&timeframe)? {
                for year in dirs(&adjustment)? {
                    adopt_year(dir, &year, &mut state, &mut note, &mut actions)?;
                }
            }
        }
    }
    Ok(Adopted {
        state,
        actions,
        note,
    })
}

fn adopt_year(
    table: &Path,
    dir: &Path,
    state: &mut State,
    note: &mut CommitNote,
    actions: &mut Vec<Action>,
) -> Result<()> {
    let probe = dir.join(BASE);
    let Some(rel) = probe
        .strip_prefix(table)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
    else {
        return Ok(());
    };
    let Some(key): Option<Key> = key_of(&rel) else {
        return Ok(());
    };
    let mut found: Vec<(FileMeta, Footer)> = Vec::new();
    let mut merged = 0;
    if probe.is_file() {
        let footer = Footer::load(&probe)?;
        merged = footer
            .value(MERGED_KEY)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if let Some(file) = file_of(table, &probe, &footer) {
            found.push((file, footer));
        }
    }
    let entries = std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if part_seq(&name).is_some_and(|seq| seq > merged) {
            let footer = Footer::load(&entry.path())?;
            if let Some(file) = file_of(table, &entry.path(), &footer) {
                found.push((file, footer));
            }
        }
    }
    for (file, footer) in found {
        if let Some(zone) = footer.zone() {
            note.zones.insert(series_key(&key.0), zone.clone());
            state.zones.insert(key.0.clone(), zone);
        }
        actions.push(add_action(&key, &file));
        let list = state.files.entry(key.clone()).or_default();
        list.push(file);
        list.sort_by_key(|f| (f.first, f.last));
    }
    Ok(())
}

/// The manifest of a store written before the table (none for any other).
pub(super) fn legacy_manifest(meta: &Path) -> HashMap<String, ManifestEntry> {
    let mut out = HashMap::new();
    if let Ok(text) = std::fs::read_to_string(meta.join("manifest.jsonl")) {
        for line in text.lines() {
            // a line torn by a crash does not parse: that file simply loads again
            if let Ok(entry) = serde_json::from_str::<ManifestEntry>(line) {
                out.insert(entry.source.clone(), entry);
            }
        }
    }
    out
}

/// Removes the old layout's own files once the table holds what they said.
pub(super) fn retire(root: &Path) -> Result<()> {
    for name in ["series.jsonl", "manifest.jsonl", "lock"] {
        let path = root.join("_barstore").join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&path, e).into()),
        }
    }
    Ok(())
}
