//! Reading a series' bars in a time range: the row groups and pages whose statistics
//! overlap it, decoded in parallel into their place in the output.

use super::*;

impl Embedded {
    pub(super) fn scan_series(&self, series: &Series, start: i64, end: i64) -> Result<Bars> {
        use rayon::prelude::*;
        // Plan: every row group whose statistics overlap the range, with its place in
        // the output. Row groups decode in parallel straight into their slice of the
        // pre-sized output columns: one copy from the decoder, no concatenation.
        let mut units = Vec::new();
        let mut total = 0;
        let mut add = |path: &Path, footer: Footer| {
            for (rg, range) in footer.ranges() {
                if range.is_none_or(|(lo, hi)| hi >= start && lo <= end) {
                    let (selection, rows) = match footer.pages(rg, start, end) {
                        Some((selection, rows)) => (Some(selection), rows),
                        None => (None, footer.parquet().row_group(rg).num_rows() as usize),
                    };
                    units.push((path.to_path_buf(), footer.meta.clone(), rg, selection, rows));
                    total += rows;
                }
            }
        };
        for (year, dir) in self.year_dirs(series)? {
            let (lo, hi) = year_bounds(year);
            if hi < start || lo > end {
                continue;
            }
            let Year {
                files,
                base,
                merged,
            } = Year::open(&dir)?;
            if let (Some(path), Some(footer)) = (&files.base, base) {
                add(path, footer);
            }
            for part in files.live(merged) {
                if part.last >= start && part.first <= end {
                    add(&part.path, Footer::load(&part.path)?);
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
        slices.into_par_iter().try_for_each(
            |((path, meta, rg, selection, rows), ts, mut cols)| {
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
            },
        )?;
        let r = out.range(start, end);
        Ok(if r.len() == out.len() {
            out
        } else {
            out.slice(r)
        })
    }

    pub(super) fn months_of(&self, series: &Series) -> Result<Vec<Month>> {
        let Some(zone) = self.zone_of(series)? else {
            return Ok(Vec::new());
        };
        let mut zone = Zone::new(&zone)?;
        let mut months = Vec::new();
        for dir in self.year_dirs(series)?.values() {
            let year = Year::open(dir)?;
            let mut footers: Vec<Footer> = Vec::new();
            for part in year.live() {
                footers.push(Footer::load(&part.path)?);
            }
            footers.extend(year.base);
            for footer in &footers {
                for (lo, _) in footer.ranges().filter_map(|(_, r)| r) {
                    months.push(Month::of_local(zone.utc_ms_to_local(lo)));
                }
            }
        }
        months.sort();
        months.dedup();
        Ok(months)
    }
}
