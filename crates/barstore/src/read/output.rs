//! A read's frame written out: CSV (exchange wall-clock times, shortest round-tripping
//! numbers) or Parquet, and as an Arrow record batch.

use super::*;

/// Writes a frame as CSV: `timestamp,open,high,low,close,volume`, wall-clock times
/// `YYYY-MM-DD HH:MM:SS`, shortest round-tripping numbers, empty missing volumes.
pub fn write_csv(frame: &Frame, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(b"timestamp,open,high,low,close,volume\n")?;
    write_rows(frame, None, &mut Vec::with_capacity(1 << 16), out)?;
    out.flush()
}

/// Writes a frame's rows as CSV lines, each after `symbol,` when a symbol is given,
/// through `buf`.
pub fn write_rows(
    frame: &Frame,
    symbol: Option<&str>,
    buf: &mut Vec<u8>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut time = String::with_capacity(20);
    let b = &frame.bars;
    for i in 0..b.len() {
        if let Some(s) = symbol {
            buf.extend_from_slice(s.as_bytes());
            buf.push(b',');
        }
        time.clear();
        format_local(frame.local[i], &mut time);
        buf.extend_from_slice(time.as_bytes());
        write!(
            buf,
            ",{},{},{},{},",
            b.open[i], b.high[i], b.low[i], b.close[i]
        )?;
        if !b.volume[i].is_nan() {
            write!(buf, "{}", b.volume[i])?;
        }
        buf.push(b'\n');
        if buf.len() > 60_000 {
            out.write_all(buf)?;
            buf.clear();
        }
    }
    out.write_all(buf)?;
    buf.clear();
    Ok(())
}

impl Frame {
    /// The frame as an Arrow batch: wall-clock timestamps without a zone, or with
    /// `utc`, UTC instants tagged with the frame's zone. No value column is copied.
    pub fn into_batch(self, utc: bool) -> RecordBatch {
        let mut bars = self.bars;
        if utc {
            bars.into_batch(Some(self.zone.as_str().into()))
        } else {
            bars.ts = self.local;
            bars.ts.iter_mut().for_each(|s| *s *= 1000);
            bars.into_batch(None)
        }
    }
}

/// Writes a frame as a Parquet file with a wall-clock `timestamp` column (no zone).
pub fn write_parquet(frame: &Frame, path: &Path) -> Result<()> {
    let batch = frame.clone().into_batch(false);
    crate::atomic::write(path, |file| {
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None)
            .map_err(|e| Error::output(path, e))?;
        w.write(&batch).map_err(|e| Error::output(path, e))?;
        w.close().map_err(|e| Error::output(path, e))?;
        Ok(())
    })
}
