//! The two shapes results cross into Python as: tables as an Arrow C stream in a
//! PyCapsule (pyarrow adopts the Rust buffers without copying them), reports as the
//! JSON of the library's report types (the package makes its dataclasses from it).

use arrow::array::{RecordBatchIterator, RecordBatchReader};
use arrow::ffi_stream::FFI_ArrowArrayStream;
use arrow::record_batch::RecordBatch;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use serde::Serialize;

/// A stream of tables as a capsule for `pyarrow`'s PyCapsule interface.
pub(crate) fn stream<'py>(
    py: Python<'py>,
    reader: Box<dyn RecordBatchReader + Send>,
) -> PyResult<Bound<'py, PyCapsule>> {
    let stream = FFI_ArrowArrayStream::new(reader);
    PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
}

/// One table as a one-batch stream.
pub(crate) fn reader(batch: RecordBatch) -> Box<dyn RecordBatchReader + Send> {
    let schema = batch.schema();
    Box::new(RecordBatchIterator::new(vec![Ok(batch)], schema))
}

/// One table as a capsule.
pub(crate) fn table<'py>(py: Python<'py>, batch: RecordBatch) -> PyResult<Bound<'py, PyCapsule>> {
    stream(py, reader(batch))
}

/// A report as JSON.
pub(crate) fn report(r: &impl Serialize) -> String {
    serde_json::to_string(r).expect("reports serialise")
}
