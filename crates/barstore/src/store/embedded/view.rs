//! A store pinned to one committed version: what every read of the embedded store
//! reads from, so that it sees that version's files from start to end.

use super::actions;
use super::scan::{self, Footers};
use super::state::State;
use crate::actions::Action;
use crate::bars::Bars;
use crate::bucket::Month;
use crate::error::{Result, StoreError};
use crate::series::Series;
use crate::store::{AsOf, ManifestEntry, MonthBars, SeriesInfo, Store};
use crate::symbol;
use crate::zone::Zone;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// One version of an embedded store, read-only.
#[derive(Debug)]
pub struct View {
    location: String,
    state: Arc<State>,
    footers: Arc<Footers>,
    actions: PathBuf,
    /// For a read of an older version or a snapshot: its commit time (UTC ms), whose
    /// knowledge of corporate actions the read sees.
    known_at: Option<i64>,
}

impl View {
    pub(super) fn new(
        location: String,
        state: Arc<State>,
        footers: Arc<Footers>,
        actions: PathBuf,
        known_at: Option<i64>,
    ) -> Self {
        View {
            location,
            state,
            footers,
            actions,
            known_at,
        }
    }

    /// The version (-1 for a store with no table yet).
    pub fn version(&self) -> i64 {
        self.state.version
    }

    /// When that version was committed, UTC ms.
    pub fn committed(&self) -> i64 {
        self.state.timestamp
    }

    fn files(&self, series: &Series) -> Vec<super::state::FileMeta> {
        self.state
            .years(series)
            .flat_map(|(_, f)| f.to_vec())
            .collect()
    }

    fn read_only(&self) -> crate::Error {
        StoreError::NoVersion {
            location: self.location.clone(),
            detail: format!("version {} is read-only", self.state.version),
        }
        .into()
    }
}

impl Store for View {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn begin_load(&self) -> Result<()> {
        Err(self.read_only())
    }

    fn zone_of(&self, series: &Series) -> Result<Option<String>> {
        symbol::validate(&series.symbol)?;
        if self.state.years(series).next().is_none() {
            return Ok(None);
        }
        Ok(self.state.zones.get(series).cloned())
    }

    fn upsert(&self, _: &Series, _: &Zone, _: Vec<MonthBars>) -> Result<()> {
        Err(self.read_only())
    }

    fn scan(&self, series: &Series, start: i64, end: i64) -> Result<Bars> {
        symbol::validate(&series.symbol)?;
        scan::scan(&self.footers, &self.files(series), start, end)
    }

    fn months(&self, series: &Series) -> Result<Vec<Month>> {
        match self.zone_of(series)? {
            Some(zone) => scan::months(&self.footers, &self.files(series), &zone),
            None => Ok(Vec::new()),
        }
    }

    fn series_of(&self, symbol: &str) -> Result<Vec<Series>> {
        symbol::validate(symbol)?;
        Ok(self.state.series_of(symbol))
    }

    fn series(&self) -> Result<Vec<SeriesInfo>> {
        Ok(self.state.listing())
    }

    fn manifest(&self, _: &[String]) -> Result<HashMap<String, ManifestEntry>> {
        Err(self.read_only())
    }

    fn record(&self, _: &[ManifestEntry]) -> Result<()> {
        Err(self.read_only())
    }

    fn actions(&self, symbol: Option<&str>) -> Result<Vec<Action>> {
        let mut all = actions::read(&self.actions, symbol)?;
        if let Some(t) = self.known_at {
            // exactly what the store held then: the versions recorded by its commit, of
            // actions in effect by its day
            let day = t.div_euclid(crate::zone::DAY * 1000);
            all.retain(|a| a.recorded <= t && a.ex_date <= day);
        }
        Ok(all)
    }

    fn put_actions(&self, _: &[Action]) -> Result<()> {
        Err(self.read_only())
    }

    fn view(&self, as_of: Option<&AsOf>) -> Result<Option<Arc<dyn Store>>> {
        match as_of {
            None => Ok(None),
            Some(_) => Err(self.read_only()),
        }
    }
}
