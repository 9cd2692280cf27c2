//! `barstore._native`: the Python package's bridge to the barstore library.
//!
//! Only translation lives here: Python arguments to library options, library results
//! to Python values, library errors to the `barstore.Error` family. Bars cross into
//! Python as an Arrow C stream in a PyCapsule, so pyarrow adopts the Rust buffers
//! without copying them. Long calls run with the GIL released; a load runs on its own
//! thread while the calling thread reports progress and watches for Ctrl-C.

mod args;
mod errors;
mod progress;
mod rows;

use args::{Input, Slice};
use errors::to_py;
use progress::Counters;
use rows::{ActionRow, ActionsLoaded, SeriesRow, VerifyResult};

use arrow::array::{RecordBatchIterator, RecordBatchReader};
use arrow::ffi_stream::FFI_ArrowArrayStream;
use barstore::exchange::Calendar;
use barstore::load::{load, NoProgress};
use barstore::panel::{pivot_column, read_panel, PanelRequest, PanelStream, Symbols};
use barstore::read::read;
use barstore::settings::{CqlChoices, LoadChoices};
use barstore::store::{self, Store};
use barstore::verify::verify;
use barstore::zone::Zone;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The same allocator as the `barstore` binary: large column buffers are reused
/// instead of being faulted in afresh on every read.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A connected store.
#[pyclass(frozen)]
struct NativeStore {
    store: Arc<dyn Store>,
}

#[pymethods]
impl NativeStore {
    #[new]
    #[pyo3(signature = (location, user=None, password=None, tls=false, tls_ca=None,
                        tls_cert=None, tls_key=None, dc=None, consistency=None,
                        replication=None, compaction=None, attempts=None, batch_rows=None,
                        concurrency=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        location: String,
        user: Option<String>,
        password: Option<String>,
        tls: bool,
        tls_ca: Option<PathBuf>,
        tls_cert: Option<PathBuf>,
        tls_key: Option<PathBuf>,
        dc: Option<String>,
        consistency: Option<String>,
        replication: Option<String>,
        compaction: Option<String>,
        attempts: Option<u32>,
        batch_rows: Option<usize>,
        concurrency: Option<usize>,
    ) -> PyResult<Self> {
        let opts = CqlChoices {
            user,
            password,
            tls,
            tls_ca,
            tls_cert,
            tls_key,
            dc,
            consistency,
            replication,
            compaction,
            attempts,
            batch_rows,
            concurrency,
        }
        .resolve()
        .map_err(to_py)?;
        let store = py.detach(|| store::open(&location, &opts)).map_err(to_py)?;
        Ok(NativeStore {
            store: Arc::from(store),
        })
    }

    /// Where the store is.
    fn location(&self) -> String {
        self.store.location()
    }

    /// Loads files; returns the report as a dict. `progress(dict)` is called about ten
    /// times a second from the calling thread.
    #[pyo3(signature = (paths, input, force=false, errors=None, progress=None))]
    fn load<'py>(
        &self,
        py: Python<'py>,
        paths: Vec<PathBuf>,
        input: Input,
        force: bool,
        errors: Option<PathBuf>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let opts = LoadChoices {
            input: input.choices(),
            force,
            errors,
            shard: None,
        }
        .resolve()
        .map_err(to_py)?;
        let counters = Arc::new(Counters::default());
        let store = self.store.clone();
        let worker = {
            let (opts, counters) = (opts.clone(), counters.clone());
            std::thread::spawn(move || load(store.as_ref(), &paths, &opts, counters.as_ref()))
        };
        let mut interrupted = None;
        while !worker.is_finished() {
            py.detach(|| std::thread::sleep(Duration::from_millis(100)));
            if let Err(e) = py.check_signals() {
                opts.input
                    .cancel
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                interrupted.get_or_insert(e);
            }
            if interrupted.is_none() {
                counters.report(py, &progress)?;
            }
        }
        let report = worker
            .join()
            .map_err(|_| PyRuntimeError::new_err("the load thread panicked"))?;
        if let Some(e) = interrupted {
            return Err(e);
        }
        let report = report.map_err(to_py)?;
        counters.report(py, &progress)?;
        let d = PyDict::new(py);
        d.set_item("files", report.files)?;
        d.set_item("loaded", report.loaded)?;
        d.set_item("skipped", report.skipped)?;
        let failed: Vec<(String, String)> = report
            .failed
            .iter()
            .map(|(file, why)| (file.clone(), why.to_string()))
            .collect();
        d.set_item("failed", failed)?;
        d.set_item("rows", report.rows)?;
        d.set_item("rejected", report.rejected)?;
        d.set_item("warnings", report.warnings)?;
        d.set_item("seconds", report.seconds)?;
        d.set_item("error_log", report.error_log)?;
        Ok(d)
    }

    /// Reads one symbol as an Arrow C stream capsule.
    fn read_arrow<'py>(
        &self,
        py: Python<'py>,
        symbol: String,
        slice: Slice,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let utc = slice.tz.is_some();
        let req = slice.choices(symbol).resolve().map_err(to_py)?;
        let store = self.store.clone();
        let batch = py
            .detach(move || read(store.as_ref(), &req).map(|f| f.into_batch(utc)))
            .map_err(to_py)?;
        let schema = batch.schema();
        let stream =
            FFI_ArrowArrayStream::new(Box::new(RecordBatchIterator::new(vec![Ok(batch)], schema)));
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }

    /// Reads many symbols (all when `symbols` is `None`) in parallel: an Arrow C stream
    /// capsule and the symbols left out as not stored. With `pivot`, one wide table;
    /// else `form` says which long one: `long` (one table), `indexed` (its timestamps
    /// dictionary-encoded, for a pandas index) or `batches` (a stream read a few
    /// symbols at a time).
    #[pyo3(signature = (symbols, slice, pivot=None, skip_missing=false, form="long"))]
    fn read_panel<'py>(
        &self,
        py: Python<'py>,
        symbols: Option<Vec<String>>,
        slice: Slice,
        pivot: Option<String>,
        skip_missing: bool,
        form: &str,
    ) -> PyResult<(Bound<'py, PyCapsule>, Vec<String>)> {
        let (batches, indexed) = match form {
            "long" => (false, false),
            "indexed" => (false, true),
            "batches" => (true, false),
            other => {
                return Err(to_py(barstore::OptionError::new(
                    "form",
                    other,
                    "use long, indexed or batches",
                )))
            }
        };
        let utc = slice.tz.is_some();
        let read = slice.choices(String::new()).resolve().map_err(to_py)?;
        if let Some(column) = &pivot {
            pivot_column(column).map_err(to_py)?;
        }
        let req = PanelRequest {
            symbols: symbols.map_or(Symbols::All, Symbols::List),
            read,
            skip_missing,
        };
        let store = self.store.clone();
        let (reader, missing): (Box<dyn RecordBatchReader + Send>, Vec<String>) = py
            .detach(move || -> barstore::Result<_> {
                if batches {
                    let mut stream = PanelStream::new(store, &req, utc)?;
                    let missing = std::mem::take(&mut stream.missing);
                    return Ok((
                        Box::new(stream) as Box<dyn RecordBatchReader + Send>,
                        missing,
                    ));
                }
                let panel = read_panel(store.as_ref(), &req)?;
                let missing = panel.missing.clone();
                let batch = match &pivot {
                    Some(column) => panel.into_wide(column, utc)?,
                    None if indexed => panel.into_long_indexed(utc),
                    None => panel.into_long(utc),
                };
                let schema = batch.schema();
                Ok((
                    Box::new(RecordBatchIterator::new(vec![Ok(batch)], schema)) as _,
                    missing,
                ))
            })
            .map_err(to_py)?;
        let stream = FFI_ArrowArrayStream::new(reader);
        Ok((
            PyCapsule::new_with_value(py, stream, c"arrow_array_stream")?,
            missing,
        ))
    }

    /// Checks one symbol's series day by day; the report as JSON (see
    /// `barstore::check::SeriesReport`).
    fn check(&self, py: Python<'_>, symbol: String, slice: Slice) -> PyResult<String> {
        let req = slice.choices(symbol).resolve().map_err(to_py)?;
        let store = self.store.clone();
        let report = py
            .detach(move || barstore::check::check(store.as_ref(), &req))
            .map_err(to_py)?;
        Ok(serde_json::to_string(&report).expect("a report serialises"))
    }

    /// `(symbol, timeframe, adjustment, rows, first, last, zone)` per series; first and
    /// last as exchange wall-clock milliseconds.
    fn symbols(&self, py: Python<'_>) -> PyResult<Vec<SeriesRow>> {
        let store = self.store.clone();
        let infos = py.detach(move || store.series()).map_err(to_py)?;
        // a zone per name, not per series: the whole market shares a few
        let mut zones: std::collections::HashMap<String, Zone> = Default::default();
        infos
            .into_iter()
            .map(|s| {
                let z = match zones.entry(s.zone.clone()) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(Zone::new(&s.zone).map_err(to_py)?)
                    }
                };
                let (first, last) = (z.utc_ms_to_local(s.first), z.utc_ms_to_local(s.last));
                let series = s.series;
                Ok((
                    series.symbol,
                    series.timeframe.to_string(),
                    series.adjustment.to_string(),
                    s.rows,
                    first * 1000,
                    last * 1000,
                    s.zone,
                ))
            })
            .collect()
    }

    /// Loads an actions CSV: `(rows, added, changed, unchanged, [(line, reason)])`.
    #[pyo3(signature = (path, calendar=None))]
    fn load_actions(
        &self,
        py: Python<'_>,
        path: PathBuf,
        calendar: Option<String>,
    ) -> PyResult<ActionsLoaded> {
        let calendar = match calendar {
            Some(c) => c.parse().map_err(to_py)?,
            None => barstore::exchange::Calendar::UsEquity,
        };
        let store = self.store.clone();
        let r = py
            .detach(move || barstore::adjust::load_actions(store.as_ref(), &path, calendar))
            .map_err(to_py)?;
        Ok((r.rows, r.added, r.changed, r.unchanged, r.rejected))
    }

    /// The stored action versions of `symbol` (all symbols for `None`), sorted:
    /// `(symbol, ex_date, kind, split_from, split_to, dividend, source, recorded ms)`;
    /// only the versions in effect now unless `history`.
    #[pyo3(signature = (symbol=None, history=false))]
    fn actions(
        &self,
        py: Python<'_>,
        symbol: Option<String>,
        history: bool,
    ) -> PyResult<Vec<ActionRow>> {
        let store = self.store.clone();
        let rows = py
            .detach(move || barstore::adjust::listed(store.as_ref(), symbol.as_deref(), history))
            .map_err(to_py)?;
        Ok(rows
            .iter()
            .map(|a| {
                let (from, to, cash) = a.event.values();
                (
                    a.symbol.clone(),
                    barstore::zone::format_date(a.ex_date),
                    a.event.kind(),
                    from,
                    to,
                    cash,
                    a.source.clone(),
                    a.recorded,
                )
            })
            .collect())
    }

    /// Copies the series of some symbols (all when empty) to another store; returns
    /// `(series, months copied, months skipped, rows)`.
    #[pyo3(signature = (target, symbols=Vec::new(), force=false))]
    fn copy_to(
        &self,
        py: Python<'_>,
        target: &NativeStore,
        symbols: Vec<String>,
        force: bool,
    ) -> PyResult<(u64, u64, u64, u64)> {
        let (from, to) = (self.store.clone(), target.store.clone());
        let r = py
            .detach(move || {
                barstore::copy::copy(from.as_ref(), to.as_ref(), &symbols, force, &NoProgress)
            })
            .map_err(to_py)?;
        Ok((r.series, r.months, r.skipped, r.rows))
    }

    /// Compares files with the store: `(identical, [(symbol, timeframe, adjustment,
    /// source_rows, store_rows, missing, extra, different)], [(file, reason)])`.
    fn verify(&self, py: Python<'_>, paths: Vec<PathBuf>, input: Input) -> PyResult<VerifyResult> {
        let opts = input.choices().resolve().map_err(to_py)?;
        let store = self.store.clone();
        let report = py
            .detach(move || verify(store.as_ref(), &paths, &opts))
            .map_err(to_py)?;
        Ok((
            report.identical(),
            report
                .series
                .iter()
                .map(|d| {
                    (
                        d.series.symbol.clone(),
                        d.series.timeframe.to_string(),
                        d.series.adjustment.to_string(),
                        d.source_rows,
                        d.store_rows,
                        d.missing,
                        d.extra,
                        d.different,
                    )
                })
                .collect(),
            report.failed,
        ))
    }
}

/// The trading days of a calendar between two dates (inclusive):
/// `(YYYY-MM-DD, open, close)` with open and close in seconds after local midnight.
#[pyfunction]
fn sessions(start: &str, end: &str, calendar: &str) -> PyResult<Vec<(String, i64, i64)>> {
    let calendar: Calendar = calendar.parse().map_err(to_py)?;
    let day = |s: &str| barstore::read::day_of(s).map_err(to_py);
    Ok(calendar
        .sessions(day(start)?, day(end)?)
        .into_iter()
        .map(|(d, s)| (barstore::zone::format_date(d), s.open, s.close))
        .collect())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeStore>()?;
    m.add_function(wrap_pyfunction!(sessions, m)?)?;
    // the library's defaults, which the package's signatures take theirs from
    let defaults = PyDict::new(m.py());
    for (name, value) in barstore::defaults::ALL {
        defaults.set_item(name, value)?;
    }
    m.add("DEFAULTS", defaults)?;
    Ok(())
}
