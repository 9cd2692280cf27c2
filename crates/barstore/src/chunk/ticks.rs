//! Codec [`TICKS`](super::TICKS) (chunks written before codec [`PCO`](super::PCO)),
//! per column:
//! - times: the first instant, then each gap in units of the gaps' greatest common
//!   divisor (a minute for minute bars, so most gaps are the byte `1`);
//! - prices and volumes: when every value is a whole number of `10^-s` for one scale `s`
//!   (checked bit for bit on the way back), the first tick and then the differences of
//!   consecutive ticks; otherwise the raw IEEE-754 bits;
//! - integers are zigzag varints; a column's bytes are then zstd-compressed when that
//!   makes them smaller (byte 0 of a blob says which).

use super::{ChunkError, MAX_SCALE, RAW};
use crate::bars::Bars;

/// Byte 0 of a blob: its bytes follow as they are.
const PLAIN: u8 = 0;
/// Byte 0 of a blob: its bytes follow zstd-compressed.
const ZSTD: u8 = 1;

/// Decodes the columns of a chunk of `n` bars and appends them to `out`.
pub(super) fn decode(n: usize, columns: [&[u8]; 6], out: &mut Bars) -> Result<(), ChunkError> {
    let [ts, open, high, low, close, volume] = columns;
    read_times(&unseal(ts, n)?, n, &mut out.ts)?;
    for (blob, col) in [open, high, low, close, volume]
        .into_iter()
        .zip(out.values_mut())
    {
        read_floats(&unseal(blob, n)?, n, col)?;
    }
    Ok(())
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

/// A column's bytes as the encoder had them, for a chunk of `n` bars.
fn unseal(blob: &[u8], n: usize) -> Result<std::borrow::Cow<'_, [u8]>, ChunkError> {
    match blob.split_first() {
        Some((&PLAIN, rest)) => Ok(rest.into()),
        Some((&ZSTD, rest)) if rest.len() >= 4 => {
            let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
            // a column of n bars is at most 10 bytes a value plus a header
            if len > n * 10 + 32 {
                return Err(ChunkError::Malformed("a column claims too many bytes"));
            }
            zstd::bulk::decompress(&rest[4..], len)
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
