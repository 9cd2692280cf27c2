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

/// Reads every symbol of a request into memory.
pub fn read_panel(store: &dyn Store, req: &PanelRequest) -> Result<Panel> {
    let (symbols, missing) = plan(store, req)?;
    let frames = read_all(store, &symbols, &req.read)?;
    Ok(Panel {
        frames: symbols.into_iter().map(|(s, _)| s).zip(frames).collect(),
        missing,
        tz: req.read.tz.clone(),
    })
}

/// The schema of a long panel: a dictionary-encoded `symbol`, then the columns of a
/// single-symbol read.
fn long_schema(utc_zone: Option<&str>) -> SchemaRef {
    let single = Bars::default()
        .into_batch(utc_zone.map(Into::into))
        .schema();
    let mut fields = vec![Field::new(
        "symbol",
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        false,
    )];
    fields.extend(single.fields().iter().map(|f| f.as_ref().clone()));
    Arc::new(Schema::new(fields))
}

/// Concatenates frames into one long batch whose `symbol` keys index `dictionary`.
/// `utc`: instants tagged with `zone`, else wall-clock times.
fn long_batch(frames: &[(usize, &Frame)], dictionary: &ArrayRef, utc: Option<&str>) -> RecordBatch {
    let rows = frames.iter().map(|(_, f)| f.bars.len()).sum();
    let mut keys = Vec::with_capacity(rows);
    let mut bars = Bars::with_capacity(rows);
    for (key, frame) in frames {
        let b = &frame.bars;
        keys.extend(std::iter::repeat_n(*key as i32, b.len()));
        match utc {
            Some(_) => bars.ts.extend_from_slice(&b.ts),
            None => bars.ts.extend(frame.local.iter().map(|s| s * 1000)),
        }
        for (to, from) in bars
            .values_mut()
            .into_iter()
            .zip([&b.open, &b.high, &b.low, &b.close, &b.volume])
        {
            to.extend_from_slice(from);
        }
    }
    let values = bars.into_batch(utc.map(Into::into));
    let symbols = DictionaryArray::new(Int32Array::from(keys), dictionary.clone());
    let mut columns: Vec<ArrayRef> = vec![Arc::new(symbols)];
    columns.extend(values.columns().iter().cloned());
    RecordBatch::try_new(long_schema(utc), columns).expect("columns match the schema")
}

/// The sorted union of sorted lists, merged pairwise in parallel: n log k work, where
/// sorting the concatenation would be n log n.
fn union_sorted(lists: &[&[i64]]) -> Vec<i64> {
    match lists {
        [] => Vec::new(),
        [one] => {
            let mut v = one.to_vec();
            v.dedup();
            v
        }
        _ => {
            let (a, b) = lists.split_at(lists.len() / 2);
            let (a, b) = rayon::join(|| union_sorted(a), || union_sorted(b));
            let mut out = Vec::with_capacity(a.len().max(b.len()));
            let (mut i, mut j) = (0, 0);
            while i < a.len() && j < b.len() {
                let t = a[i].min(b[j]);
                out.push(t);
                i += usize::from(a[i] == t);
                j += usize::from(b[j] == t);
            }
            out.extend_from_slice(&a[i..]);
            out.extend_from_slice(&b[j..]);
            out
        }
    }
}

/// The position in `index` (sorted, holding every one of `ts`) of each of `ts` (sorted):
/// one step per time where they are dense in the index, a binary search where not.
fn positions<'a>(index: &'a [i64], ts: &'a [i64]) -> impl Iterator<Item = usize> + 'a {
    let mut at = 0;
    ts.iter().map(move |t| {
        if index[at] != *t {
            // most often the next time of the index
            at += 1;
            if index[at] != *t {
                at += index[at..].partition_point(|x| x < t);
            }
        }
        at
    })
}

/// The zone to tag UTC instants with when `utc`: the request's `tz`, which every frame
/// shares (UTC without one).
fn utc_zone(tz: Option<&str>, utc: bool) -> Option<String> {
    utc.then(|| tz.unwrap_or("UTC").to_string())
}

impl Panel {
    /// One long batch: `symbol` (dictionary-encoded), `timestamp`, the five values,
    /// sorted by symbol then time. `utc`: UTC instants tagged with the request's `tz`;
    /// else each symbol's wall-clock times.
    pub fn into_long(self, utc: bool) -> RecordBatch {
        let utc = utc_zone(self.tz.as_deref(), utc);
        let dictionary: ArrayRef = Arc::new(StringArray::from_iter_values(
            self.frames.iter().map(|(s, _)| s.as_str()),
        ));
        let frames: Vec<(usize, &Frame)> = self
            .frames
            .iter()
            .enumerate()
            .map(|(i, (_, f))| (i, f))
            .collect();
        long_batch(&frames, &dictionary, utc.as_deref())
    }

    /// [`Panel::into_long`] with `timestamp` dictionary-encoded over the sorted union of
    /// every symbol's times: the codes and levels of a `(symbol, timestamp)` index, which
    /// pandas would otherwise find by factorising every timestamp.
    pub fn into_long_indexed(self, utc: bool) -> RecordBatch {
        let lengths: Vec<usize> = self.frames.iter().map(|(_, f)| f.bars.len()).collect();
        let batch = self.into_long(utc);
        let ts = batch
            .column(1)
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .expect("millisecond timestamps")
            .values();
        // each symbol's rows, in the order of the frames
        let mut runs: Vec<&[i64]> = Vec::with_capacity(lengths.len());
        let mut start = 0;
        for n in lengths {
            runs.push(&ts[start..start + n]);
            start += n;
        }
        let index = union_sorted(&runs);
        let codes: Vec<i32> = runs
            .par_iter()
            .flat_map_iter(|run| positions(&index, run).map(|p| p as i32))
            .collect();
        let zone = match batch.schema().field(1).data_type() {
            DataType::Timestamp(_, zone) => zone.clone(),
            _ => None,
        };
        let levels = TimestampMillisecondArray::from(index).with_timezone_opt(zone);
        let times = DictionaryArray::new(Int32Array::from(codes), Arc::new(levels));
        let mut fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields[1] = Field::new("timestamp", times.data_type().clone(), false);
        let mut columns = batch.columns().to_vec();
        columns[1] = Arc::new(times);
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .expect("columns match the schema")
    }

    /// One wide batch: `timestamp` (the union of every symbol's, sorted), then one
    /// column per symbol holding `column` (`NaN` where the symbol has no bar).
    pub fn into_wide(self, column: &str, utc: bool) -> Result<RecordBatch> {
        let pick = pivot_column(column)?;
        let utc = utc_zone(self.tz.as_deref(), utc);
        let utc = utc.as_deref();
        let times = |f: &Frame| -> Vec<i64> {
            if utc.is_some() {
                f.bars.ts.clone()
            } else {
                f.local.iter().map(|s| s * 1000).collect()
            }
        };
        let per_symbol: Vec<Vec<i64>> = self.frames.iter().map(|(_, f)| times(f)).collect();
        let lists: Vec<&[i64]> = per_symbol.iter().map(Vec::as_slice).collect();
        let index = union_sorted(&lists);
        let columns: Vec<ArrayRef> = self
            .frames
            .par_iter()
            .zip(&lists)
            .map(|((_, f), ts)| {
                let values = [
                    &f.bars.open,
                    &f.bars.high,
                    &f.bars.low,
                    &f.bars.close,
                    &f.bars.volume,
                ][pick];
                let mut out = vec![f64::NAN; index.len()];
                for (at, v) in positions(&index, ts).zip(values) {
                    out[at] = *v;
                }
                Arc::new(Float64Array::from(out)) as ArrayRef
            })
            .collect();
        let mut fields = vec![Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Millisecond, utc.map(Into::into)),
            false,
        )];
        fields.extend(
            self.frames
                .iter()
                .map(|(s, _)| Field::new(s, DataType::Float64, true)),
        );
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(
            TimestampMillisecondArray::from(index).with_timezone_opt(utc.map(Arc::<str>::from)),
        )];
        arrays.extend(columns);
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
            .expect("columns match the schema"))
    }
}

/// A panel read as a stream of long batches, a few symbols at a time: memory holds one
/// group of symbols, however many the request covers. Every batch shares one
/// dictionary of all the request's symbols. `S` is how the stream holds its store: a
/// reference, or an `Arc` for a stream that outlives its caller (Python's).
pub struct PanelStream<S> {
    store: S,
    read: ReadRequest,
    symbols: Vec<Planned>,
    dictionary: ArrayRef,
    next: usize,
    group: usize,
    utc: Option<String>,
    schema: SchemaRef,
    /// Symbols of the request that are not stored (left out under `skip_missing`).
    pub missing: Vec<String>,
}

impl<S: Deref<Target = dyn Store>> PanelStream<S> {
    /// Plans the read (failing on symbols not stored unless `skip_missing`); reading
    /// happens as batches are taken.
    pub fn new(store: S, req: &PanelRequest, utc: bool) -> Result<Self> {
        let (symbols, missing) = plan(&*store, req)?;
        let group = 2 * store.concurrent_reads();
        let utc = utc_zone(req.read.tz.as_deref(), utc);
        Ok(PanelStream {
            store,
            read: req.read.clone(),
            dictionary: Arc::new(StringArray::from_iter_values(
                symbols.iter().map(|(s, _)| s),
            )),
            symbols,
            next: 0,
            group,
            schema: long_schema(utc.as_deref()),
            utc,
            missing,
        })
    }

    /// Reads the next group of symbols: their positions in the request and frames,
    /// `None` after the last.
    fn next_group(&mut self) -> Result<Option<(std::ops::Range<usize>, Vec<Frame>)>> {
        if self.next >= self.symbols.len() {
            return Ok(None);
        }
        let group = self.next..(self.next + self.group).min(self.symbols.len());
        let frames = read_all(&*self.store, &self.symbols[group.clone()], &self.read)?;
        self.next = group.end;
        Ok(Some((group, frames)))
    }

    /// The next group's batch, `None` after the last.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let Some((group, frames)) = self.next_group()? else {
            return Ok(None);
        };
        let keyed: Vec<(usize, &Frame)> = group.zip(&frames).collect();
        Ok(Some(long_batch(
            &keyed,
            &self.dictionary,
            self.utc.as_deref(),
        )))
    }
}

impl<S: Deref<Target = dyn Store>> Iterator for PanelStream<S> {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch()
            .map_err(|e| ArrowError::ExternalError(Box::new(e)))
            .transpose()
    }
}

impl<S: Deref<Target = dyn Store>> RecordBatchReader for PanelStream<S> {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// Writes a stream as CSV: `symbol,timestamp,open,high,low,close,volume`, as
/// [`read::write_csv`] writes one symbol.
pub fn write_csv<S: Deref<Target = dyn Store>>(
    stream: &mut PanelStream<S>,
    out: &mut dyn Write,
) -> Result<()> {
    let io = |e: std::io::Error| Error::output(Path::new("-"), e);
    out.write_all(b"symbol,timestamp,open,high,low,close,volume\n")
        .map_err(io)?;
    let mut buf = Vec::with_capacity(1 << 16);
    while let Some((group, frames)) = stream.next_group()? {
        for ((name, _), frame) in stream.symbols[group].iter().zip(&frames) {
            read::write_rows(frame, Some(name), &mut buf, out).map_err(io)?;
        }
    }
    out.flush().map_err(io)
}

/// Writes a stream as one Parquet file, batch by batch.
pub fn write_parquet<S: Deref<Target = dyn Store>>(
    stream: &mut PanelStream<S>,
    path: &Path,
) -> Result<()> {
    // the symbol as plain strings: Parquet dictionary-encodes them itself, and the
    // writer keeps memory per row group for an Arrow dictionary column (measured: 2.7 GiB
    // for 2,000 symbols, against a flat 80 MiB for strings)
    let mut fields: Vec<Field> = stream
        .schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields[0] = Field::new("symbol", DataType::Utf8, false);
    let schema = Arc::new(Schema::new(fields));
    let file = std::fs::File::create(path).map_err(|e| Error::output(path, e))?;
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None)
        .map_err(|e| Error::output(path, e))?;
    while let Some(batch) = stream.next_batch()? {
        let mut columns = batch.columns().to_vec();
        columns[0] = arrow::compute::cast(&columns[0], &DataType::Utf8)
            .map_err(|e| Error::output(path, e))?;
        let batch =
            RecordBatch::try_new(schema.clone(), columns).expect("columns match the schema");
        w.write(&batch).map_err(|e| Error::output(path, e))?;
        // a row group per group of symbols: the writer holds no more than one
        w.flush().map_err(|e| Error::output(path, e))?;
    }
    w.close().map_err(|e| Error::output(path, e))?;
    Ok(())
}

/// The position in [`VALUE_COLUMNS`] of the column a wide read spreads; callers check
/// it before reading.
pub fn pivot_column(column: &str) -> Result<usize, OptionError> {
    VALUE_COLUMNS
        .iter()
        .position(|c| *c == column)
        .ok_or_else(|| OptionError::new("pivot", column, "use open, high, low, close or volume"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_union_of_sorted_lists_is_sorted_and_whole() {
        let lists: [&[i64]; 5] = [&[1, 2, 3, 10], &[2, 3, 4], &[], &[0, 10, 11], &[5]];
        assert_eq!(union_sorted(&lists), vec![0, 1, 2, 3, 4, 5, 10, 11]);
        assert_eq!(union_sorted(&[]), Vec::<i64>::new());
    }

    #[test]
    fn positions_are_found_where_times_are_dense_and_where_sparse() {
        let index: Vec<i64> = (0..100).map(|i| i * 60).collect();
        let dense: Vec<i64> = (10..60).map(|i| i * 60).collect();
        let sparse = [0, 60 * 7, 60 * 8, 60 * 50, 60 * 99];
        for ts in [&dense[..], &sparse[..], &index[..]] {
            let want: Vec<usize> = ts.iter().map(|t| (t / 60) as usize).collect();
            assert_eq!(positions(&index, ts).collect::<Vec<_>>(), want);
        }
    }
}
