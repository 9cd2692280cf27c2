//! The embedded store: a Hive-partitioned Parquet dataset that pandas, pyarrow, polars
//! and duckdb open as-is.
//!
//! ```text
//! <root>/bars/symbol=AAPL/timeframe=1min/adjustment=adjsplit/year=2024/data.parquet
//!                                              one row group per exchange month
//! <root>/_barstore/manifest.jsonl              completed input files
//! <root>/_barstore/lock                        held by the one writing process
//! ```
//!
//! Files hold `timestamp` (UTC, ms) and `open high low close volume` (float64, volume
//! nullable); `symbol`, `timeframe`, `adjustment` and `year` come from the directory
//! names. Stores written before series existed have `symbol=AAPL/year=2024` directly:
//! they read as the `1min` series with no adjustment, and the first load into such a
//! store moves each year directory to its place under `timeframe=1min/adjustment=none`
//! (a rename per directory, so an interrupted move resumes). An upsert rewrites the
//! year files it touches: the new content goes to a hidden temporary file that is
//! fsynced and renamed over the old one, so a crash leaves either the old file or the
//! new one. Readers skip names starting with `.` or `_`, so neither the temporary files
//! nor `_barstore` show up in the dataset.

use super::{ManifestEntry, MonthBars, SeriesInfo, Store};
use crate::bars::Bars;
use crate::bucket::Month;
use crate::calendar::Zone;
use crate::error::{Result, StoreError};
use crate::series::Series;
use crate::symbol;
use arrow::array::{Array, Float64Array, RecordBatch, TimestampMillisecondArray};
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::{KeyValue, ParquetMetaData, SortingColumn};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnPath;
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Parquet key-value metadata key holding the symbol's exchange time zone.
const ZONE_KEY: &str = "barstore.zone";
const DATA_FILE: &str = "data.parquet";

/// The Arrow schema of the stored files: UTC timestamps and the five value columns.
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| to_batch(&Bars::default()).schema())
        .clone()
}

/// Converts bars to an Arrow batch of [`schema`] (missing volumes become nulls).
pub fn to_batch(bars: &Bars) -> RecordBatch {
    bars.clone().into_batch(Some("UTC".into()))
}

/// The timestamp values and the five value columns of a batch of [`schema`].
fn columns<'a>(batch: &'a RecordBatch, path: &Path) -> Result<(&'a [i64], [&'a Float64Array; 5])> {
    let bad = || StoreError::Unexpected {
        path: path.to_path_buf(),
        detail: "unexpected columns: not a file written by barstore".into(),
    };
    if batch.num_columns() != 6 {
        return Err(bad().into());
    }
    let ts = batch
        .column(0)
        .as_any()
        .downcast_ref::<TimestampMillisecondArray>()
        .ok_or_else(bad)?;
    let f = |i: usize| {
        batch
            .column(i)
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(bad)
    };
    Ok((ts.values(), [f(1)?, f(2)?, f(3)?, f(4)?, f(5)?]))
}

/// Copies a float column into `dst`, turning nulls into `NaN`.
fn copy_floats(src: &Float64Array, dst: &mut [f64]) {
    dst.copy_from_slice(src.values());
    if let Some(nulls) = src.nulls() {
        for j in nulls.iter().enumerate().filter(|(_, v)| !v).map(|(j, _)| j) {
            dst[j] = f64::NAN;
        }
    }
}

/// Copies a batch of [`schema`] into output columns at row `at`.
fn copy_batch(
    batch: &RecordBatch,
    at: usize,
    ts: &mut [i64],
    cols: &mut [&mut [f64]; 5],
    path: &Path,
) -> Result<()> {
    let (times, values) = columns(batch, path)?;
    let n = times.len();
    ts[at..at + n].copy_from_slice(times);
    for (src, dst) in values.iter().zip(cols.iter_mut()) {
        copy_floats(src, &mut dst[at..at + n]);
    }
    Ok(())
}

/// Appends a batch of [`schema`] to `bars`.
fn append_batch(bars: &mut Bars, batch: &RecordBatch, path: &Path) -> Result<()> {
    let n = batch.num_rows();
    let at = bars.len();
    bars.ts.resize(at + n, 0);
    let mut ts = std::mem::take(&mut bars.ts);
    let mut cols = bars.values_mut().map(|c| {
        c.resize(at + n, 0.0);
        &mut c[..]
    });
    let result = copy_batch(batch, at, &mut ts, &mut cols, path);
    bars.ts = ts;
    result
}

/// The embedded Parquet store rooted at a directory.
#[derive(Debug)]
pub struct Embedded {
    root: PathBuf,
    lock: Mutex<Option<File>>,
    partitions: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Embedded {
    /// A store at `root` (created on the first load).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Embedded {
            root: root.into(),
            lock: Mutex::new(None),
            partitions: Mutex::new(HashMap::new()),
        }
    }

    /// The directory of the Parquet dataset (`<root>/bars`).
    pub fn dataset_dir(&self) -> PathBuf {
        self.root.join("bars")
    }

    fn meta_dir(&self) -> PathBuf {
        self.root.join("_barstore")
    }

    fn symbol_dir(&self, symbol: &str) -> Result<PathBuf> {
        symbol::validate(symbol)?;
        Ok(self.dataset_dir().join(format!("symbol={symbol}")))
    }

    fn series_dir(&self, series: &Series) -> Result<PathBuf> {
        Ok(self.symbol_dir(&series.symbol)?.join(format!(
            "timeframe={}/adjustment={}",
            series.timeframe, series.adjustment
        )))
    }

    /// The year files of a series, by year; for the 1min series with no adjustment also
    /// those of a store written before series existed.
    fn year_files(&self, series: &Series) -> Result<BTreeMap<i32, PathBuf>> {
        let mut out = years_in(&self.series_dir(series)?)?;
        if series.is_minute_unadjusted() {
            for (year, path) in years_in(&self.symbol_dir(&series.symbol)?)? {
                out.entry(year).or_insert(path);
            }
        }
        Ok(out)
    }

    /// Moves the year directories of a store written before series existed under
    /// `timeframe=1min/adjustment=none`, so that the dataset has one partition depth.
    fn move_legacy_years(&self) -> Result<()> {
        for (name, dir) in subdirs(&self.dataset_dir())? {
            let Some(symbol) = name.strip_prefix("symbol=") else {
                continue;
            };
            let target = self.series_dir(&Series::minute(symbol)?)?;
            for (year, from) in subdirs(&dir)? {
                if !year.starts_with("year=") {
                    continue;
                }
                let to = target.join(&year);
                if to.exists() {
                    return Err(StoreError::Unexpected {
                        path: from,
                        detail: format!(
                            "cannot move it to {}: that directory exists; move or remove one of them",
                            to.display()
                        ),
                    }
                    .into());
                }
                fs::create_dir_all(&target).map_err(|e| StoreError::io(&target, e))?;
                fs::rename(&from, &to).map_err(|e| StoreError::io(&from, e))?;
            }
        }
        Ok(())
    }

    fn partition_lock(&self, path: &Path) -> Arc<Mutex<()>> {
        let mut map = self.partitions.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(path.to_path_buf()).or_default().clone()
    }

    fn read_file(path: &Path, row_groups: Option<Vec<usize>>) -> Result<Bars> {
        let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
        let mut builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| StoreError::parquet(path, e))?
            .with_batch_size(64 * 1024);
        let rows = builder.metadata().file_metadata().num_rows() as usize;
        if let Some(rg) = row_groups {
            builder = builder.with_row_groups(rg);
        }
        let reader = builder.build().map_err(|e| StoreError::parquet(path, e))?;
        let mut bars = Bars::with_capacity(rows);
        for batch in reader {
            let batch = batch.map_err(|e| StoreError::Unexpected {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
            append_batch(&mut bars, &batch, path)?;
        }
        Ok(bars)
    }

    fn write_file(path: &Path, zone: &Zone, months: &BTreeMap<Month, Bars>) -> Result<()> {
        let dir = path.parent().expect("partition files live in a directory");
        fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let tmp = dir.join(format!(
            ".{DATA_FILE}.{}.{}.tmp",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let file = File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
            let mut writer = ArrowWriter::try_new(
                BufWriter::with_capacity(1 << 20, file),
                schema(),
                Some(writer_properties(zone)),
            )
            .map_err(|e| StoreError::parquet(&tmp, e))?;
            for bars in months.values().filter(|b| !b.is_empty()) {
                writer
                    .write(&to_batch(bars))
                    .map_err(|e| StoreError::parquet(&tmp, e))?;
                writer.flush().map_err(|e| StoreError::parquet(&tmp, e))?;
            }
            let file = writer
                .into_inner()
                .map_err(|e| StoreError::parquet(&tmp, e))?
                .into_inner()
                .map_err(|e| StoreError::io(&tmp, e.into_error()))?;
            file.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
            fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))?;
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| StoreError::io(dir, e))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        Ok(result?)
    }

    fn footer(path: &Path) -> Result<ParquetMetaData> {
        let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
        let reader = SerializedFileReader::new(file).map_err(|e| StoreError::parquet(path, e))?;
        Ok(reader.metadata().clone())
    }

    /// Removes temporary files left by an interrupted write.
    fn remove_debris(dir: &Path) -> Result<()> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StoreError::io(dir, e).into()),
        };
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(dir, e))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                Self::remove_debris(&path)?;
            } else if name.starts_with('.') && name.ends_with(".tmp") {
                fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
            }
        }
        Ok(())
    }
}

/// The subdirectories of `dir` with their names (none when it does not exist).
fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(dir, e).into()),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        if entry.path().is_dir() {
            out.push((
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            ));
        }
    }
    out.sort();
    Ok(out)
}

/// The `year=Y/data.parquet` files directly under `dir`, by year.
fn years_in(dir: &Path) -> Result<BTreeMap<i32, PathBuf>> {
    let mut out = BTreeMap::new();
    for (name, path) in subdirs(dir)? {
        if let Some(year) = name.strip_prefix("year=").and_then(|y| y.parse().ok()) {
            let file = path.join(DATA_FILE);
            if file.exists() {
                out.insert(year, file);
            }
        }
    }
    Ok(out)
}

fn writer_properties(zone: &Zone) -> WriterProperties {
    let ts = ColumnPath::from("timestamp");
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("valid level"),
        ))
        .set_max_row_group_row_count(None)
        .set_column_dictionary_enabled(ts.clone(), false)
        .set_column_encoding(ts, Encoding::DELTA_BINARY_PACKED)
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: 0,
            descending: false,
            nulls_first: false,
        }]))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            ZONE_KEY.to_string(),
            zone.name().to_string(),
        )]))
        .build()
}

fn ts_range(meta: &ParquetMetaData, rg: usize) -> Option<(i64, i64)> {
    match meta.row_group(rg).column(0).statistics()? {
        Statistics::Int64(s) => Some((*s.min_opt()?, *s.max_opt()?)),
        _ => None,
    }
}

fn zone_in(meta: &ParquetMetaData) -> Option<String> {
    meta.file_metadata()
        .key_value_metadata()?
        .iter()
        .find(|kv| kv.key == ZONE_KEY)?
        .value
        .clone()
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
        Self::remove_debris(&self.dataset_dir())?;
        self.move_legacy_years()?;
        *held = Some(file);
        Ok(())
    }

    fn zone_of(&self, series: &Series) -> Result<Option<String>> {
        match self.year_files(series)?.values().next() {
            Some(path) => Ok(zone_in(&Self::footer(path)?)),
            None => Ok(None),
        }
    }

    fn upsert(&self, series: &Series, zone: &Zone, months: Vec<MonthBars>) -> Result<()> {
        let dir = self.series_dir(series)?;
        let mut by_year: BTreeMap<i32, Vec<MonthBars>> = BTreeMap::new();
        for m in months {
            by_year.entry(m.month.year).or_default().push(m);
        }
        let work: Vec<(i32, Vec<MonthBars>)> = by_year.into_iter().collect();
        let write_year = |(year, incoming): &(i32, Vec<MonthBars>)| -> Result<()> {
            let path = dir.join(format!("year={year}")).join(DATA_FILE);
            let lock = self.partition_lock(&path);
            let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            let mut months: BTreeMap<Month, Bars> = BTreeMap::new();
            if path.exists() {
                let old = Self::read_file(&path, None)?;
                let mut z = zone.clone();
                for i in 0..old.len() {
                    let m = Month::of_local(z.utc_ms_to_local(old.ts[i]));
                    months.entry(m).or_default().push(old.row(i));
                }
            }
            for m in incoming {
                let merged = match months.get(&m.month) {
                    Some(old) => Bars::merge(old, &m.bars),
                    None => m.bars.clone(),
                };
                months.insert(m.month, merged);
            }
            Self::write_file(&path, zone, &months)
        };
        use rayon::prelude::*;
        work.par_iter().try_for_each(write_year)
    }

    fn scan(&self, series: &Series, start: i64, end: i64) -> Result<Bars> {
        use rayon::prelude::*;
        // Plan: every row group whose statistics overlap the range, with its place in
        // the output. Row groups decode in parallel straight into their slice of the
        // pre-sized output columns: one copy from the decoder, no concatenation.
        let mut units = Vec::new();
        let mut total = 0;
        for path in self.year_files(series)?.into_values() {
            let file = File::open(&path).map_err(|e| StoreError::io(&path, e))?;
            let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::default())
                .map_err(|e| StoreError::parquet(&path, e))?;
            for rg in 0..meta.metadata().num_row_groups() {
                let overlaps =
                    ts_range(meta.metadata(), rg).is_none_or(|(lo, hi)| hi >= start && lo <= end);
                if overlaps {
                    let rows = meta.metadata().row_group(rg).num_rows() as usize;
                    units.push((path.clone(), meta.clone(), rg, rows));
                    total += rows;
                }
            }
        }
        let mut out = Bars {
            ts: vec![0; total],
            open: vec![0.0; total],
            high: vec![0.0; total],
            low: vec![0.0; total],
            close: vec![0.0; total],
            volume: vec![0.0; total],
        };
        let mut slices = Vec::with_capacity(units.len());
        let (mut ts, mut o, mut h, mut l, mut c, mut v) = (
            &mut out.ts[..],
            &mut out.open[..],
            &mut out.high[..],
            &mut out.low[..],
            &mut out.close[..],
            &mut out.volume[..],
        );
        for unit in &units {
            let n = unit.3;
            let (a, rest) = ts.split_at_mut(n);
            ts = rest;
            let mut cols: [&mut [f64]; 5] = [&mut [], &mut [], &mut [], &mut [], &mut []];
            for (slot, col) in cols
                .iter_mut()
                .zip([&mut o, &mut h, &mut l, &mut c, &mut v])
            {
                let (head, rest) = std::mem::take(col).split_at_mut(n);
                *slot = head;
                *col = rest;
            }
            slices.push((unit, a, cols));
        }
        slices
            .into_par_iter()
            .try_for_each(|((path, meta, rg, rows), ts, mut cols)| {
                let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
                let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone())
                    .with_row_groups(vec![*rg])
                    .with_batch_size(*rows)
                    .build()
                    .map_err(|e| StoreError::parquet(path, e))?;
                let mut at = 0;
                for batch in reader {
                    let batch = batch.map_err(|e| StoreError::Unexpected {
                        path: path.to_path_buf(),
                        detail: e.to_string(),
                    })?;
                    copy_batch(&batch, at, ts, &mut cols, path)?;
                    at += batch.num_rows();
                }
                Ok::<(), crate::Error>(())
            })?;
        let r = out.range(start, end);
        Ok(if r.len() == out.len() {
            out
        } else {
            out.slice(r)
        })
    }

    fn months(&self, series: &Series) -> Result<Vec<Month>> {
        let mut months = Vec::new();
        for path in self.year_files(series)?.values() {
            let meta = Self::footer(path)?;
            let mut zone = Zone::new(&zone_in(&meta).unwrap_or_else(|| "UTC".into()))?;
            for rg in 0..meta.num_row_groups() {
                if let Some((lo, _)) = ts_range(&meta, rg) {
                    months.push(Month::of_local(zone.utc_ms_to_local(lo)));
                }
            }
        }
        months.sort();
        months.dedup();
        Ok(months)
    }

    fn series_of(&self, symbol: &str) -> Result<Vec<Series>> {
        let dir = self.symbol_dir(symbol)?;
        let mut out = Vec::new();
        if !years_in(&dir)?.is_empty() {
            out.push(Series::minute(symbol)?);
        }
        for (tf_name, tf_dir) in subdirs(&dir)? {
            let Some(Ok(timeframe)) = tf_name.strip_prefix("timeframe=").map(str::parse) else {
                continue;
            };
            for (adj_name, adj_dir) in subdirs(&tf_dir)? {
                let Some(Ok(adjustment)) = adj_name.strip_prefix("adjustment=").map(str::parse)
                else {
                    continue;
                };
                if !years_in(&adj_dir)?.is_empty() {
                    out.push(Series::new(symbol, timeframe, adjustment)?);
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn series(&self) -> Result<Vec<SeriesInfo>> {
        let mut out = Vec::new();
        for (name, _) in subdirs(&self.dataset_dir())? {
            let Some(symbol) = name.strip_prefix("symbol=") else {
                continue;
            };
            if symbol::validate(symbol).is_err() {
                continue;
            }
            for series in self.series_of(symbol)? {
                let mut info = SeriesInfo {
                    series: series.clone(),
                    rows: 0,
                    first: i64::MAX,
                    last: i64::MIN,
                    zone: String::new(),
                };
                for path in self.year_files(&series)?.values() {
                    let meta = Self::footer(path)?;
                    info.rows += meta.file_metadata().num_rows() as u64;
                    for rg in 0..meta.num_row_groups() {
                        if let Some((lo, hi)) = ts_range(&meta, rg) {
                            info.first = info.first.min(lo);
                            info.last = info.last.max(hi);
                        }
                    }
                    if info.zone.is_empty() {
                        info.zone = zone_in(&meta).unwrap_or_default();
                    }
                }
                if info.rows > 0 {
                    out.push(info);
                }
            }
        }
        Ok(out)
    }

    fn manifest(&self) -> Result<HashMap<String, ManifestEntry>> {
        let path = self.meta_dir().join("manifest.jsonl");
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
            Err(e) => return Err(StoreError::io(&path, e).into()),
        };
        let mut out = HashMap::new();
        for line in BufReader::new(file).lines() {
            let line = line.map_err(|e| StoreError::io(&path, e))?;
            // A line torn by a crash does not parse: that file simply loads again.
            if let Ok(entry) = serde_json::from_str::<ManifestEntry>(&line) {
                out.insert(entry.source.clone(), entry);
            }
        }
        Ok(out)
    }

    fn record(&self, entry: &ManifestEntry) -> Result<()> {
        let path = self.meta_dir().join("manifest.jsonl");
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        // After a crash mid-line, start on a fresh line so this entry stays readable.
        let mut last = [b'\n'];
        if file.metadata().map_err(|e| StoreError::io(&path, e))?.len() > 0 {
            file.seek(SeekFrom::End(-1))
                .and_then(|_| file.read_exact(&mut last))
                .map_err(|e| StoreError::io(&path, e))?;
        }
        let torn = last[0] != b'\n';
        let mut line = if torn {
            "\n".to_string()
        } else {
            String::new()
        };
        line.push_str(&serde_json::to_string(entry).expect("manifest entries serialise"));
        line.push('\n');
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| StoreError::io(&path, e).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::days_from_civil;

    fn zone() -> Zone {
        Zone::new("America/New_York").unwrap()
    }

    fn minute(symbol: &str) -> Series {
        Series::minute(symbol).unwrap()
    }

    /// Bars every `step` minutes from a New York local date, `n` of them, price `p`.
    fn month_bars(y: i64, m: u32, n: usize, p: f64) -> MonthBars {
        let mut z = zone();
        let start = days_from_civil(y, m, 1) * 86_400 + 9 * 3600 + 30 * 60;
        let mut bars = Bars::default();
        for i in 0..n {
            bars.push((
                z.local_to_utc_ms(start + i as i64 * 60).unwrap(),
                [p, p + 1.0, p - 1.0, p, i as f64],
            ));
        }
        MonthBars {
            month: Month {
                year: y as i32,
                month: m,
            },
            bars,
        }
    }

    #[test]
    fn upsert_is_idempotent_and_overlaps_replace() {
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::new(dir.path());
        store.begin_load().unwrap();
        let jan = month_bars(2024, 1, 100, 10.0);
        let dec = month_bars(2023, 12, 50, 20.0);
        store
            .upsert(&minute("AAPL"), &zone(), vec![jan.clone(), dec.clone()])
            .unwrap();
        store
            .upsert(&minute("AAPL"), &zone(), vec![jan.clone(), dec.clone()])
            .unwrap();
        let all = store.scan(&minute("AAPL"), i64::MIN, i64::MAX).unwrap();
        assert_eq!(all, Bars::merge(&dec.bars, &jan.bars));

        // an overlapping reload of 20 bars with new prices replaces just those bars
        let mut newer = month_bars(2024, 1, 120, 30.0);
        newer.bars = newer.bars.slice(90..120);
        store
            .upsert(&minute("AAPL"), &zone(), vec![newer.clone()])
            .unwrap();
        let jan_now = store
            .scan(&minute("AAPL"), jan.bars.ts[0], i64::MAX)
            .unwrap();
        assert_eq!(jan_now.len(), 120);
        assert_eq!(jan_now, Bars::merge(&jan.bars, &newer.bars));

        let info = store.series().unwrap();
        assert_eq!(info.len(), 1);
        assert_eq!(info[0].series, minute("AAPL"));
        assert_eq!(info[0].rows, 170);
        assert_eq!(info[0].first, dec.bars.ts[0]);
        assert_eq!(info[0].last, newer.bars.ts[29]);
        assert_eq!(info[0].zone, "America/New_York");
        assert_eq!(
            store.zone_of(&minute("AAPL")).unwrap().as_deref(),
            Some("America/New_York")
        );
        assert_eq!(store.zone_of(&minute("MSFT")).unwrap(), None);
    }

    #[test]
    fn one_row_group_per_month_with_statistics() {
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::new(dir.path());
        store.begin_load().unwrap();
        let months: Vec<_> = (1..=3).map(|m| month_bars(2024, m, 10, 5.0)).collect();
        store
            .upsert(&minute("SPY"), &zone(), months.clone())
            .unwrap();
        let path = dir
            .path()
            .join("bars/symbol=SPY/timeframe=1min/adjustment=none/year=2024/data.parquet");
        let meta = Embedded::footer(&path).unwrap();
        assert_eq!(meta.num_row_groups(), 3);
        for (rg, m) in months.iter().enumerate() {
            assert_eq!(ts_range(&meta, rg), Some((m.bars.ts[0], m.bars.ts[9])));
        }
        // a range inside February reads only February's bars
        let feb = store
            .scan(&minute("SPY"), months[1].bars.ts[2], months[1].bars.ts[4])
            .unwrap();
        assert_eq!(feb, months[1].bars.slice(2..5));
    }

    #[test]
    fn missing_volume_round_trips_as_null() {
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::new(dir.path());
        store.begin_load().unwrap();
        let mut m = month_bars(2024, 5, 3, 5.0);
        m.bars.volume[1] = f64::NAN;
        store
            .upsert(&minute("IDX"), &zone(), vec![m.clone()])
            .unwrap();
        assert_eq!(
            store.scan(&minute("IDX"), i64::MIN, i64::MAX).unwrap(),
            m.bars
        );
    }

    #[test]
    fn a_second_writer_is_refused_and_debris_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::new(dir.path());
        store.begin_load().unwrap();
        store
            .upsert(&minute("SPY"), &zone(), vec![month_bars(2024, 1, 5, 5.0)])
            .unwrap();
        let debris = dir
            .path()
            .join("bars/symbol=SPY/timeframe=1min/adjustment=none/year=2024/.data.parquet.1.1.tmp");
        fs::write(&debris, b"torn").unwrap();
        let err = Embedded::new(dir.path())
            .begin_load()
            .unwrap_err()
            .to_string();
        assert!(err.contains("another barstore process"), "{err}");
        store.begin_load().unwrap();
        drop(store);
        Embedded::new(dir.path()).begin_load().unwrap();
        assert!(!debris.exists());
    }

    #[test]
    fn hostile_symbols_never_reach_the_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::new(dir.path().join("store"));
        store.begin_load().unwrap();
        for bad in ["../escape", "a/b", ".."] {
            let err = Series::minute(bad).unwrap_err();
            assert_eq!(err.option, "symbol", "{bad}: {err}");
            let forged = Series {
                symbol: bad.to_string(),
                ..minute("A")
            };
            let err = store
                .upsert(&forged, &zone(), vec![month_bars(2024, 1, 1, 1.0)])
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    crate::Error::Option(crate::OptionError {
                        option: "symbol",
                        ..
                    })
                ),
                "{bad}: {err}"
            );
            assert!(store.scan(&forged, 0, 1).is_err());
            assert!(store.series_of(bad).is_err());
        }
        assert!(!dir.path().join("escape").exists());
    }

    #[test]
    fn manifest_survives_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::new(dir.path());
        store.begin_load().unwrap();
        let entry = ManifestEntry {
            source: "/data/AAPL.txt".into(),
            size: 10,
            mtime_ns: 5,
            hash: "ab".into(),
            rows: 2,
            symbol: "AAPL".into(),
            timeframe: "1min".into(),
            adjustment: "none".into(),
        };
        store.record(&entry).unwrap();
        let path = dir.path().join("_barstore/manifest.jsonl");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"source\":\"/data/MS").unwrap();
        let m = store.manifest().unwrap();
        assert_eq!(m.len(), 1);
        let second = ManifestEntry {
            source: "/data/MSFT.txt".into(),
            ..entry.clone()
        };
        store.record(&second).unwrap();
        assert_eq!(store.manifest().unwrap()["/data/MSFT.txt"], second);
        assert_eq!(m["/data/AAPL.txt"], entry);
    }
}
