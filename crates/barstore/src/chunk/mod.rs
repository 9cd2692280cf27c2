//! Chunks: a run of one series' bars (an exchange day of intraday bars, a year of daily
//! ones) as one compressed blob per column: the unit of the chunked CQL layout, where a
//! CQL row per chunk instead of per bar spares the database its per-cell work.
//!
//! Each chunk row says its codec, so that a chunk of a codec this version does not read
//! is an error rather than wrong bars: [`PCO`] ([`pco`]) is the one codec written and
//! read. It keeps prices and volumes as integer ticks when every value of a column is a
//! whole number of `10^-s` for one scale `s` (checked bit for bit on the way back), and
//! otherwise the raw IEEE-754 bits, so any value (NaN, -0.0, a price with 15 digits)
//! comes back unchanged.
//!
//! A chunk's checksum is xxh3-64 over its blobs as stored, so corruption anywhere between
//! the encoder and the decoder is caught before a value is decoded.

use crate::bars::Bars;
use std::ops::Range;

mod pco;

/// Codec 2: ticks and times as pcodec blobs ([`pco`]); what [`encode`] writes and
/// [`decode`] reads.
pub const PCO: i32 = 2;

/// Largest decimal scale tried for prices and volumes (nanos of a unit).
const MAX_SCALE: u32 = 9;
/// Tag of a float column stored as raw bits.
const RAW: u8 = 0xFF;

/// One encoded chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Number of bars.
    pub n: u32,
    /// First bar, UTC ms.
    pub first: i64,
    /// Last bar, UTC ms.
    pub last: i64,
    /// The codec the blobs are in.
    pub codec: i32,
    /// xxh3-64 of the blobs ([`checksum`]).
    pub checksum: i64,
    /// `ts, open, high, low, close, volume`.
    pub columns: [Vec<u8>; 6],
}

/// Why a chunk cannot be decoded. The store adds which table, symbol and day.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChunkError {
    /// The blobs do not match the checksum stored with them.
    #[error("checksum mismatch: the stored chunk is corrupt")]
    Checksum,
    /// The codec id is not the one this version reads (codec 1 of barstore 0.1, or one
    /// of a newer barstore).
    #[error("unknown codec {0}: this version of barstore reads chunks of codec {PCO} only")]
    Codec(i32),
    /// The blobs are not a valid encoding of `n` bars.
    #[error("malformed chunk: {0}")]
    Malformed(&'static str),
}

/// xxh3-64 over the blobs and their lengths.
pub fn checksum(columns: &[&[u8]]) -> i64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for c in columns {
        h.update(&(c.len() as u64).to_le_bytes());
        h.update(c);
    }
    h.digest() as i64
}

/// Encodes bars `range` of `bars` (sorted, non-empty) as a chunk.
pub fn encode(bars: &Bars, range: Range<usize>) -> Chunk {
    let columns = pco::encode(bars, range.clone());
    let refs: Vec<&[u8]> = columns.iter().map(Vec::as_slice).collect();
    Chunk {
        n: range.len() as u32,
        first: bars.ts[range.start],
        last: bars.ts[range.end - 1],
        codec: PCO,
        checksum: checksum(&refs),
        columns,
    }
}

/// Decodes a chunk of `n` bars stored as `columns` and appends its bars to `out`.
pub fn decode(
    n: usize,
    codec: i32,
    stored_checksum: i64,
    columns: [&[u8]; 6],
    out: &mut Bars,
) -> Result<(), ChunkError> {
    if codec != PCO {
        return Err(ChunkError::Codec(codec));
    }
    if checksum(&columns) != stored_checksum {
        return Err(ChunkError::Checksum);
    }
    let at = out.len();
    let result = pco::decode(n, columns, out);
    if result.is_err() {
        // leave `out` as it was: no half-decoded chunk
        out.ts.truncate(at);
        for c in out.values_mut() {
            c.truncate(at);
        }
    }
    result
}

/// The smallest scale at which every value is a whole number of ticks, if any, with the
/// values as ticks of that scale.
fn ticks_of(values: &[f64]) -> Option<(u32, Vec<i64>)> {
    let mut ticks = Vec::with_capacity(values.len());
    (0..=MAX_SCALE).find_map(|s| {
        let p = 10f64.powi(s as i32);
        ticks.clear();
        for &x in values {
            let t = whole(x * p);
            if !(t.abs() < 9.0e15 && (t / p).to_bits() == x.to_bits()) {
                return None;
            }
            ticks.push(t as i64);
        }
        Some((s, std::mem::take(&mut ticks)))
    })
}

/// `x` rounded to a whole number (ties to even) by adding and taking away 2^52, where
/// the fraction bits run out: inline arithmetic, where `f64::round` is a call into libm
/// on the baseline x86-64 target. Values too large to have a fraction come back as they
/// are (NaN and infinities included).
fn whole(x: f64) -> f64 {
    const FRACTIONLESS: f64 = 4_503_599_627_370_496.0;
    if x.abs() < FRACTIONLESS {
        let b = FRACTIONLESS.copysign(x);
        (x + b) - b
    } else {
        x
    }
}

#[cfg(test)]
mod tests;
