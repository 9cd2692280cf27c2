//! The embedded store: a Delta Lake table of Parquet files on local disk, which
//! barstore reads with its own Parquet reader and Spark, Trino, polars, DuckDB and
//! pandas (through `deltalake`) read as a Delta table.
//!
//! ```text
//! <root>/bars/_delta_log/                      the table's versions (Delta Lake)
//! <root>/bars/symbol=AAPL/timeframe=1min/adjustment=adjsplit/year=2024/part-<id>.parquet
//!                                              one row group per exchange month
//! <root>/actions/actions.parquet               corporate actions, every version
//! <root>/_barstore/log.json                    zones, derived from the log
//! <root>/_barstore/manifest/                   input files loaded, by directory, derived too
//! <root>/_barstore/state.json, states/         checkpoints of versions, derived too
//! <root>/_barstore/snapshots.json              named versions
//! ```
//!
//! Files hold `timestamp` (UTC, ms) and `open high low close volume` (float64, volume
//! nullable); `symbol`, `timeframe`, `adjustment` and `year` are the table's partition
//! columns, all strings. Every change is a commit of the table ([`write`]): a load's
//! bars, the manifest entries of the input files it completes and the zones of its
//! series appear together in one version or not at all, and every read sees one
//! version from start to end ([`state`]), whatever other processes commit meanwhile.
//!
//! By job: [`table`] (the Delta log), [`state`] (one version's files), [`write`],
//! [`scan`], [`codec`] (the Parquet files), [`history`] (versions, snapshots,
//! vacuum), [`upgrade`] (stores written before the table), `actions` (corporate
//! actions), [`view`] (a store pinned to one version).

use super::{AsOf, ManifestEntry, MonthBars, SeriesInfo, Store};
use crate::actions::Action;
use crate::bars::Bars;
use crate::bucket::Month;
use crate::error::{Result, StoreError};
use crate::series::Series;
use crate::symbol;
use crate::zone::Zone;
use scan::Footers;
use state::{Key, State};
use std::collections::HashMap;
use std::fs::{self, File};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use table::Table;

mod actions;
mod checkpoint;
mod codec;
pub mod history;
mod log;
mod manifest;
mod scan;
mod state;
mod table;
#[cfg(test)]
mod tests;
mod upgrade;
pub mod view;

mod write;

pub use history::{HistoryEntry, SnapshotInfo, VacuumReport};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a writing store holds: the version it works on, with its own staged writes.
#[derive(Default)]
pub(crate) struct Working {
    loaded: bool,
    state: State,
    staged: write::Staged,
}

impl std::fmt::Debug for Working {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Working(version {})", self.state.version)
    }
}

/// The embedded store rooted at a directory.
#[derive(Debug)]
pub struct Embedded {
    root: PathBuf,
    table: Table,
    footers: Arc<Footers>,
    working: Mutex<Working>,
    /// Held shared by upserts and exclusively by a commit, which may write staged
    /// years again.
    gate: RwLock<()>,
    years: Mutex<HashMap<Key, Arc<Mutex<()>>>>,
    latest: Mutex<Option<Arc<State>>>,
}

impl Embedded {
    /// A store at `root` (created on the first load).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Embedded {
            table: Table::new(root.join("bars")),
            root,
            footers: Arc::default(),
            working: Mutex::default(),
            gate: RwLock::new(()),
            years: Mutex::default(),
            latest: Mutex::default(),
        }
    }

    /// The directory of the Delta table (`<root>/bars`).
    pub fn table_dir(&self) -> PathBuf {
        self.table.dir().to_path_buf()
    }

    pub(crate) fn meta_dir(&self) -> PathBuf {
        self.root.join("_barstore")
    }

    fn actions_path(&self) -> PathBuf {
        self.root.join("actions").join("actions.parquet")
    }

    /// The working state, loaded at the latest version on first use.
    fn working(&self) -> Result<MutexGuard<'_, Working>> {
        let mut w = lock(&self.working);
        if !w.loaded {
            w.state = log::load(&self.table, &self.meta_dir(), None)?;
            w.loaded = true;
        }
        Ok(w)
    }

    fn year_lock(&self, key: &Key) -> Arc<Mutex<()>> {
        lock(&self.years).entry(key.clone()).or_default().clone()
    }

    /// The files of `series` in the working state.
    fn files_of(&self, series: &Series) -> Result<Vec<state::FileMeta>> {
        let w = self.working()?;
        Ok(w.state
            .years(series)
            .flat_map(|(_, f)| f.to_vec())
            .collect())
    }

    /// Creates the table when there is none: empty, or adopting the files of a store
    /// written before it ([`upgrade`]).
    fn ensure_table(&self) -> Result<()> {
        fs::create_dir_all(self.meta_dir()).map_err(|e| StoreError::io(self.meta_dir(), e))?;
        if self.table.exists() {
            return Ok(());
        }
        // a working state loaded before holds these files at version -1: its next
        // commit follows version 0 like any other writer's
        let adopted = upgrade::adopt(&self.root, &self.table)?;
        let note = (!adopted.actions.is_empty()).then_some(&adopted.note);
        if self.table.create(adopted.actions, note)? {
            upgrade::retire(&self.root)?;
        }
        Ok(())
    }

    /// Commits what this store has staged, with the input files it completes.
    fn commit(&self, operation: &str, sources: &[ManifestEntry]) -> Result<i64> {
        let _gate = self.gate.write().unwrap_or_else(|p| p.into_inner());
        self.ensure_table()?;
        let mut w = self.working()?;
        let version = write::commit(&self.table, &mut w, operation, sources)?;
        log::remember(&self.table, &self.meta_dir(), version);
        Ok(version)
    }

    /// The latest committed version, following commits since the last call.
    fn latest(&self) -> Result<Arc<State>> {
        let mut latest = lock(&self.latest);
        let newest = if self.table.exists() {
            self.table.latest()?
        } else {
            -1
        };
        if let Some(state) = latest.as_ref() {
            if state.version == newest {
                return Ok(state.clone());
            }
        }
        let state = match latest.take() {
            Some(state) if state.version >= 0 && state.version < newest => {
                let mut state = Arc::unwrap_or_clone(state);
                for version in state.version + 1..=newest {
                    let commit = self.table.read_commit(version)?;
                    state.apply(version, &commit);
                }
                state
            }
            _ => log::load(&self.table, &self.meta_dir(), None)?,
        };
        let state = Arc::new(state);
        *latest = Some(state.clone());
        Ok(state)
    }

    /// A read-only store at the version `as_of` names (the latest for `None`).
    pub fn at(&self, as_of: Option<&AsOf>) -> Result<view::View> {
        let state = match as_of {
            None => self.latest()?,
            Some(as_of) => {
                let latest = self.latest()?;
                match history::resolve(&self.table, &self.meta_dir(), as_of)? {
                    Some(version) if version == latest.version => latest,
                    Some(version) => {
                        Arc::new(log::load(&self.table, &self.meta_dir(), Some(version))?)
                    }
                    // corporate actions keep their own history, older than the store:
                    // a time before its first version reads them as known then, over
                    // the bars as they are
                    None => {
                        tracing::warn!(
                            "{}: no version of the bars was committed by {}: reading the latest bars, with the corporate actions as known then",
                            self.location(),
                            state::stats_time(match as_of {
                                AsOf::Time(t) => *t,
                                _ => 0,
                            })
                        );
                        latest
                    }
                }
            }
        };
        // a read as of a time takes the actions as of its day itself
        let known_at = match as_of {
            None | Some(AsOf::Time(_)) => None,
            Some(_) => Some(state.timestamp),
        };
        Ok(view::View::new(
            self.location(),
            state,
            self.footers.clone(),
            self.actions_path(),
            known_at,
        ))
    }

    /// Every version, newest first ([`history`]).
    pub fn history(&self, limit: Option<usize>) -> Result<Vec<HistoryEntry>> {
        history::list(&self.table, limit)
    }

    /// Names the version `as_of` names (the latest for `None`).
    pub fn snapshot_create(&self, name: &str, as_of: Option<&AsOf>) -> Result<SnapshotInfo> {
        let version = match as_of {
            Some(a) => history::resolve(&self.table, &self.meta_dir(), a)?.ok_or_else(|| {
                StoreError::NoVersion {
                    location: self.location(),
                    detail: "no version was committed by then".into(),
                }
            })?,
            None => self.latest()?.version,
        };
        history::create_snapshot(&self.table, &self.meta_dir(), name, version)
    }

    /// The named versions, by name.
    pub fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        history::snapshots(&self.meta_dir())
    }

    /// Removes a name (the version stays until `vacuum` finds no use for its files).
    pub fn snapshot_delete(&self, name: &str) -> Result<bool> {
        history::delete_snapshot(&self.meta_dir(), name)
    }

    /// Removes the data files no version committed within `retain_ms` of now, no
    /// named snapshot and the latest version need ([`history::vacuum`]).
    pub fn vacuum(&self, retain_ms: i64, dry_run: bool) -> Result<VacuumReport> {
        history::vacuum(&self.table, &self.meta_dir(), retain_ms, dry_run)
    }

    /// Converts a store written before the table into one (what the first load does).
    pub fn upgrade(&self) -> Result<bool> {
        let existed = self.table.exists();
        self.ensure_table()?;
        Ok(!existed)
    }
}

impl Store for Embedded {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn begin_load(&self) -> Result<()> {
        self.ensure_table()?;
        self.working().map(|_| ())
    }

    fn scan(&self, series: &Series, start: i64, end: i64) -> Result<Bars> {
        symbol::validate(&series.symbol)?;
        scan::scan(&self.footers, &self.files_of(series)?, start, end)
    }

    fn months(&self, series: &Series) -> Result<Vec<Month>> {
        match self.zone_of(series)? {
            Some(zone) => scan::months(&self.footers, &self.files_of(series)?, &zone),
            None => Ok(Vec::new()),
        }
    }

    fn manifest(&self, sources: &[String]) -> Result<HashMap<String, ManifestEntry>> {
        manifest::lookup(&self.table, &self.meta_dir(), sources)
    }

    fn record(&self, entries: &[ManifestEntry]) -> Result<()> {
        self.commit("load", entries).map(|_| ())
    }

    fn zone_of(&self, series: &Series) -> Result<Option<String>> {
        symbol::validate(&series.symbol)?;
        let w = self.working()?;
        if w.state.years(series).next().is_none() {
            return Ok(None);
        }
        Ok(w.state.zones.get(series).cloned())
    }

    fn upsert(&self, series: &Series, zone: &Zone, months: Vec<MonthBars>) -> Result<()> {
        use rayon::prelude::*;
        symbol::validate(&series.symbol)?;
        drop(self.working()?);
        let _gate = self.gate.read().unwrap_or_else(|p| p.into_inner());
        let mut by_year: std::collections::BTreeMap<i32, Vec<MonthBars>> = Default::default();
        for m in months {
            by_year.entry(m.month.year).or_default().push(m);
        }
        let work: Vec<(i32, Vec<MonthBars>)> = by_year.into_iter().collect();
        work.into_par_iter().try_for_each(|(year, incoming)| {
            let key = (series.clone(), year);
            let lock = self.year_lock(&key);
            let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            write::upsert_year(&self.table, &self.working, &key, zone, incoming, false)
        })
    }

    fn series_of(&self, symbol: &str) -> Result<Vec<Series>> {
        symbol::validate(symbol)?;
        Ok(self.working()?.state.series_of(symbol))
    }

    fn series(&self) -> Result<Vec<SeriesInfo>> {
        Ok(self.working()?.state.listing())
    }

    /// Merges the files of every year that holds more than one into one, in one
    /// commit. Returns the number of years merged.
    fn compact(&self) -> Result<u64> {
        self.begin_load()?;
        let keys: Vec<(Key, String)> = {
            let w = self.working()?;
            w.state
                .files
                .iter()
                .filter(|(_, files)| files.len() > 1)
                .map(|(k, _)| {
                    (
                        k.clone(),
                        w.state.zones.get(&k.0).cloned().unwrap_or_default(),
                    )
                })
                .collect()
        };
        {
            let _gate = self.gate.read().unwrap_or_else(|p| p.into_inner());
            for (key, zone) in &keys {
                let zone = Zone::new(zone)?;
                let lock = self.year_lock(key);
                let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
                write::upsert_year(&self.table, &self.working, key, &zone, Vec::new(), true)?;
            }
        }
        self.commit("compact", &[])?;
        Ok(keys.len() as u64)
    }

    fn actions(&self, symbol: Option<&str>) -> Result<Vec<Action>> {
        actions::read(&self.actions_path(), symbol)
    }

    fn put_actions(&self, new: &[Action]) -> Result<()> {
        if new.is_empty() {
            return Ok(());
        }
        self.begin_load()?;
        // read, add and replace under a lock: two processes adding actions at once
        // both keep theirs
        let lock_path = self.meta_dir().join("actions.lock");
        let file = File::create(&lock_path).map_err(|e| StoreError::io(&lock_path, e))?;
        file.lock().map_err(|e| StoreError::io(&lock_path, e))?;
        let path = self.actions_path();
        let mut all = actions::read(&path, None)?;
        all.extend_from_slice(new);
        actions::write(&path, &all)
    }

    /// The latest committed version, or this store itself while it holds writes not
    /// yet committed (its reads then see them, and only its own writes change it).
    fn view(&self, as_of: Option<&AsOf>) -> Result<Option<Arc<dyn Store>>> {
        if as_of.is_none() && !lock(&self.working).staged.is_empty() {
            return Ok(None);
        }
        Ok(Some(Arc::new(self.at(as_of)?)))
    }
}
