//! `barstore._native`: the Python package's bridge to the barstore library.
//!
//! Only translation lives here: Python arguments to library options, library results
//! to Python values, library errors to the `barstore.Error` family. Results cross in
//! two shapes ([`crossing`]): tables (bars and every listing) as Arrow, reports as
//! JSON. Long calls run with the GIL released; a load and a read run on a thread of
//! their own while the calling thread reports progress and watches for Ctrl-C
//! ([`wait`]).

mod args;
mod crossing;
mod errors;
mod progress;
mod wait;

use args::{Input, Slice};
use crossing::{reader, report, stream, table};
use errors::to_py;
use progress::Counters;
use wait::OnStop;

use arrow::array::RecordBatchReader;
use barstore::exchange::Calendar;
use barstore::load::{load, NoProgress};
use barstore::panel::{pivot_column, read_panel, PanelRequest, PanelStream, Symbols};
use barstore::read::read;
use barstore::settings::{CqlChoices, LoadChoices};
use barstore::store::cql::Secret;
use barstore::store::{self, Store};
use barstore::tables;
use barstore::verify::verify;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};
use std::path::PathBuf;
use std::sync::Arc;

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
                        serial_consistency=None, replication=None, compaction=None,
                        retry_for=None, attempts=None, batch_rows=None, concurrency=None,
                        overwrite_unreadable=false))]
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
        serial_consistency: Option<String>,
        replication: Option<String>,
        compaction: Option<String>,
        retry_for: Option<f64>,
        attempts: Option<u32>,
        batch_rows: Option<usize>,
        concurrency: Option<usize>,
        overwrite_unreadable: bool,
    ) -> PyResult<Self> {
        let opts = CqlChoices {
            user,
            password: password.map(Secret),
            tls,
            tls_ca,
            tls_cert,
            tls_key,
            dc,
            consistency,
            serial_consistency,
            replication,
            compaction,
            retry_for,
            attempts,
            batch_rows,
            concurrency,
            overwrite_unreadable,
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

    /// Loads files; returns the report. `progress(dict)` is called about ten
    /// times a second from the calling thread. Ctrl-C, or a `progress` that raises,
    /// cancels the load; the exception is raised once nothing of the load is writing.
    #[pyo3(signature = (paths, input, force=false, errors=None, progress=None))]
    fn load<'py>(
        &self,
        py: Python<'py>,
        paths: Vec<PathBuf>,
        input: Input,
        force: bool,
        errors: Option<PathBuf>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<String> {
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
        let cancel = opts.input.cancel.clone();
        let working = counters.clone();
        let report = wait::run(
            py,
            cancel,
            OnStop::Drain,
            move || load(store.as_ref(), &paths, &opts, working.as_ref()),
            |py| counters.report(py, &progress),
        )?;
        let report = report.map_err(to_py)?;
        counters.report(py, &progress)?;
        Ok(crossing::report(&report))
    }

    /// Reads one symbol: a table.
    fn read_arrow<'py>(
        &self,
        py: Python<'py>,
        symbol: String,
        slice: Slice,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let utc = slice.tz.is_some();
        let req = slice.choices(symbol).resolve().map_err(to_py)?;
        let store = self.store.clone();
        let batch = wait::run(
            py,
            Arc::default(),
            OnStop::Abandon,
            move || read(store.as_ref(), &req).map(|f| f.into_batch(utc)),
            |_| Ok(()),
        )?
        .map_err(to_py)?;
        table(py, batch)
    }

    /// Reads many symbols (all when `symbols` is `None`) in parallel: a table stream
    /// and the symbols left out as not stored. With `pivot`, one wide table;
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
        let (reader, missing): (Box<dyn RecordBatchReader + Send>, Vec<String>) = wait::run(
            py,
            Arc::default(),
            OnStop::Abandon,
            move || -> barstore::Result<_> {
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
                Ok((reader(batch), missing))
            },
            |_| Ok(()),
        )?
        .map_err(to_py)?;
        Ok((stream(py, reader)?, missing))
    }

    /// Checks each symbol's series day by day: a table of days
    /// ([`barstore::tables::checked`]).
    fn check<'py>(
        &self,
        py: Python<'py>,
        symbols: Vec<String>,
        slice: Slice,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let requests = symbols
            .into_iter()
            .map(|symbol| slice.clone().choices(symbol).resolve())
            .collect::<barstore::Result<Vec<_>>>()
            .map_err(to_py)?;
        let store = self.store.clone();
        let reports = py
            .detach(move || {
                requests
                    .iter()
                    .map(|req| barstore::check::check(store.as_ref(), req))
                    .collect::<barstore::Result<Vec<_>>>()
            })
            .map_err(to_py)?;
        table(py, tables::checked(&reports))
    }

    /// The stored series: a table ([`barstore::tables::series`]).
    fn symbols<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let store = self.store.clone();
        let batch = py
            .detach(move || tables::series(&store.series()?))
            .map_err(to_py)?;
        table(py, batch)
    }

    /// Loads an actions CSV; returns the report.
    #[pyo3(signature = (path, calendar=None))]
    fn load_actions(
        &self,
        py: Python<'_>,
        path: PathBuf,
        calendar: Option<String>,
    ) -> PyResult<String> {
        let calendar = match calendar {
            Some(c) => c.parse().map_err(to_py)?,
            None => Calendar::UsEquity,
        };
        let store = self.store.clone();
        let r = py
            .detach(move || barstore::adjust::load_actions(store.as_ref(), &path, calendar))
            .map_err(to_py)?;
        Ok(report(&r))
    }

    /// The stored action versions of `symbol` (all symbols for `None`), sorted; only the
    /// versions in effect now unless `history`: a table ([`barstore::tables::actions`]).
    #[pyo3(signature = (symbol=None, history=false))]
    fn actions<'py>(
        &self,
        py: Python<'py>,
        symbol: Option<String>,
        history: bool,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let store = self.store.clone();
        let rows = py
            .detach(move || barstore::adjust::listed(store.as_ref(), symbol.as_deref(), history))
            .map_err(to_py)?;
        table(py, tables::actions(&rows))
    }

    /// Copies the series of some symbols (all when empty) to another store; returns the
    /// report.
    #[pyo3(signature = (target, symbols=Vec::new(), force=false))]
    fn copy_to(
        &self,
        py: Python<'_>,
        target: &NativeStore,
        symbols: Vec<String>,
        force: bool,
    ) -> PyResult<String> {
        let (from, to) = (self.store.clone(), target.store.clone());
        let r = py
            .detach(move || {
                barstore::copy::copy(from.as_ref(), to.as_ref(), &symbols, force, &NoProgress)
            })
            .map_err(to_py)?;
        Ok(report(&r))
    }

    /// Compares files with the store: the report and its series as a table
    /// ([`barstore::tables::verified`]).
    fn verify<'py>(
        &self,
        py: Python<'py>,
        paths: Vec<PathBuf>,
        input: Input,
    ) -> PyResult<(String, Bound<'py, PyCapsule>)> {
        let opts = input.choices().resolve().map_err(to_py)?;
        let store = self.store.clone();
        let r = py
            .detach(move || verify(store.as_ref(), &paths, &opts))
            .map_err(to_py)?;
        Ok((report(&r), table(py, tables::verified(&r))?))
    }
}

/// The trading days of a calendar between two dates (inclusive): a table
/// ([`barstore::tables::sessions`]).
#[pyfunction]
fn sessions<'py>(
    py: Python<'py>,
    start: &str,
    end: &str,
    calendar: &str,
) -> PyResult<Bound<'py, PyCapsule>> {
    let calendar: Calendar = calendar.parse().map_err(to_py)?;
    let day = |s: &str| barstore::read::day_of(s).map_err(to_py);
    table(
        py,
        tables::sessions(&calendar.sessions(day(start)?, day(end)?)),
    )
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
