//! Reading a series' bars in a time range from the files of one version: the row
//! groups and pages whose statistics overlap it, decoded in parallel into their place
//! in the output.

use super::codec::{copy_batch, Footer};
use super::state::FileMeta;
use crate::bars::Bars;
use crate::bucket::Month;
use crate::error::{Result, StoreError};
use crate::zone::Zone;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Footers most recently read, by file. Data files never change once written, so a
/// footer read once serves every later read of its file.
#[derive(Debug, Default)]
pub(super) struct Footers {
    map: Mutex<HashMap<PathBuf, Arc<Footer>>>,
}

/// Footers kept at most; past that the cache starts again.
const MAX_FOOTERS: usize = 50_000;

impl Footers {
    pub(super) fn get(&self, path: &Path) -> Result<Arc<Footer>> {
        if let Some(f) = super::lock(&self.map).get(path) {
            return Ok(f.clone());
        }
        let footer = Arc::new(Footer::load(path)?);
        let mut map = super::lock(&self.map);
        if map.len() >= MAX_FOOTERS {
            map.clear();
        }
        map.insert(path.to_path_buf(), footer.clone());
        Ok(footer)
    }
}

/// The bars with `start <= ts <= end` of `files` (a series' files in time order).
pub(super) fn scan(footers: &Footers, files: &[FileMeta], start: i64, end: i64) -> Result<Bars> {
    use rayon::prelude::*;
    // Plan: every row group whose statistics overlap the range, with its place in the
    // output. Row groups decode in parallel straight into their slice of the pre-sized
    // output columns: one copy from the decoder, no concatenation.
    let mut units = Vec::new();
    let mut total = 0;
    for file in files.iter().filter(|f| f.last >= start && f.first <= end) {
        let footer = footers.get(&file.path)?;
        for (rg, range) in footer.ranges() {
            if range.is_none_or(|(lo, hi)| hi >= start && lo <= end) {
                let (selection, rows) = match footer.pages(rg, start, end) {
                    Some((selection, rows)) => (Some(selection), rows),
                    None => (None, footer.parquet().row_group(rg).num_rows() as usize),
                };
                units.push((file.path.clone(), footer.meta.clone(), rg, selection, rows));
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
        let n = unit.4;
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
        .try_for_each(|((path, meta, rg, selection, rows), ts, mut cols)| {
            let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
            let mut builder =
                ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone())
                    .with_row_groups(vec![*rg])
                    .with_batch_size((*rows).max(1));
            if let Some(selection) = selection {
                builder = builder.with_row_selection(selection.clone());
            }
            let reader = builder.build().map_err(|e| StoreError::parquet(path, e))?;
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

/// The months holding bars in `files`, sorted.
pub(super) fn months(footers: &Footers, files: &[FileMeta], zone: &str) -> Result<Vec<Month>> {
    let mut zone = Zone::new(zone)?;
    let mut months = Vec::new();
    for file in files {
        let footer = footers.get(&file.path)?;
        for (lo, _) in footer.ranges().filter_map(|(_, r)| r) {
            months.push(Month::of_local(zone.utc_ms_to_local(lo)));
        }
    }
    months.sort();
    months.dedup();
    Ok(months)
}
