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
mod versions;
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
use barstore::store::{self, AsOf, Cql, Embedded, Store};
use barstore::tables;
use barstore::verify::verify;
use barstore::StoreError;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};
use std::path::PathBuf;
use std::sync::Arc;

/// The same allocator as the `barstore` binary: large column buffers are reused
/// instead of being faulted in afresh on every read.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `store` as its latest committed version, for a call that only reads. An embedded
/// store's own methods answer from the version its writes build on, so a store kept
/// open would not see what other processes committed since.
fn latest(store: &Arc<dyn Store>) -> barstore::Result<Arc<dyn Store>> {
    Ok(store.view(None)?.unwrap_or_else(|| store.clone()))
}

/// A connected store.
#[pyclass(frozen)]
struct NativeStore {
    store: Arc<dyn Store>,
    /// The same store when it is the embedded one, the only one with versions.
    embedded: Option<Arc<Embedded>>,
}

impl NativeStore {
    /// The embedded store, for the calls about versions; a CQL store refuses them.
    fn versioned(&self, call: &str) -> PyResult<Arc<Embedded>> {
        self.embedded.clone().ok_or_else(|| {
            to_py(StoreError::NoVersion {
                location: self.store.location(),
                detail: format!(
                    "{call} works on the embedded store: a CQL keyspace keeps no versions of its bars"
                ),
            })
        })
    }
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
        store::cql::check_location(&location).map_err(to_py)?;
        if store::cql::is_cql_url(&location) {
            let store = py.detach(|| Cql::connect(&location, opts)).map_err(to_py)?;
            return Ok(NativeStore {
                store: Arc::new(store),
                embedded: None,
            });
        }
        let embedded = Arc::new(Embedded::new(location));
        Ok(NativeStore {
            store: embedded.clone(),
            embedded: Some(embedded),
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
                let store = latest(&store)?;
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
            .detach(move || tables::series(&latest(&store)?.series()?))
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
                let from = latest(&from)?;
                barstore::copy::copy(from.as_ref(), to.as_ref(), &symbols, force, &NoProgress)
            })
            .map_err(to_py)?;
        Ok(report(&r))
    }

    /// Merges the files appends added, one file per year; returns how many years it
    /// rewrote (0 on a store that appends in place).
    fn compact(&self, py: Python<'_>) -> PyResult<u64> {
        let store = self.store.clone();
        py.detach(move || store.compact()).map_err(to_py)
    }

    /// The versions, newest first, at most `limit`: a table ([`versions::history`]).
    #[pyo3(signature = (limit=None))]
    fn history<'py>(
        &self,
        py: Python<'py>,
        limit: Option<usize>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let store = self.versioned("history")?;
        let entries = py.detach(move || store.history(limit)).map_err(to_py)?;
        table(py, versions::history(&entries))
    }

    /// Names the version `as_of` names (the latest for `None`); returns that version.
    #[pyo3(signature = (name, as_of=None))]
    fn snapshot(&self, py: Python<'_>, name: String, as_of: Option<String>) -> PyResult<i64> {
        let store = self.versioned("snapshot")?;
        let as_of = as_of
            .as_deref()
            .map(AsOf::parse)
            .transpose()
            .map_err(to_py)?;
        let info = py
            .detach(move || store.snapshot_create(&name, as_of.as_ref()))
            .map_err(to_py)?;
        Ok(info.version)
    }

    /// The snapshots, by name: a table ([`versions::snapshots`]).
    fn snapshots<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let store = self.versioned("snapshots")?;
        let infos = py.detach(move || store.snapshots()).map_err(to_py)?;
        table(py, versions::snapshots(&infos))
    }

    /// Removes a snapshot's name (its version's files stay until a vacuum finds no
    /// use for them); a name that is not there is an error, as in the CLI.
    fn delete_snapshot(&self, py: Python<'_>, name: String) -> PyResult<()> {
        let store = self.versioned("delete_snapshot")?;
        let location = store.location();
        let detail = format!("there is no snapshot named {name}");
        let deleted = py
            .detach(move || store.snapshot_delete(&name))
            .map_err(to_py)?;
        if deleted {
            Ok(())
        } else {
            Err(to_py(StoreError::NoVersion { location, detail }))
        }
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
            .detach(move || verify(latest(&store)?.as_ref(), &paths, &opts))
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
