//! What barstore folds out of the table's commits for a version: each series' zone,
//! recorded in the `commitInfo` of the commit that wrote it, so that zones change with
//! the bars, in the same versions (the manifest, recorded there too, is kept by
//! [`super::manifest`]).
//!
//! Folding every commit from the first would grow with the table's history, so the
//! fold as of some version is kept in `_barstore/log.json` (written again once it is
//! [`REFOLD`] commits behind). It is derived data, named by its version: a reader folds
//! only the commits after it, a missing, torn or newer file is simply not used, and any
//! process may write it (by a rename, so it is whole).

use super::state::{series_of_key, State};
use super::table::Table;
use crate::error::Result;
use crate::series::Series;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Zones as of a version.
#[derive(Default, Serialize, Deserialize)]
struct Folded {
    version: i64,
    zones: BTreeMap<String, String>,
}

const FILE: &str = "log.json";

fn read_cache(meta: &Path, at_most: i64) -> Folded {
    std::fs::read(meta.join(FILE))
        .ok()
        .and_then(|text| serde_json::from_slice::<Folded>(&text).ok())
        .filter(|f| f.version <= at_most)
        .unwrap_or(Folded {
            version: -1,
            ..Folded::default()
        })
}

/// The fold as of `version`.
fn fold(table: &Table, meta: &Path, version: i64) -> Result<Folded> {
    let mut folded = read_cache(meta, version);
    for v in folded.version + 1..=version {
        let commit = table.read_commit(v)?;
        if let Some(note) = commit.note {
            folded.zones.extend(note.zones);
        }
    }
    let grew = folded.version + REFOLD <= version;
    folded.version = version;
    if grew {
        write_cache(meta, &folded);
    }
    Ok(folded)
}

fn write_cache(meta: &Path, folded: &Folded) {
    // derived data: a store on a read-only disk just folds again next time
    let text = serde_json::to_vec(folded).expect("the fold serialises");
    let _ = crate::atomic::write(&meta.join(FILE), |f| {
        use std::io::Write;
        f.write_all(&text)
            .map_err(|e| crate::Error::output(meta, e))
    });
}

/// The state at `version` (the latest for `None`): from a checkpoint when one is near
/// ([`super::checkpoint`]), else by replaying the log; the empty state (no table) for a
/// store without one yet, or, for a store written before the table, the state its
/// first write will commit.
pub(super) fn load(table: &Table, meta: &Path, version: Option<i64>) -> Result<State> {
    if !table.exists() {
        let adopted = super::upgrade::adopt(table.dir().parent().unwrap_or(table.dir()), table)?;
        return Ok(adopted.state);
    }
    let at = match version {
        Some(v) => v,
        None => table.latest()?,
    };
    if let Some(state) = super::checkpoint::load(table, meta, at)? {
        return Ok(state);
    }
    let delta = table.load(Some(at))?;
    let zones: HashMap<Series, String> = fold(table, meta, at)?
        .zones
        .into_iter()
        .filter_map(|(k, z)| Some((series_of_key(&k)?, z)))
        .collect();
    let state = State::of_table(table, &delta, zones)?;
    super::checkpoint::save(table, meta, &state);
    Ok(state)
}

/// Commits folded again from the log before the fold is written anew.
const REFOLD: i64 = 16;

/// Keeps what a version just committed means for the next process: its checkpoint,
/// its manifest entries, and the fold every [`REFOLD`] versions.
pub(super) fn remember(table: &Table, meta: &Path, version: i64) {
    if version < 0 {
        return;
    }
    // loading a version saves its checkpoint
    let _ = load(table, meta, Some(version));
    super::manifest::remember(table, meta);
    if version % REFOLD == 0 {
        let _ = fold(table, meta, version);
    }
}
