//! Columnar bars: the one in-memory shape data takes between parse, store and read.
//!
//! Columns, not a `Vec` of row structs, so that a batch moves into Arrow arrays and
//! Parquet pages without per-row work. Times are UTC epoch milliseconds. A missing
//! volume (index data) is `NaN`: input validation rejects a literal `NaN`, so the value
//! is unambiguous, and it becomes a null in Arrow.

/// A batch of bars, sorted by `ts` unless a method says otherwise.
#[derive(Clone, Debug, Default)]
pub struct Bars {
    /// Bar start, UTC epoch milliseconds.
    pub ts: Vec<i64>,
    /// Opening price.
    pub open: Vec<f64>,
    /// Highest price.
    pub high: Vec<f64>,
    /// Lowest price.
    pub low: Vec<f64>,
    /// Closing price.
    pub close: Vec<f64>,
    /// Traded volume; `NaN` when the source has none.
    pub volume: Vec<f64>,
}

use arrow::array::{ArrayRef, Float64Array, RecordBatch, TimestampMillisecondArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use std::sync::Arc;

/// One bar's values, in column order.
pub type Row = (i64, [f64; 5]);

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

impl PartialEq for Bars {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && (0..self.len()).all(|i| self.same_row(i, other, i))
    }
}

impl Bars {
    /// An empty batch with room for `n` rows.
    pub fn with_capacity(n: usize) -> Self {
        Bars {
            ts: Vec::with_capacity(n),
            open: Vec::with_capacity(n),
            high: Vec::with_capacity(n),
            low: Vec::with_capacity(n),
            close: Vec::with_capacity(n),
            volume: Vec::with_capacity(n),
        }
    }

    /// Makes room for `n` more bars (as [`Vec::reserve`]).
    pub fn reserve(&mut self, n: usize) {
        self.ts.reserve(n);
        for c in self.values_mut() {
            c.reserve(n);
        }
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// True when there are no bars.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// The five value columns, in order: open, high, low, close, volume.
    pub fn values_mut(&mut self) -> [&mut Vec<f64>; 5] {
        [
            &mut self.open,
            &mut self.high,
            &mut self.low,
            &mut self.close,
            &mut self.volume,
        ]
    }

    /// An Arrow batch `timestamp, open, high, low, close, volume` whose timestamps (ms)
    /// are tagged with `zone` (`None`: wall-clock times). The columns move into Arrow
    /// without a copy; a missing volume becomes a null.
    pub fn into_batch(self, zone: Option<Arc<str>>) -> RecordBatch {
        let nulls = self
            .volume
            .iter()
            .any(|v| v.is_nan())
            .then(|| NullBuffer::from_iter(self.volume.iter().map(|v| !v.is_nan())));
        let price = |n: &str| Field::new(n, DataType::Float64, false);
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Millisecond, zone.clone()),
                false,
            ),
            price("open"),
            price("high"),
            price("low"),
            price("close"),
            Field::new("volume", DataType::Float64, true),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampMillisecondArray::from(self.ts).with_timezone_opt(zone)),
            Arc::new(Float64Array::from(self.open)),
            Arc::new(Float64Array::from(self.high)),
            Arc::new(Float64Array::from(self.low)),
            Arc::new(Float64Array::from(self.close)),
            Arc::new(Float64Array::new(self.volume.into(), nulls)),
        ];
        RecordBatch::try_new(schema, columns).expect("columns match the schema")
    }

    /// Appends one bar.
    #[inline(always)]
    pub fn push(&mut self, (ts, [o, h, l, c, v]): Row) {
        self.ts.push(ts);
        self.open.push(o);
        self.high.push(h);
        self.low.push(l);
        self.close.push(c);
        self.volume.push(v);
    }

    /// The bar at `i`.
    #[inline]
    pub fn row(&self, i: usize) -> Row {
        (
            self.ts[i],
            [
                self.open[i],
                self.high[i],
                self.low[i],
                self.close[i],
                self.volume[i],
            ],
        )
    }

    /// True when bar `i` here and bar `j` of `other` have the same time and values.
    pub fn same_row(&self, i: usize, other: &Bars, j: usize) -> bool {
        let ((ta, a), (tb, b)) = (self.row(i), other.row(j));
        ta == tb && a.iter().zip(b.iter()).all(|(x, y)| same(*x, *y))
    }

    /// Moves every bar of `other` to the end of this batch.
    pub fn append(&mut self, other: &mut Bars) {
        self.ts.append(&mut other.ts);
        self.open.append(&mut other.open);
        self.high.append(&mut other.high);
        self.low.append(&mut other.low);
        self.close.append(&mut other.close);
        self.volume.append(&mut other.volume);
    }

    /// Keeps the bars whose index passes `keep`, in order.
    pub fn retain_index(&mut self, mut keep: impl FnMut(usize) -> bool) -> Bars {
        let mut out = Bars::with_capacity(self.len());
        for i in 0..self.len() {
            if keep(i) {
                out.push(self.row(i));
            }
        }
        out
    }

    /// Sorts by time and keeps, for each timestamp, the bar that came last in the
    /// input order (a later line of a file corrects an earlier one). Returns the input
    /// positions that were dropped, each paired with the position that replaced it.
    pub fn sort_dedup_last(&mut self) -> Vec<(usize, usize)> {
        let sorted = self.ts.windows(2).all(|w| w[0] < w[1]);
        if sorted {
            return Vec::new();
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&i| self.ts[i]);
        let mut dropped = Vec::new();
        let mut out = Bars::with_capacity(self.len());
        let mut k = 0;
        while k < order.len() {
            let mut last = k;
            while last + 1 < order.len() && self.ts[order[last + 1]] == self.ts[order[k]] {
                last += 1;
            }
            for &d in &order[k..last] {
                dropped.push((d, order[last]));
            }
            out.push(self.row(order[last]));
            k = last + 1;
        }
        *self = out;
        dropped
    }

    /// Merges two sorted, duplicate-free batches; on equal times the bar of `newer` wins.
    pub fn merge(older: &Bars, newer: &Bars) -> Bars {
        let mut out = Bars::with_capacity(older.len() + newer.len());
        let (mut i, mut j) = (0, 0);
        while i < older.len() || j < newer.len() {
            if j == newer.len() || (i < older.len() && older.ts[i] < newer.ts[j]) {
                out.push(older.row(i));
                i += 1;
            } else {
                if i < older.len() && older.ts[i] == newer.ts[j] {
                    i += 1;
                }
                out.push(newer.row(j));
                j += 1;
            }
        }
        out
    }

    /// The index range of bars with `start <= ts <= end` (both in UTC ms).
    pub fn range(&self, start: i64, end: i64) -> std::ops::Range<usize> {
        within(&self.ts, start, end)
    }

    /// Drops the bars from index `at` on with a `ts` outside `start..=end`: a read's
    /// output trims what it just appended, moving no more than that.
    pub fn keep_within(&mut self, at: usize, start: i64, end: i64) {
        let r = within(&self.ts[at..], start, end);
        if r == (0..self.len() - at) {
            return;
        }
        let (keep_to, drop_to) = (at + r.end, at + r.start);
        self.ts.truncate(keep_to);
        self.ts.drain(at..drop_to);
        for c in self.values_mut() {
            c.truncate(keep_to);
            c.drain(at..drop_to);
        }
    }

    /// A copy of the bars in an index range.
    pub fn slice(&self, r: std::ops::Range<usize>) -> Bars {
        Bars {
            ts: self.ts[r.clone()].to_vec(),
            open: self.open[r.clone()].to_vec(),
            high: self.high[r.clone()].to_vec(),
            low: self.low[r.clone()].to_vec(),
            close: self.close[r.clone()].to_vec(),
            volume: self.volume[r].to_vec(),
        }
    }
}

/// The index range of sorted times `ts` with `start <= t <= end`.
fn within(ts: &[i64], start: i64, end: i64) -> std::ops::Range<usize> {
    let a = ts.partition_point(|&t| t < start);
    a..ts.partition_point(|&t| t <= end).max(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(rows: &[(i64, f64)]) -> Bars {
        let mut b = Bars::default();
        for &(t, p) in rows {
            b.push((t, [p, p, p, p, 1.0]));
        }
        b
    }

    #[test]
    fn dedup_keeps_the_last_occurrence() {
        let mut b = bars(&[(3, 1.0), (1, 2.0), (3, 3.0), (2, 4.0), (3, 5.0)]);
        let dropped = b.sort_dedup_last();
        assert_eq!(b, bars(&[(1, 2.0), (2, 4.0), (3, 5.0)]));
        assert_eq!(dropped, vec![(0, 4), (2, 4)]);
    }

    #[test]
    fn merge_prefers_newer_rows() {
        let old = bars(&[(1, 1.0), (2, 1.0), (4, 1.0)]);
        let new = bars(&[(2, 9.0), (3, 9.0), (5, 9.0)]);
        let m = Bars::merge(&old, &new);
        assert_eq!(m, bars(&[(1, 1.0), (2, 9.0), (3, 9.0), (4, 1.0), (5, 9.0)]));
        assert_eq!(Bars::merge(&m, &m), m);
    }

    #[test]
    fn missing_volume_compares_equal() {
        let mut a = Bars::default();
        a.push((1, [1.0, 1.0, 1.0, 1.0, f64::NAN]));
        assert_eq!(a, a.clone());
        let r = a.range(0, 1);
        assert_eq!(r, 0..1);
        assert_eq!(a.range(2, 5), 1..1);
    }

    #[test]
    fn keep_within_trims_only_the_tail() {
        let all = bars(&[(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0), (5, 5.0), (6, 6.0)]);
        let mut b = all.clone();
        b.keep_within(2, 4, 5);
        assert_eq!(b, bars(&[(1, 1.0), (2, 2.0), (4, 4.0), (5, 5.0)]));
        let mut b = all.clone();
        b.keep_within(3, i64::MIN, i64::MAX);
        assert_eq!(b, all);
        b.keep_within(4, 7, 9);
        assert_eq!(b, bars(&[(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)]));
        b.keep_within(0, 2, 3);
        assert_eq!(b, bars(&[(2, 2.0), (3, 3.0)]));
    }
}
