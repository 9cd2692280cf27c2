//! What the embedded store holds, series by series: from the series index, or from the
//! data files when the index is missing or rebuilt.

use super::*;

impl Embedded {
    /// What the files of a series hold: counts, first and last bar, zone (`None` when
    /// it has no bars).
    pub(super) fn info_from_files(&self, series: &Series) -> Result<Option<SeriesInfo>> {
        let mut info = SeriesInfo {
            series: series.clone(),
            rows: 0,
            first: i64::MAX,
            last: i64::MIN,
            zone: String::new(),
        };
        for dir in self.year_dirs(series)?.values() {
            let year = Year::open(dir)?;
            let mut footers: Vec<Footer> = year.base.into_iter().collect();
            for part in year.files.live(year.merged) {
                footers.push(Footer::load(&part.path)?);
            }
            for footer in &footers {
                info.rows += footer.rows();
                for (lo, hi) in footer.ranges().filter_map(|(_, r)| r) {
                    info.first = info.first.min(lo);
                    info.last = info.last.max(hi);
                }
                if info.zone.is_empty() {
                    info.zone = footer.zone().unwrap_or_default();
                }
            }
        }
        Ok((info.rows > 0).then_some(info))
    }

    /// The series of `symbol` as its directories hold them.
    pub(super) fn series_in_files(&self, symbol: &str) -> Result<Vec<Series>> {
        let dir = self.symbol_dir(symbol)?;
        let mut out = Vec::new();
        if holds_data(&dir)? {
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
                if holds_data(&adj_dir)? {
                    out.push(Series::new(symbol, timeframe, adjustment)?);
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Every series the data files hold, read from their footers.
    pub(super) fn listing_from_files(&self) -> Result<Listing> {
        let mut out = Listing::new();
        for (name, _) in subdirs(&self.dataset_dir())? {
            let Some(symbol) = name.strip_prefix("symbol=") else {
                continue;
            };
            if symbol::validate(symbol).is_err() {
                continue;
            }
            let mut infos = Vec::new();
            for series in self.series_in_files(symbol)? {
                infos.extend(self.info_from_files(&series)?);
            }
            if !infos.is_empty() {
                out.insert(symbol.to_string(), infos);
            }
        }
        Ok(out)
    }

    /// The series listing: the index's, or for a store without one, the files'.
    pub(super) fn listing(&self) -> Result<Arc<Listing>> {
        match self.index.listing()? {
            Some(listing) => Ok(listing),
            None => Ok(Arc::new(self.listing_from_files()?)),
        }
    }

    pub(super) fn info_of(&self, series: &Series) -> Result<Option<SeriesInfo>> {
        symbol::validate(&series.symbol)?;
        Ok(self
            .listing()?
            .get(&series.symbol)
            .and_then(|list| list.iter().find(|i| &i.series == series))
            .cloned())
    }
}
