//! Reads of many symbols at once: the same range of hundreds or thousands of series,
//! read in parallel, as one long table (a `symbol` column, sorted by symbol then time),
//! a wide one (timestamps x symbols for one value column), or a stream of batches whose
//! memory does not grow with the number of symbols.
//!
//! Each symbol is read exactly as [`read::read`] reads it alone (its series, session
//! filter, resampling and rounding), so a panel's rows for a symbol are that read's.

use crate::actions::Action;
use crate::bars::Bars;
use crate::error::{Error, OptionError, ReadError, Result};
use crate::read::{self, Frame, ReadRequest};
use crate::store::{Found, Store};
use crate::symbol;
use arrow::array::{
    Array, ArrayRef, DictionaryArray, Float64Array, Int32Array, RecordBatch, RecordBatchReader,
    StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use rayon::prelude::*;
use std::collections::HashMap;
use std::io::Write;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

mod forms;
mod stream;

pub use forms::pivot_column;
pub use stream::{write_csv, write_parquet, PanelStream};

/// Which symbols a panel read covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Symbols {
    /// Every stored symbol.
    All,
    /// These symbols.
    List(Vec<String>),
}

/// A read of many symbols.
#[derive(Clone, Debug)]
pub struct PanelRequest {
    /// The symbols.
    pub symbols: Symbols,
    /// What to read of each (its `symbol` is not used).
    pub read: ReadRequest,
    /// Leave out symbols that are not stored (listed in [`Panel::missing`]) instead of
    /// failing.
    pub skip_missing: bool,
}

/// The value columns a wide read can spread over the symbols.
pub const VALUE_COLUMNS: [&str; 5] = ["open", "high", "low", "close", "volume"];

/// A symbol to read and the series stored for it.
type Planned = (String, Vec<Found>);

/// The symbols a request reads (sorted, each once) with their stored series, and those
/// of its list not stored. Unless `skip_missing`, a symbol not stored fails the whole
/// request, naming every such symbol.
pub fn plan(store: &dyn Store, req: &PanelRequest) -> Result<(Vec<Planned>, Vec<String>)> {
    let mut wanted = match &req.symbols {
        Symbols::All => {
            // the listing names every symbol; their lookup gives what reads need
            let mut symbols: Vec<String> = store
                .series()?
                .into_iter()
                .map(|i| i.series.symbol)
                .collect();
            symbols.dedup();
            let found = store.lookup_many(&symbols)?;
            let all: Vec<Planned> = symbols
                .into_iter()
                .zip(found)
                .filter(|(_, f)| !f.is_empty())
                .collect();
            return Ok((all, Vec::new()));
        }
        Symbols::List(list) => list.clone(),
    };
    if wanted.is_empty() {
        return Err(OptionError::new("symbols", "", "name at least one symbol").into());
    }
    for s in &wanted {
        symbol::validate(s)?;
    }
    wanted.sort();
    wanted.dedup();
    let stored = store.lookup_many(&wanted)?;
    let (mut present, mut missing) = (Vec::new(), Vec::new());
    for (s, series) in wanted.into_iter().zip(stored) {
        if series.is_empty() {
            missing.push(s);
        } else {
            present.push((s, series));
        }
    }
    if !missing.is_empty() && !req.skip_missing {
        return Err(ReadError::UnknownSymbols {
            count: missing.len(),
            symbols: missing,
        }
        .into());
    }
    Ok((present, missing))
}

/// The bars of many symbols, by symbol.
#[derive(Clone, Debug)]
pub struct Panel {
    /// Each symbol read, sorted by symbol.
    pub frames: Vec<(String, Frame)>,
    /// Symbols of the request that are not stored (left out under `skip_missing`).
    pub missing: Vec<String>,
    /// The zone of the request's `tz`, which every frame is shown in when given.
    pub tz: Option<String>,
}

/// Reads `symbols` in parallel, each as [`read::read`] would.
fn read_all(store: &dyn Store, symbols: &[Planned], req: &ReadRequest) -> Result<Vec<Frame>> {
    let reqs: Vec<ReadRequest> = symbols
        .iter()
        .map(|(symbol, _)| ReadRequest {
            symbol: symbol.clone(),
            ..req.clone()
        })
        .collect();
    let mut scans: Vec<read::Scan> = symbols
        .iter()
        .zip(&reqs)
        .map(|((_, stored), req)| read::scan_of(req, stored))
        .collect::<Result<_>>()?;
    if req.adjust.is_some() {
        let mut versions: HashMap<String, Vec<Action>> = HashMap::new();
        for a in store.actions(None)? {
            versions.entry(a.symbol.clone()).or_default().push(a);
        }
        // dividends read the close before their ex-date: symbols in parallel
        in_parallel(store, || {
            scans.par_iter_mut().zip(&reqs).try_for_each(|(scan, req)| {
                let mine = versions.get(&req.symbol).map_or(&[][..], Vec::as_slice);
                read::adjust_scan(store, req, scan, mine)
            })
        })?;
    }
    let wanted: Vec<_> = scans.iter().map(|s| (&s.found, s.start, s.end)).collect();
    let bars = in_parallel(store, || store.scan_many(&wanted))?;
    scans
        .into_par_iter()
        .zip(bars)
        .zip(&reqs)
        .map(|((scan, bars), req)| read::frame_of(req, scan, bars))
        .collect()
}

/// Runs `work` with as many of its parallel reads at once as the store says pay: on
/// threads of their own when that is more than the cores.
fn in_parallel<T: Send>(store: &dyn Store, work: impl FnOnce() -> T + Send) -> T {
    let wanted = store.concurrent_reads();
    if wanted <= rayon::current_num_threads() {
        return work();
    }
    static WAITING: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    let pool = WAITING.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(wanted)
            .thread_name(|i| format!("barstore-read-{i}"))
            .build()
            .ok()
    });
    match pool {
        Some(pool) => pool.install(work),
        None => work(),
    }
}

/// Reads every symbol of a request into memory, from one version of the store.
pub fn read_panel(store: &dyn Store, req: &PanelRequest) -> Result<Panel> {
    let pinned = store.view(req.read.version.as_ref())?;
    let store = pinned.as_deref().unwrap_or(store);
    let (symbols, missing) = plan(store, req)?;
    let frames = read_all(store, &symbols, &req.read)?;
    Ok(Panel {
        frames: symbols.into_iter().map(|(s, _)| s).zip(frames).collect(),
        missing,
        tz: req.read.tz.clone(),
    })
}
