//! A load's progress, counted on the load thread and reported to Python from the
//! calling one.

use barstore::load::{FileOutcome, Progress};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::atomic::{AtomicU64, Ordering};

/// Progress counters the load thread updates and the Python thread reads.
#[derive(Default)]
pub(crate) struct Counters {
    bytes: AtomicU64,
    total_files: AtomicU64,
    total_bytes: AtomicU64,
    done_files: AtomicU64,
    rows: AtomicU64,
}

impl Progress for Counters {
    fn start(&self, files: u64, bytes: u64) {
        self.total_files.store(files, Ordering::Relaxed);
        self.total_bytes.store(bytes, Ordering::Relaxed);
    }
    fn advance(&self, bytes: u64, rows: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.rows.fetch_add(rows, Ordering::Relaxed);
    }
    fn file_done(&self, _source: &str, _outcome: &FileOutcome) {
        self.done_files.fetch_add(1, Ordering::Relaxed);
    }
}

impl Counters {
    pub(crate) fn report(&self, py: Python<'_>, callback: &Option<Py<PyAny>>) -> PyResult<()> {
        if let Some(cb) = callback {
            let d = PyDict::new(py);
            d.set_item("files", self.done_files.load(Ordering::Relaxed))?;
            d.set_item("total_files", self.total_files.load(Ordering::Relaxed))?;
            d.set_item("bytes", self.bytes.load(Ordering::Relaxed))?;
            d.set_item("total_bytes", self.total_bytes.load(Ordering::Relaxed))?;
            d.set_item("rows", self.rows.load(Ordering::Relaxed))?;
            cb.call1(py, (d,))?;
        }
        Ok(())
    }
}
