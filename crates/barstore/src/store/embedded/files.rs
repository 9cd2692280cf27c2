//! Where the embedded store keeps things: the dataset's directories by symbol, series
//! and year, the files of a year, and the debris of interrupted writes.

use super::*;

/// A year directory opened: its files, its base's footer and the parts it lacks.
pub(super) struct Year {
    pub(super) files: YearFiles,
    pub(super) base: Option<Footer>,
    pub(super) merged: u64,
}

impl Year {
    pub(super) fn open(dir: &Path) -> Result<Self> {
        let files = parts::list(dir)?;
        let base = files.base.as_deref().map(Footer::load).transpose()?;
        let merged = base.as_ref().map_or(0, Footer::merged);
        Ok(Year {
            files,
            base,
            merged,
        })
    }

    pub(super) fn live(&self) -> impl Iterator<Item = &Part> {
        self.files.live(self.merged)
    }

    /// The last stored instant of the year, `None` when it holds nothing.
    pub(super) fn last(&self) -> Option<i64> {
        let base = self
            .base
            .iter()
            .flat_map(|f| f.ranges().filter_map(|(_, r)| r.map(|r| r.1)));
        base.chain(self.live().map(|p| p.last)).max()
    }
}

/// The UTC instants a year directory's bars may lie in: its exchange-local dates, one
/// day wider on each side for any zone.
pub(super) fn year_bounds(year: i32) -> (i64, i64) {
    let ms = |y: i32| days_from_civil(y as i64, 1, 1) * DAY * 1000;
    (ms(year) - DAY * 1000, ms(year + 1) + DAY * 1000)
}

/// The entries of `dir` (none when it does not exist).
pub(super) fn entries(dir: &Path) -> Result<Vec<fs::DirEntry>> {
    match fs::read_dir(dir) {
        Ok(it) => Ok(it
            .collect::<std::io::Result<_>>()
            .map_err(|e| StoreError::io(dir, e))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StoreError::io(dir, e).into()),
    }
}

/// The subdirectories of `dir` with their names (none when it does not exist).
pub(super) fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in entries(dir)? {
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

/// The `year=Y` directories directly under `dir`, by year.
pub(super) fn years_in(dir: &Path) -> Result<BTreeMap<i32, PathBuf>> {
    let mut out = BTreeMap::new();
    for (name, path) in subdirs(dir)? {
        if let Some(year) = name.strip_prefix("year=").and_then(|y| y.parse().ok()) {
            out.insert(year, path);
        }
    }
    Ok(out)
}

/// True when some `year=Y` directory under `dir` holds a data file.
pub(super) fn holds_data(dir: &Path) -> Result<bool> {
    for year in years_in(dir)?.values() {
        if !parts::list(year)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Removes temporary files left by an interrupted write.
pub(super) fn remove_debris(dir: &Path) -> Result<()> {
    for entry in entries(dir)? {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            remove_debris(&path)?;
        } else if name.starts_with('.') && name.ends_with(".tmp") {
            fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
        }
    }
    Ok(())
}

impl Embedded {
    pub(super) fn meta_dir(&self) -> PathBuf {
        self.root.join("_barstore")
    }

    /// The corporate actions, every version: a Parquet file beside the dataset.
    pub(super) fn actions_path(&self) -> PathBuf {
        self.root.join("actions").join("actions.parquet")
    }

    pub(super) fn symbol_dir(&self, symbol: &str) -> Result<PathBuf> {
        symbol::validate(symbol)?;
        Ok(self.dataset_dir().join(format!("symbol={symbol}")))
    }

    pub(super) fn series_dir(&self, series: &Series) -> Result<PathBuf> {
        Ok(self.symbol_dir(&series.symbol)?.join(format!(
            "timeframe={}/adjustment={}",
            series.timeframe, series.adjustment
        )))
    }

    /// The year directories of a series, by year; for the 1min series with no
    /// adjustment also those of a store written before series existed.
    pub(super) fn year_dirs(&self, series: &Series) -> Result<BTreeMap<i32, PathBuf>> {
        let mut out = years_in(&self.series_dir(series)?)?;
        if series.is_minute_unadjusted() {
            for (year, path) in years_in(&self.symbol_dir(&series.symbol)?)? {
                out.entry(year).or_insert(path);
            }
        }
        Ok(out)
    }
}
