//! The embedded store's corporate actions: one small Parquet file (`actions/actions.parquet`)
//! holding every version, replaced whole on each change, which pandas, polars and duckdb
//! open as they open the bars.

use super::codec::replace_file;
use crate::actions::{Action, Event};
use crate::error::{Result, StoreError};
use arrow::array::{
    Array, ArrayRef, Date32Array, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new("ex_date", DataType::Date32, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("split_from", DataType::Float64, true),
        Field::new("split_to", DataType::Float64, true),
        Field::new("dividend", DataType::Float64, true),
        Field::new("source", DataType::Utf8, false),
        Field::new(
            "recorded",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
    ]))
}

/// The versions in the file at `path` (none when it does not exist), of `symbol` only
/// when given.
pub fn read(path: &Path, symbol: Option<&str>) -> Result<Vec<Action>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(path, e).into()),
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| StoreError::parquet(path, e))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| StoreError::parquet(path, e.into()))?;
        decode(&batch, path, symbol, &mut out)?;
    }
    Ok(out)
}

fn decode(
    batch: &RecordBatch,
    path: &Path,
    symbol: Option<&str>,
    out: &mut Vec<Action>,
) -> Result<()> {
    let bad = || StoreError::Unexpected {
        path: path.to_path_buf(),
        detail: "unexpected columns: not an actions file written by barstore".into(),
    };
    let col = |i: usize| batch.columns().get(i).ok_or_else(bad);
    let text = |i| {
        col(i)?
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(bad)
    };
    let number = |i| {
        col(i)?
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(bad)
    };
    let (symbols, kinds, sources) = (text(0)?, text(2)?, text(6)?);
    let dates = col(1)?
        .as_any()
        .downcast_ref::<Date32Array>()
        .ok_or_else(bad)?;
    let (from, to, cash) = (number(3)?, number(4)?, number(5)?);
    let recorded = col(7)?
        .as_any()
        .downcast_ref::<TimestampMillisecondArray>()
        .ok_or_else(bad)?;
    for i in 0..batch.num_rows() {
        if symbol.is_some_and(|s| s != symbols.value(i)) {
            continue;
        }
        let event = match kinds.value(i) {
            "split" => Event::Split {
                from: from.value(i),
                to: to.value(i),
            },
            "dividend" => Event::Dividend {
                cash: cash.value(i),
            },
            _ => return Err(bad().into()),
        };
        out.push(Action {
            symbol: symbols.value(i).to_string(),
            ex_date: i64::from(dates.value(i)),
            event,
            source: sources.value(i).to_string(),
            recorded: recorded.value(i),
        });
    }
    Ok(())
}

/// Replaces the file at `path` with `actions`, sorted by symbol, ex-date, kind and
/// version.
pub fn write(path: &Path, actions: &[Action]) -> Result<()> {
    let mut sorted: Vec<&Action> = actions.iter().collect();
    sorted.sort_by(|a, b| (a.key(), a.recorded).cmp(&(b.key(), b.recorded)));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            sorted.iter().map(|a| &a.symbol),
        )),
        Arc::new(Date32Array::from_iter_values(
            sorted.iter().map(|a| a.ex_date as i32),
        )),
        Arc::new(StringArray::from_iter_values(
            sorted.iter().map(|a| a.event.kind()),
        )),
        Arc::new(Float64Array::from_iter(
            sorted.iter().map(|a| a.event.values().0),
        )),
        Arc::new(Float64Array::from_iter(
            sorted.iter().map(|a| a.event.values().1),
        )),
        Arc::new(Float64Array::from_iter(
            sorted.iter().map(|a| a.event.values().2),
        )),
        Arc::new(StringArray::from_iter_values(
            sorted.iter().map(|a| &a.source),
        )),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(sorted.iter().map(|a| a.recorded))
                .with_timezone("UTC"),
        ),
    ];
    let batch = RecordBatch::try_new(schema(), columns).expect("columns match the schema");
    replace_file(path, |file, tmp| {
        let mut writer =
            ArrowWriter::try_new(file, schema(), None).map_err(|e| StoreError::parquet(tmp, e))?;
        writer
            .write(&batch)
            .map_err(|e| StoreError::parquet(tmp, e))?;
        Ok(writer
            .into_inner()
            .map_err(|e| StoreError::parquet(tmp, e))?)
    })
}
