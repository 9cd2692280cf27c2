//! The embedded store's versions and snapshots as tables, with the column names and
//! types of `barstore history` and `barstore snapshot list` (times as UTC instants).

use arrow::array::{
    ArrayRef, Int64Array, ListBuilder, StringArray, StringBuilder, TimestampMillisecondArray,
};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use barstore::store::embedded::{HistoryEntry, SnapshotInfo};
use std::sync::Arc;

fn table(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), false))
        .collect();
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("columns of one length")
}

fn utc(ms: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(TimestampMillisecondArray::from_iter_values(ms).with_timezone("UTC"))
}

/// Counts as signed integers, which pandas subtracts without wrapping.
fn counts(values: impl Iterator<Item = u64>) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(values.map(|n| n as i64)))
}

/// The versions, newest first: `version, time, operation, series, rows, files_added,
/// files_replaced, sources, snapshots` (the names pinning each, a list).
pub(crate) fn history(entries: &[HistoryEntry]) -> RecordBatch {
    let mut snapshots = ListBuilder::new(StringBuilder::new());
    for e in entries {
        snapshots.append_value(e.snapshots.iter().map(Some));
    }
    table(vec![
        (
            "version",
            Arc::new(Int64Array::from_iter_values(
                entries.iter().map(|e| e.version),
            )),
        ),
        ("time", utc(entries.iter().map(|e| e.timestamp))),
        (
            "operation",
            Arc::new(StringArray::from_iter_values(
                entries.iter().map(|e| e.operation.as_str()),
            )),
        ),
        ("series", counts(entries.iter().map(|e| e.series))),
        ("rows", counts(entries.iter().map(|e| e.rows))),
        ("files_added", counts(entries.iter().map(|e| e.added))),
        ("files_replaced", counts(entries.iter().map(|e| e.replaced))),
        ("sources", counts(entries.iter().map(|e| e.sources))),
        ("snapshots", Arc::new(snapshots.finish())),
    ])
}

/// The snapshots, by name: `name, version, created`.
pub(crate) fn snapshots(infos: &[SnapshotInfo]) -> RecordBatch {
    table(vec![
        (
            "name",
            Arc::new(StringArray::from_iter_values(
                infos.iter().map(|s| s.name.as_str()),
            )),
        ),
        (
            "version",
            Arc::new(Int64Array::from_iter_values(
                infos.iter().map(|s| s.version),
            )),
        ),
        ("created", utc(infos.iter().map(|s| s.created))),
    ])
}
