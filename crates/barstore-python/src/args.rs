//! What Python passes: the read's slice and the inputs' options, as dicts whose `None`
//! values leave the library's defaults.

use barstore::settings::{InputChoices, ReadChoices};
use pyo3::prelude::*;

/// What to read of a symbol, as `Store.read` takes it (`check` uses the range and the
/// series). `None` leaves the library's default.
#[derive(Clone, FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct Slice {
    start: Option<String>,
    end: Option<String>,
    session: Option<String>,
    round: Option<u32>,
    resample: Option<String>,
    pub(crate) tz: Option<String>,
    timeframe: Option<String>,
    adjustment: Option<String>,
    calendar: Option<String>,
    adjust: Option<String>,
    as_of: Option<String>,
}

impl Slice {
    pub(crate) fn choices(self, symbol: String) -> ReadChoices {
        ReadChoices {
            symbol,
            start: self.start,
            end: self.end,
            session: self.session,
            round: self.round,
            resample: self.resample,
            tz: self.tz,
            timeframe: self.timeframe,
            adjustment: self.adjustment,
            calendar: self.calendar,
            adjust: self.adjust,
            as_of: self.as_of,
        }
    }
}

/// The options `load` and `verify` share: which files, in which layout, zone and
/// series. `None` leaves the library's default.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct Input {
    pattern: Option<String>,
    format: Option<String>,
    pub(crate) tz: Option<String>,
    timeframe: Option<String>,
    adjustment: Option<String>,
    jobs: Option<usize>,
    epoch_unit: Option<String>,
    years: Option<String>,
}

impl Input {
    pub(crate) fn choices(self) -> InputChoices {
        InputChoices {
            pattern: self.pattern,
            format: self.format,
            tz: self.tz,
            timeframe: self.timeframe,
            adjustment: self.adjustment,
            epoch_unit: self.epoch_unit,
            years: self.years,
            jobs: self.jobs,
        }
    }
}
