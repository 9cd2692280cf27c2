//! The embedded store: a Hive-partitioned Parquet dataset that pandas, pyarrow, polars
//! and duckdb open as-is.
//!
//! ```text
//! <root>/bars/symbol=AAPL/timeframe=1min/adjustment=adjsplit/year=2024/data.parquet
//!                                              one row group per exchange month
//!                                   .../year=2024/part-000001_<first>_<last>.parquet
//!                                              bars appended after the base ([`parts`])
//! <root>/_barstore/manifest.jsonl              completed input files
//! <root>/_barstore/series.jsonl                the series index ([`index`])
//! <root>/_barstore/lock                        held by the one writing process
//! ```
//!
//! Files hold `timestamp` (UTC, ms) and `open high low close volume` (float64, volume
//! nullable); `symbol`, `timeframe`, `adjustment` and `year` come from the directory
//! names. Stores written before series existed have `symbol=AAPL/year=2024` directly:
//! they read as the `1min` series with no adjustment, and the first load into such a
//! store moves each year directory to its place under `timeframe=1min/adjustment=none`
//! (a rename per directory, so an interrupted move resumes). An upsert of bars that all
//! come after a year's last bar adds a part to it; any other upsert rewrites the year's
//! base. Either way the new file goes to a hidden temporary file that is fsynced and
//! renamed into place, so a crash leaves either the old file or the new one. Readers
//! skip names starting with `.` or `_`, so neither the temporary files nor `_barstore`
//! show up in the dataset.
//!
//! By job: `codec` (the Parquet files), `files` (directories and years), `write`,
//! `scan`, `listing` (what is stored, from [`index`] or the files), `manifest`,
//! `legacy` (stores from before series), `actions` (corporate actions), [`parts`].

use super::{ManifestEntry, MonthBars, SeriesInfo, Store};
use crate::actions::Action;
use crate::bars::Bars;
use crate::bucket::Month;
use crate::error::{Result, StoreError};
use crate::series::Series;
use crate::symbol;
use crate::zone::Zone;
use crate::zone::{days_from_civil, DAY};
use arrow::array::{Array, Float64Array, RecordBatch, TimestampMillisecondArray};
use arrow::datatypes::SchemaRef;
use index::{Index, Listing};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::metadata::{KeyValue, PageIndexPolicy, ParquetMetaData, SortingColumn};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::properties::WriterProperties;
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnPath;
use parts::{Part, YearFiles, BASE, MAX_PARTS, MERGED_KEY};
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

mod actions;
mod codec;
mod files;
pub mod index;
mod legacy;
mod listing;
mod manifest;
pub mod parts;
mod scan;
#[cfg(test)]
mod tests;
mod write;

use codec::*;
use files::*;

/// The embedded Parquet store rooted at a directory.
#[derive(Debug)]
pub struct Embedded {
    root: PathBuf,
    lock: Mutex<Option<File>>,
    partitions: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
    writing: Mutex<HashMap<PathBuf, Arc<Mutex<write::Writing>>>>,
    index: Index,
}

impl Embedded {
    /// A store at `root` (created on the first load).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Embedded {
            index: Index::new(&root.join("_barstore")),
            root,
            lock: Mutex::new(None),
            partitions: Mutex::new(HashMap::new()),
            writing: Mutex::new(HashMap::new()),
        }
    }

    /// The directory of the Parquet dataset (`<root>/bars`).
    pub fn dataset_dir(&self) -> PathBuf {
        self.root.join("bars")
    }
}

impl Store for Embedded {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn begin_load(&self) -> Result<()> {
        let meta = self.meta_dir();
        fs::create_dir_all(&meta).map_err(|e| StoreError::io(&meta, e))?;
        fs::create_dir_all(self.dataset_dir())
            .map_err(|e| StoreError::io(self.dataset_dir(), e))?;
        let mut held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if held.is_some() {
            return Ok(());
        }
        let path = meta.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StoreError::Locked { path }.into()),
            Err(fs::TryLockError::Error(e)) => return Err(StoreError::io(&path, e).into()),
        }
        files::remove_debris(&self.dataset_dir())?;
        self.move_legacy_years()?;
        match self.index.listing()? {
            None => self.index.rewrite(&self.listing_from_files()?)?,
            Some(listing) if self.index.is_bloated(&listing) => self.index.rewrite(&listing)?,
            Some(_) => {}
        }
        *held = Some(file);
        Ok(())
    }

    fn scan(&self, series: &Series, start: i64, end: i64) -> Result<Bars> {
        self.scan_series(series, start, end)
    }

    fn months(&self, series: &Series) -> Result<Vec<Month>> {
        self.months_of(series)
    }

    fn manifest(&self) -> Result<HashMap<String, ManifestEntry>> {
        manifest::read(&self.meta_dir())
    }

    fn record(&self, entries: &[ManifestEntry]) -> Result<()> {
        manifest::append(&self.meta_dir(), entries)
    }

    fn zone_of(&self, series: &Series) -> Result<Option<String>> {
        Ok(self.info_of(series)?.map(|i| i.zone))
    }

    fn upsert(&self, series: &Series, zone: &Zone, months: Vec<MonthBars>) -> Result<()> {
        self.write_series(series, zone, months, false)
    }

    fn series_of(&self, symbol: &str) -> Result<Vec<Series>> {
        symbol::validate(symbol)?;
        Ok(self
            .listing()?
            .get(symbol)
            .map(|list| list.iter().map(|i| i.series.clone()).collect())
            .unwrap_or_default())
    }

    fn series(&self) -> Result<Vec<SeriesInfo>> {
        Ok(self.listing()?.values().flatten().cloned().collect())
    }

    /// Merges every year that holds parts into its base and rebuilds the series index
    /// from the data files. Returns the number of years merged.
    fn compact(&self) -> Result<u64> {
        self.begin_load()?;
        let mut merged = 0;
        for info in self.listing_from_files()?.values().flatten() {
            let zone = Zone::new(&info.zone)?;
            for dir in self.year_dirs(&info.series)?.values() {
                if !parts::list(dir)?.parts.is_empty() {
                    self.write_year(dir, &zone, &[], true)?;
                    merged += 1;
                }
            }
        }
        self.index.rewrite(&self.listing_from_files()?)?;
        Ok(merged)
    }

    fn actions(&self, symbol: Option<&str>) -> Result<Vec<Action>> {
        actions::read(&self.actions_path(), symbol)
    }

    fn put_actions(&self, new: &[Action]) -> Result<()> {
        if new.is_empty() {
            return Ok(());
        }
        self.begin_load()?;
        let path = self.actions_path();
        let mut all = actions::read(&path, None)?;
        all.extend_from_slice(new);
        actions::write(&path, &all)
    }
}
