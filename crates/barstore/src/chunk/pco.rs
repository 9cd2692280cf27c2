//! Codec [`PCO`](super::PCO), per column, each a standalone pcodec blob:
//! - times: the instants as `i64`, coded as the gaps between them;
//! - prices and volumes: byte 0 the scale `s`, then the values as integer ticks of
//!   `10^-s` (`i64`) when every value is one (prices coded as their moves, volumes as
//!   they are); else byte 0 [`RAW`] and the values as `f64` (pcodec keeps every bit:
//!   NaN payloads, -0.0).
//!
//! pcodec's decoder runs several times faster than varints with zstd, at fewer bytes a
//! bar; the decoder is the floor of a chunked read. The encoder is told how to code each column instead of trying every way: only
//! prices let it look for a common multiple (a day of whole cents in a file of four
//! decimals), which is worth a fifth of their size on real files.

use super::{ticks_of, ChunkError, MAX_SCALE, RAW};
use crate::bars::Bars;
use pco::standalone::{simple_compress, simple_decompress_into};
use pco::{ChunkConfig, DeltaSpec, ModeSpec};
use std::ops::Range;

/// pcodec's compression level: above 4 gains under 1% on bars and encodes slower.
const LEVEL: usize = 4;

/// How a column is coded.
#[derive(Clone, Copy)]
enum Column {
    /// Times and prices: the moves from one bar to the next.
    Moves,
    /// Prices: moves, of a common multiple when there is one.
    Prices,
    /// Volumes (and the raw fallback): the values as they are.
    Values,
}

fn compressed<T: pco::data_types::Number>(values: &[T], column: Column) -> Vec<u8> {
    let config = ChunkConfig::default().with_compression_level(LEVEL);
    let config = match column {
        Column::Moves => config
            .with_delta_spec(DeltaSpec::TryConsecutive(1))
            .with_mode_spec(ModeSpec::Classic),
        Column::Prices => config.with_delta_spec(DeltaSpec::TryConsecutive(1)),
        Column::Values => config
            .with_delta_spec(DeltaSpec::NoOp)
            .with_mode_spec(ModeSpec::Classic),
    };
    simple_compress(values, &config).expect("pcodec compresses any numbers")
}

/// The blobs of bars `range`: `ts, open, high, low, close, volume`.
pub(super) fn encode(bars: &Bars, r: Range<usize>) -> [Vec<u8>; 6] {
    let floats = |values: &[f64], column: Column| -> Vec<u8> {
        match ticks_of(values) {
            Some((s, ticks)) => {
                let mut out = vec![s as u8];
                out.extend(compressed(&ticks, column));
                out
            }
            None => {
                let mut out = vec![RAW];
                out.extend(compressed(values, Column::Values));
                out
            }
        }
    };
    [
        compressed(&bars.ts[r.clone()], Column::Moves),
        floats(&bars.open[r.clone()], Column::Prices),
        floats(&bars.high[r.clone()], Column::Prices),
        floats(&bars.low[r.clone()], Column::Prices),
        floats(&bars.close[r.clone()], Column::Prices),
        floats(&bars.volume[r], Column::Values),
    ]
}

/// Decodes `n` values of one blob into `out`, which holds exactly `n`.
fn decompressed<T: pco::data_types::Number>(blob: &[u8], out: &mut [T]) -> Result<(), ChunkError> {
    match simple_decompress_into(blob, out) {
        Ok(p) if p.finished && p.n_processed == out.len() => Ok(()),
        _ => Err(ChunkError::Malformed(
            "a column does not decode to its bars",
        )),
    }
}

/// Decodes the columns of a chunk of `n` bars and appends them to `out`.
pub(super) fn decode(n: usize, columns: [&[u8]; 6], out: &mut Bars) -> Result<(), ChunkError> {
    let [ts, open, high, low, close, volume] = columns;
    let at = out.ts.len();
    out.ts.resize(at + n, 0);
    decompressed(ts, &mut out.ts[at..])?;
    let mut ticks = vec![0i64; n];
    for (blob, col) in [open, high, low, close, volume]
        .into_iter()
        .zip(out.values_mut())
    {
        let (&tag, rest) = blob
            .split_first()
            .ok_or(ChunkError::Malformed("a column is empty"))?;
        if tag == RAW {
            let at = col.len();
            col.resize(at + n, 0.0);
            decompressed(rest, &mut col[at..])?;
            continue;
        }
        if u32::from(tag) > MAX_SCALE {
            return Err(ChunkError::Malformed("unknown column tag"));
        }
        decompressed(rest, &mut ticks)?;
        let p = 10f64.powi(i32::from(tag));
        col.extend(ticks.iter().map(|&t| t as f64 / p));
    }
    Ok(())
}
