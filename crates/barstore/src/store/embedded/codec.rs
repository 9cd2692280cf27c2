//! The Parquet files of the embedded store: their schema, how bars go in and out of
//! them, the footer barstore reads its statistics and zone from, and atomic replacement.

use crate::bars::Bars;
use crate::bucket::Month;
use crate::error::{Result, StoreError};
use crate::zone::Zone;
use arrow::array::{Array, Float64Array, RecordBatch, TimestampMillisecondArray};
use arrow::datatypes::SchemaRef;
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
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Parquet key-value metadata key holding the symbol's exchange time zone.
pub(super) const ZONE_KEY: &str = "barstore.zone";

/// Rows per data page at most.
pub(super) const PAGE_ROWS: usize = 1024;

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
pub(super) fn columns<'a>(
    batch: &'a RecordBatch,
    path: &Path,
) -> Result<(&'a [i64], [&'a Float64Array; 5])> {
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
pub(super) fn copy_floats(src: &Float64Array, dst: &mut [f64]) {
    dst.copy_from_slice(src.values());
    if let Some(nulls) = src.nulls() {
        for j in nulls.iter().enumerate().filter(|(_, v)| !v).map(|(j, _)| j) {
            dst[j] = f64::NAN;
        }
    }
}

/// Copies a batch of [`schema`] into output columns at row `at`.
pub(super) fn copy_batch(
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
pub(super) fn append_batch(bars: &mut Bars, batch: &RecordBatch, path: &Path) -> Result<()> {
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

pub(super) static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The parquet footer of a file with what barstore keeps in it.
#[derive(Debug)]
pub(super) struct Footer {
    pub(super) meta: ArrowReaderMetadata,
}

impl Footer {
    pub(super) fn load(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let meta =
            ArrowReaderMetadata::load(&file, options).map_err(|e| StoreError::parquet(path, e))?;
        Ok(Footer { meta })
    }

    pub(super) fn parquet(&self) -> &ParquetMetaData {
        self.meta.metadata()
    }

    pub(super) fn value(&self, key: &str) -> Option<String> {
        self.parquet()
            .file_metadata()
            .key_value_metadata()?
            .iter()
            .find(|kv| kv.key == key)?
            .value
            .clone()
    }

    pub(super) fn zone(&self) -> Option<String> {
        self.value(ZONE_KEY)
    }

    pub(super) fn rows(&self) -> u64 {
        self.parquet().file_metadata().num_rows() as u64
    }

    /// The rows of row group `rg` in pages whose instants may lie in `start..=end`, by
    /// the page index, with their count; `None`: every row (a file without one).
    pub(super) fn pages(&self, rg: usize, start: i64, end: i64) -> Option<(RowSelection, usize)> {
        let meta = self.parquet();
        let ColumnIndexMetaData::INT64(index) = meta.column_index()?.get(rg)?.first()? else {
            return None;
        };
        let pages = meta.offset_index()?.get(rg)?.first()?.page_locations();
        let rows = meta.row_group(rg).num_rows() as usize;
        let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
        for (p, page) in pages.iter().enumerate() {
            let (lo, hi) = (index.min_value(p)?, index.max_value(p)?);
            if *hi < start || *lo > end {
                continue;
            }
            let first = page.first_row_index as usize;
            let next = pages
                .get(p + 1)
                .map_or(rows, |n| n.first_row_index as usize);
            match ranges.last_mut() {
                Some(last) if last.end == first => last.end = next,
                _ => ranges.push(first..next),
            }
        }
        let selected = ranges.iter().map(|r| r.len()).sum();
        Some((
            RowSelection::from_consecutive_ranges(ranges.into_iter(), rows),
            selected,
        ))
    }

    /// First and last instant of each row group.
    pub(super) fn ranges(&self) -> impl Iterator<Item = (usize, Option<(i64, i64)>)> + '_ {
        (0..self.parquet().num_row_groups()).map(|rg| (rg, ts_range(self.parquet(), rg)))
    }
}

/// Replaces `path` whole: `write` fills a temporary file beside it (and hands the file
/// back), which is fsynced and renamed over `path`, so a crash leaves either the old
/// file or the new one. Temporary names start with `.`, which dataset readers skip.
pub(super) fn replace_file(
    path: &Path,
    write: impl FnOnce(File, &Path) -> Result<File>,
) -> Result<()> {
    let dir = path.parent().expect("store files live in a directory");
    fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    let name = path.file_name().expect("a file").to_string_lossy();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let file = File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        let file = write(file, &tmp)?;
        file.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::io(dir, e).into())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

pub(super) fn writer_properties(zone: &Zone) -> WriterProperties {
    let ts = ColumnPath::from("timestamp");
    let kv = vec![KeyValue::new(ZONE_KEY.to_string(), zone.name().to_string())];
    WriterProperties::builder()
        // LZ4, not zstd: the parquet crate sets up a zstd compression and decompression
        // context for each column chunk it reads, a third of the time of one day read of
        // 2,000 symbols (measured: 0.33 s with zstd, 0.19 s with LZ4; 13 and 20 B/bar)
        .set_compression(Compression::LZ4_RAW)
        .set_max_row_group_row_count(None)
        // pages of about a trading day (the write batch is 1024 rows): a day's read
        // decodes a page of each column, not its month
        .set_data_page_row_count_limit(PAGE_ROWS)
        // a month's dictionary page would be decoded for any day of it
        .set_dictionary_enabled(false)
        .set_column_encoding(ts, Encoding::DELTA_BINARY_PACKED)
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: 0,
            descending: false,
            nulls_first: false,
        }]))
        .set_key_value_metadata(Some(kv))
        .build()
}

pub(super) fn ts_range(meta: &ParquetMetaData, rg: usize) -> Option<(i64, i64)> {
    match meta.row_group(rg).column(0).statistics()? {
        Statistics::Int64(s) => Some((*s.min_opt()?, *s.max_opt()?)),
        _ => None,
    }
}

pub(super) fn read_file(path: &Path) -> Result<Bars> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| StoreError::parquet(path, e))?
        .with_batch_size(64 * 1024);
    let rows = builder.metadata().file_metadata().num_rows() as usize;
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

/// Writes `months` to the new file `path`, durably (file and directory synced: a
/// commit that names it must find it after a crash); returns its size.
pub(super) fn write_file(path: &Path, zone: &Zone, months: &BTreeMap<Month, Bars>) -> Result<i64> {
    let dir = path.parent().expect("store files live in a directory");
    fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    let result = (|| {
        let file = File::create_new(path).map_err(|e| StoreError::io(path, e))?;
        let mut writer = ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 20, file),
            schema(),
            Some(writer_properties(zone)),
        )
        .map_err(|e| StoreError::parquet(path, e))?;
        for bars in months.values().filter(|b| !b.is_empty()) {
            writer
                .write(&to_batch(bars))
                .map_err(|e| StoreError::parquet(path, e))?;
            writer.flush().map_err(|e| StoreError::parquet(path, e))?;
        }
        let file = writer
            .into_inner()
            .map_err(|e| StoreError::parquet(path, e))?
            .into_inner()
            .map_err(|e| StoreError::io(path, e.into_error()))?;
        file.sync_all().map_err(|e| StoreError::io(path, e))?;
        let size = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::io(dir, e))?;
        Ok(size as i64)
    })();
    if result.is_err() {
        let _ = fs::remove_file(path);
    }
    result
}
