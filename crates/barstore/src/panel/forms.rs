//! The shapes a panel takes as Arrow: long (a dictionary-encoded symbol column, sorted
//! by symbol then time; with the timestamps dictionary-encoded over their union for
//! pandas) and wide (one column per symbol on the union of their timestamps).

use super::*;

/// The schema of a long panel: a dictionary-encoded `symbol`, then the columns of a
/// single-symbol read.
pub(super) fn long_schema(utc_zone: Option<&str>) -> SchemaRef {
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
pub(super) fn long_batch(
    frames: &[(usize, &Frame)],
    dictionary: &ArrayRef,
    utc: Option<&str>,
) -> RecordBatch {
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

/// The sorted union of sorted lists. Most often every symbol of a panel traded the same
/// minutes: one comparison of each list with the first finds that, and the union is
/// the first. Else the lists are merged pairwise in parallel: n log k work, where
/// sorting the concatenation would be n log n.
pub(super) fn union_sorted(lists: &[&[i64]]) -> Vec<i64> {
    match lists.split_first() {
        Some((first, rest)) if rest.iter().all(|l| l == first) => {
            let mut v = first.to_vec();
            v.dedup();
            v
        }
        _ => merge_sorted(lists),
    }
}

fn merge_sorted(lists: &[&[i64]]) -> Vec<i64> {
    match lists {
        [] => Vec::new(),
        [one] => {
            let mut v = one.to_vec();
            v.dedup();
            v
        }
        _ => {
            let (a, b) = lists.split_at(lists.len() / 2);
            let (a, b) = rayon::join(|| merge_sorted(a), || merge_sorted(b));
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
pub(super) fn positions<'a>(index: &'a [i64], ts: &'a [i64]) -> impl Iterator<Item = usize> + 'a {
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
pub(super) fn utc_zone(tz: Option<&str>, utc: bool) -> Option<String> {
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
        let same: [&[i64]; 3] = [&[1, 2, 2, 5], &[1, 2, 2, 5], &[1, 2, 2, 5]];
        assert_eq!(union_sorted(&same), vec![1, 2, 5]);
        let last_differs: [&[i64]; 3] = [&[1, 2, 5], &[1, 2, 5], &[1, 3, 5]];
        assert_eq!(union_sorted(&last_differs), vec![1, 2, 3, 5]);
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
