//! One committed version of the embedded store as barstore reads it: the data files of
//! each year of each series, and each series' zone.
//!
//! A [`State`] is built once from a version's files (the Delta log replayed by
//! `deltalake-core`) and then moved forward commit by commit, so a process that keeps
//! a store open follows other processes' loads at the cost of their commits. It is
//! immutable once built: every read of a version sees the same files from start to
//! end, whatever commits meanwhile.

use super::table::{Commit, Table, PARTITIONS};
use crate::error::{Result, StoreError};
use crate::series::Series;
use crate::store::SeriesInfo;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// A year of a series: the partition a data file belongs to.
pub(super) type Key = (Series, i32);

/// A data file of a version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FileMeta {
    /// The path relative to the table directory, as the log names it.
    pub(super) rel: String,
    /// The absolute path.
    pub(super) path: PathBuf,
    /// Bars it holds.
    pub(super) rows: u64,
    /// First bar, UTC ms.
    pub(super) first: i64,
    /// Last bar, UTC ms.
    pub(super) last: i64,
    /// Size in bytes.
    pub(super) size: i64,
}

/// The statistics barstore writes into each `add` (and reads back): the row count and
/// the first and last instant, as Delta Lake's per-file statistics.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Stats {
    pub(super) num_records: u64,
    pub(super) min_values: Bounds,
    pub(super) max_values: Bounds,
    #[serde(default)]
    pub(super) null_count: BTreeMap<String, u64>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Bounds {
    pub(super) timestamp: String,
}

/// An instant as Delta Lake's statistics write it (RFC 3339, milliseconds, UTC).
pub(super) fn stats_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

fn parse_time(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

/// The directory (relative to the table) of a year of a series.
pub(super) fn key_dir(key: &Key) -> String {
    let (series, year) = key;
    format!(
        "symbol={}/timeframe={}/adjustment={}/year={year}",
        series.symbol, series.timeframe, series.adjustment
    )
}

/// The partition of a file path relative to the table, `None` for a path outside the
/// layout (written by another engine) or of an invalid symbol.
pub(super) fn key_of(rel: &str) -> Option<Key> {
    let mut parts = rel.split('/');
    let mut values = [""; 4];
    for (slot, name) in values.iter_mut().zip(PARTITIONS) {
        *slot = parts.next()?.strip_prefix(name)?.strip_prefix('=')?;
    }
    parts.next()?;
    let [symbol, timeframe, adjustment, year] = values;
    let series = Series::new(symbol, timeframe.parse().ok()?, adjustment.parse().ok()?).ok()?;
    Some((series, year.parse().ok()?))
}

impl FileMeta {
    /// The file of an `add` with barstore's statistics, `None` for one outside the layout.
    pub(super) fn of_add(
        table: &Path,
        raw_path: &str,
        stats: &Option<String>,
        size: i64,
    ) -> Option<(Key, FileMeta)> {
        let rel = super::table::decode_path(raw_path);
        let key = key_of(&rel)?;
        let stats: Stats = serde_json::from_str(stats.as_deref()?).ok()?;
        let file = FileMeta {
            path: table.join(&rel),
            rel,
            rows: stats.num_records,
            first: parse_time(&stats.min_values.timestamp)?,
            last: parse_time(&stats.max_values.timestamp)?,
            size,
        };
        Some((key, file))
    }
}

/// The key of a series in zones and commit notes: `AAPL/1min/adjsplit`.
pub(super) fn series_key(series: &Series) -> String {
    format!(
        "{}/{}/{}",
        series.symbol, series.timeframe, series.adjustment
    )
}

/// The series of a [`series_key`].
pub(super) fn series_of_key(key: &str) -> Option<Series> {
    let mut it = key.split('/');
    let (symbol, timeframe, adjustment) = (it.next()?, it.next()?, it.next()?);
    Series::new(symbol, timeframe.parse().ok()?, adjustment.parse().ok()?).ok()
}

/// One committed version (or, in a writing store, that version and the writes staged
/// on it).
#[derive(Clone, Debug, Default)]
pub(super) struct State {
    /// The version (-1: no table yet).
    pub(super) version: i64,
    /// When it was committed, UTC ms (0 with no table).
    pub(super) timestamp: i64,
    /// Data files by year of series, each year's sorted by first bar.
    pub(super) files: BTreeMap<Key, Vec<FileMeta>>,
    /// Exchange zone of each series.
    pub(super) zones: HashMap<Series, String>,
}

impl State {
    /// The state with no table.
    pub(super) fn empty() -> Self {
        State {
            version: -1,
            ..State::default()
        }
    }

    /// The state of a loaded table version, with the zones its commits recorded.
    pub(super) fn of_table(
        table: &Table,
        delta: &deltalake_core::DeltaTable,
        zones: HashMap<Series, String>,
    ) -> Result<State> {
        let snapshot = delta
            .snapshot()
            .map_err(|e| StoreError::table(table.dir(), e))?;
        let version = snapshot.version();
        let mut files: BTreeMap<Key, Vec<FileMeta>> = BTreeMap::new();
        for view in snapshot.log_data().iter() {
            let path = view.path();
            let stats = view.stats();
            if let Some((key, file)) = FileMeta::of_add(table.dir(), &path, &stats, view.size()) {
                files.entry(key).or_default().push(file);
            }
        }
        for list in files.values_mut() {
            list.sort_by_key(|f| (f.first, f.last));
        }
        let timestamp = snapshot.version_timestamp(version).unwrap_or_default();
        Ok(State {
            version: version as i64,
            timestamp,
            files,
            zones,
        })
    }

    /// Moves the state forward by `commit`, the next version.
    pub(super) fn apply(&mut self, version: i64, commit: &Commit) {
        self.apply_files(commit);
        self.apply_zones(commit);
        self.version = version;
        self.timestamp = commit.timestamp;
    }

    /// Applies a commit's file changes only.
    pub(super) fn apply_files(&mut self, commit: &Commit) {
        for rel in &commit.removed {
            if let Some(key) = key_of(rel) {
                if let Some(list) = self.files.get_mut(&key) {
                    list.retain(|f| &f.rel != rel);
                    if list.is_empty() {
                        self.files.remove(&key);
                    }
                }
            }
        }
        for (key, file) in &commit.added {
            let list = self.files.entry(key.clone()).or_default();
            if !list.iter().any(|f| f.rel == file.rel) {
                list.push(file.clone());
                list.sort_by_key(|f| (f.first, f.last));
            }
        }
    }

    /// Applies a commit's recorded zones only.
    pub(super) fn apply_zones(&mut self, commit: &Commit) {
        if let Some(note) = &commit.note {
            for (key, zone) in &note.zones {
                if let Some(series) = series_of_key(key) {
                    self.zones.insert(series, zone.clone());
                }
            }
        }
    }

    /// The years of `series` with their files.
    pub(super) fn years<'a>(
        &'a self,
        series: &'a Series,
    ) -> impl Iterator<Item = (i32, &'a [FileMeta])> + 'a {
        self.files
            .range((series.clone(), i32::MIN)..=(series.clone(), i32::MAX))
            .map(|((_, year), files)| (*year, files.as_slice()))
    }

    /// Every series with its counts, sorted.
    pub(super) fn listing(&self) -> Vec<SeriesInfo> {
        let mut out: Vec<SeriesInfo> = Vec::new();
        for ((series, _), files) in &self.files {
            if out.last().is_none_or(|i| &i.series != series) {
                out.push(SeriesInfo {
                    series: series.clone(),
                    rows: 0,
                    first: i64::MAX,
                    last: i64::MIN,
                    zone: self.zones.get(series).cloned().unwrap_or_default(),
                });
            }
            let info = out.last_mut().expect("pushed above");
            for f in files {
                info.rows += f.rows;
                info.first = info.first.min(f.first);
                info.last = info.last.max(f.last);
            }
        }
        out.retain(|i| i.rows > 0);
        out
    }

    /// The series of `symbol`, sorted.
    pub(super) fn series_of(&self, symbol: &str) -> Vec<Series> {
        let mut out: Vec<Series> = Vec::new();
        for (series, _) in self.files.keys() {
            if series.symbol == symbol && out.last() != Some(series) {
                out.push(series.clone());
            }
        }
        out
    }
}
