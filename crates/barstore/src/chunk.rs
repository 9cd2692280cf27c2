//! Chunks: a run of one series' bars (an exchange day of intraday bars, a year of daily
//! ones) as one compressed blob per column: the unit of the chunked CQL layout, where a
//! CQL row per chunk instead of per bar spares the database its per-cell work.
//!
//! Codec [`TICKS`], per column:
//! - times: the first instant, then each gap in units of the gaps' greatest common
//!   divisor (a minute for minute bars, so most gaps are the byte `1`);
//! - prices and volumes: when every value is a whole number of `10^-s` for one scale `s`
//!   (checked bit for bit on the way back), the first tick and then the differences of
//!   consecutive ticks; otherwise the raw IEEE-754 bits, so any value (NaN, -0.0, a price
//!   with 15 digits) comes back unchanged;
//! - integers are zigzag varints; a column's bytes are then zstd-compressed when that
//!   makes them smaller (byte 0 of a blob says which).
//!
//! A chunk's checksum is xxh3-64 over its blobs as stored, so corruption anywhere between
//! the encoder and the decoder is caught before a value is decoded.

use crate::bars::Bars;
use std::ops::Range;

/// The codec id of the encoding described above.
pub const TICKS: i32 = 1;

/// Largest decimal scale tried for prices and volumes (nanos of a unit).
const MAX_SCALE: u32 = 9;
/// Tag of a float column stored as raw bits.
const RAW: u8 = 0xFF;
/// Byte 0 of a blob: its bytes follow as they are.
const PLAIN: u8 = 0;
/// Byte 0 of a blob: its bytes follow zstd-compressed.
const ZSTD: u8 = 1;
/// zstd level: 1 is several times faster than the default and compresses varints as well.
const ZSTD_LEVEL: i32 = 1;

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
    /// The codec id is not one this version knows.
    #[error("unknown codec {0}: written by a newer barstore?")]
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
    let r = range.clone();
    let columns = [
        seal(times(&bars.ts[r.clone()])),
        seal(floats(&bars.open[r.clone()])),
        seal(floats(&bars.high[r.clone()])),
        seal(floats(&bars.low[r.clone()])),
        seal(floats(&bars.close[r.clone()])),
        seal(floats(&bars.volume[r.clone()])),
    ];
    let refs: Vec<&[u8]> = columns.iter().map(Vec::as_slice).collect();
    Chunk {
        n: range.len() as u32,
        first: bars.ts[range.start],
        last: bars.ts[range.end - 1],
        codec: TICKS,
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
    if codec != TICKS {
        return Err(ChunkError::Codec(codec));
    }
    if checksum(&columns) != stored_checksum {
        return Err(ChunkError::Checksum);
    }
    let at = out.len();
    let [ts, open, high, low, close, volume] = columns;
    let result = (|| {
        read_times(&unseal(ts, n)?, n, &mut out.ts)?;
        for (blob, col) in [open, high, low, close, volume]
            .into_iter()
            .zip(out.values_mut())
        {
            read_floats(&unseal(blob, n)?, n, col)?;
        }
        Ok(())
    })();
    if result.is_err() {
        // leave `out` as it was: no half-decoded chunk
        out.ts.truncate(at);
        for c in out.values_mut() {
            c.truncate(at);
        }
    }
    result
}

fn put(out: &mut Vec<u8>, v: i64) {
    let mut u = ((v << 1) ^ (v >> 63)) as u64;
    while u >= 0x80 {
        out.push(u as u8 | 0x80);
        u >>= 7;
    }
    out.push(u as u8);
}

/// Reads zigzag varints from a byte slice.
struct Varints<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Varints<'_> {
    fn next(&mut self) -> Result<i64, ChunkError> {
        let mut u = 0u64;
        let mut shift = 0;
        loop {
            let b = *self
                .bytes
                .get(self.pos)
                .ok_or(ChunkError::Malformed("a column ends early"))?;
            self.pos += 1;
            if shift >= 64 {
                return Err(ChunkError::Malformed("a number is too long"));
            }
            u |= u64::from(b & 0x7F) << shift;
            if b < 0x80 {
                return Ok((u >> 1) as i64 ^ -((u & 1) as i64));
            }
            shift += 7;
        }
    }

    fn done(&self) -> Result<(), ChunkError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(ChunkError::Malformed("a column has bytes left over"))
        }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn times(ts: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ts.len() + 16);
    let unit = ts
        .windows(2)
        .fold(0, |g, w| gcd(g, w[1].wrapping_sub(w[0]).unsigned_abs()))
        .max(1);
    put(&mut out, ts[0]);
    put(&mut out, unit as i64);
    for w in ts.windows(2) {
        put(&mut out, w[1].wrapping_sub(w[0]) / unit as i64);
    }
    out
}

fn read_times(bytes: &[u8], n: usize, out: &mut Vec<i64>) -> Result<(), ChunkError> {
    let mut r = Varints { bytes, pos: 0 };
    let mut t = r.next()?;
    let unit = r.next()?;
    out.reserve(n);
    out.push(t);
    for _ in 1..n {
        t = t.wrapping_add(r.next()?.wrapping_mul(unit));
        out.push(t);
    }
    r.done()
}

/// The smallest scale at which every value is a whole number of ticks, if any.
fn scale_of(values: &[f64]) -> Option<u32> {
    (0..=MAX_SCALE).find(|&s| {
        let p = 10f64.powi(s as i32);
        values.iter().all(|&x| {
            let t = (x * p).round();
            t.abs() < 9.0e15 && (t / p).to_bits() == x.to_bits()
        })
    })
}

fn floats(values: &[f64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 2 + 2);
    match scale_of(values) {
        Some(s) => {
            let p = 10f64.powi(s as i32);
            out.push(s as u8);
            let mut prev = 0i64;
            for &x in values {
                let t = (x * p).round() as i64;
                put(&mut out, t - prev);
                prev = t;
            }
        }
        None => {
            out.push(RAW);
            for &x in values {
                out.extend_from_slice(&x.to_bits().to_le_bytes());
            }
        }
    }
    out
}

fn read_floats(bytes: &[u8], n: usize, out: &mut Vec<f64>) -> Result<(), ChunkError> {
    let (&tag, rest) = bytes
        .split_first()
        .ok_or(ChunkError::Malformed("a column is empty"))?;
    out.reserve(n);
    if tag == RAW {
        if rest.len() != n * 8 {
            return Err(ChunkError::Malformed("a raw column has the wrong length"));
        }
        out.extend(
            rest.chunks_exact(8)
                .map(|b| f64::from_bits(u64::from_le_bytes(b.try_into().expect("8 bytes")))),
        );
        return Ok(());
    }
    if u32::from(tag) > MAX_SCALE {
        return Err(ChunkError::Malformed("unknown column tag"));
    }
    let p = 10f64.powi(i32::from(tag));
    let mut r = Varints {
        bytes: rest,
        pos: 0,
    };
    let mut t = 0i64;
    for _ in 0..n {
        t = t.wrapping_add(r.next()?);
        out.push(t as f64 / p);
    }
    r.done()
}

thread_local! {
    /// One zstd context per thread, reused: making one per column cost a tenth of a
    /// day's load (the context's tables are set up and zeroed each time).
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        std::cell::RefCell::new(zstd::bulk::Compressor::new(ZSTD_LEVEL).ok());
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        std::cell::RefCell::new(zstd::bulk::Decompressor::new().ok());
}

/// Prefixes a column's bytes with how they are stored, zstd-compressing them when that
/// makes them smaller.
fn seal(bytes: Vec<u8>) -> Vec<u8> {
    if bytes.len() > 32 {
        let compressed = COMPRESSOR.with(|c| match &mut *c.borrow_mut() {
            Some(c) => c.compress(&bytes),
            None => zstd::bulk::compress(&bytes, ZSTD_LEVEL),
        });
        if let Ok(z) = compressed {
            if z.len() + 4 < bytes.len() {
                let mut out = Vec::with_capacity(z.len() + 5);
                out.push(ZSTD);
                out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                out.extend_from_slice(&z);
                return out;
            }
        }
    }
    let mut out = Vec::with_capacity(bytes.len() + 1);
    out.push(PLAIN);
    out.extend_from_slice(&bytes);
    out
}

/// A column's bytes as [`seal`] had them, for a chunk of `n` bars.
fn unseal(blob: &[u8], n: usize) -> Result<std::borrow::Cow<'_, [u8]>, ChunkError> {
    match blob.split_first() {
        Some((&PLAIN, rest)) => Ok(rest.into()),
        Some((&ZSTD, rest)) if rest.len() >= 4 => {
            let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
            // a column of n bars is at most 10 bytes a value plus a header
            if len > n * 10 + 32 {
                return Err(ChunkError::Malformed("a column claims too many bytes"));
            }
            DECOMPRESSOR
                .with(|d| match &mut *d.borrow_mut() {
                    Some(d) => d.decompress(&rest[4..], len),
                    None => zstd::bulk::decompress(&rest[4..], len),
                })
                .ok()
                .filter(|b| b.len() == len)
                .map(Into::into)
                .ok_or(ChunkError::Malformed(
                    "a compressed column does not decompress",
                ))
        }
        _ => Err(ChunkError::Malformed("unknown column storage")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(rows: &[(i64, [f64; 5])]) -> Bars {
        let mut b = Bars::default();
        for &r in rows {
            b.push(r);
        }
        b
    }

    fn round_trip(b: &Bars) -> Bars {
        let c = encode(b, 0..b.len());
        let cols = c.columns.each_ref().map(Vec::as_slice);
        let mut out = Bars::default();
        decode(c.n as usize, c.codec, c.checksum, cols, &mut out).unwrap();
        out
    }

    fn assert_bits(a: &Bars, b: &Bars) {
        assert_eq!(a.ts, b.ts);
        let bits = |x: &Bars| {
            [&x.open, &x.high, &x.low, &x.close, &x.volume]
                .map(|c| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
        };
        assert_eq!(bits(a), bits(b));
    }

    #[test]
    fn decimal_prices_round_trip_bit_for_bit() {
        let mut rows = Vec::new();
        for i in 0..390 {
            let p = 170.49 + (i % 17) as f64 * 0.01;
            rows.push((
                1_714_570_200_000 + i * 60_000,
                [p, p + 0.05, p - 0.0125, 186.16, 18_053.0 + i as f64],
            ));
        }
        let b = bars(&rows);
        assert_bits(&round_trip(&b), &b);
        let c = encode(&b, 0..b.len());
        let bytes: usize = c.columns.iter().map(Vec::len).sum();
        assert!(bytes < 390 * 6, "{bytes} bytes for 390 bars");
    }

    #[test]
    fn any_value_round_trips_through_the_raw_fallback() {
        let b = bars(&[
            (-5, [f64::NAN, -0.0, f64::INFINITY, 1e300, f64::NAN]),
            (
                7,
                [
                    0.1 + 0.2,
                    f64::MIN_POSITIVE,
                    f64::NEG_INFINITY,
                    123_456_789.123_456_78,
                    -0.0,
                ],
            ),
            (i64::MAX / 2, [1.0, 2.0, 3.0, 4.0, 5e-324]),
        ]);
        assert_bits(&round_trip(&b), &b);
        let one = bars(&[(0, [1.0; 5])]);
        assert_bits(&round_trip(&one), &one);
    }

    #[test]
    fn corruption_is_caught_and_leaves_the_output_untouched() {
        let b = bars(&[(0, [1.5; 5]), (60_000, [1.25; 5])]);
        let mut c = encode(&b, 0..2);
        c.columns[2][1] ^= 0x40;
        let mut out = bars(&[(-1, [9.0; 5])]);
        let cols = c.columns.each_ref().map(Vec::as_slice);
        assert_eq!(
            decode(2, c.codec, c.checksum, cols, &mut out),
            Err(ChunkError::Checksum)
        );
        assert_eq!(
            decode(2, 99, c.checksum, cols, &mut out),
            Err(ChunkError::Codec(99))
        );
        // a forged checksum over malformed blobs: an error, never wrong bars
        let forged = checksum(&cols);
        let result = decode(3, c.codec, forged, cols, &mut out);
        assert!(
            matches!(result, Err(ChunkError::Malformed(_))),
            "{result:?}"
        );
        assert_eq!(out.len(), 1);
    }
}
