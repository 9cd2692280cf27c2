//! Candlesticks with a volume pane, on an exchange-time axis: a bar is drawn where its
//! start time is, so a missing minute or a night is empty space, never a made-up bar.

use super::{render, DrawResult, Drawing, FONT};
use crate::error::{Error, Result};
use crate::read::{read, resolve_series, Frame, ReadRequest};
use crate::store::Store;
use crate::zone::{format_local, DAY};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The body colour of a bar that closed at or above its open.
pub const UP: RGBColor = RGBColor(0x26, 0xa6, 0x9a);
/// The body colour of a bar that closed below its open.
pub const DOWN: RGBColor = RGBColor(0xef, 0x53, 0x50);
/// The colour of volume bars.
pub const VOLUME: RGBColor = RGBColor(0x90, 0xa4, 0xae);

/// A candlestick chart of a frame.
struct Candles<'a> {
    frame: &'a Frame,
    title: &'a str,
    /// The bar width in seconds (a day for daily bars).
    step: i64,
}

/// Draws `frame` (bars `step` seconds wide) as candlesticks over a volume pane and
/// writes it to `path` (`.svg` or `.png`).
pub fn plot(frame: &Frame, title: &str, step: i64, path: &Path) -> Result<()> {
    if frame.local.is_empty() {
        return Err(Error::Chart {
            path: path.to_path_buf(),
            detail: format!("{title}: no bars in the range"),
        });
    }
    render(&Candles { frame, title, step }, path)
}

/// Reads `req` and plots it (see [`plot`]), titled with the series, its resampling and
/// the range shown; returns the number of bars drawn.
pub fn plot_read(store: &dyn Store, req: &ReadRequest, path: &Path) -> Result<usize> {
    let series = resolve_series(store, &req.symbol, req.timeframe, req.adjustment.as_ref())?;
    let frame = read(store, req)?;
    let step = req.resample.unwrap_or(series.timeframe);
    let mut title = series.to_string();
    if let Some(r) = req.resample {
        title.push_str(&format!(" as {r} bars"));
    }
    if let (Some(first), Some(last)) = (frame.local.first(), frame.local.last()) {
        let (mut a, mut b) = (String::new(), String::new());
        format_local(*first, &mut a);
        format_local(*last, &mut b);
        title.push_str(&format!(", {} to {}", &a[..16], &b[..16]));
    }
    plot(&frame, &title, step.seconds(), path)?;
    Ok(frame.local.len())
}

impl Candles<'_> {
    /// The axis label of local seconds `x`: the date for daily bars or a span of days,
    /// else the time.
    fn label(&self, x: f64) -> String {
        let mut s = String::new();
        format_local(x.round() as i64, &mut s);
        let span = self.frame.local.last().unwrap_or(&0) - self.frame.local.first().unwrap_or(&0);
        if self.step >= DAY {
            s[..10].to_string()
        } else if span >= DAY {
            s[5..16].to_string()
        } else {
            s[11..16].to_string()
        }
    }
}

impl Drawing for Candles<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 700)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (f, b) = (self.frame, &self.frame.bars);
        let step = self.step as f64;
        let x0 = *f.local.first().expect("bars") as f64 - step;
        let x1 = *f.local.last().expect("bars") as f64 + 2.0 * step;
        let lo = b.low.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = b.high.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.05).max(hi.abs() * 1e-4).max(1e-9);
        let vmax = b
            .volume
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let half = step * 0.35;
        let (top, bottom) = area.split_vertically(490);

        let mut prices = ChartBuilder::on(&top)
            .caption(self.title, (FONT, 20))
            .margin(12)
            .x_label_area_size(0)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, (lo - pad)..(hi + pad))?;
        prices
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(8)
            .label_style((FONT, 13))
            .draw()?;
        let wicks = (0..b.len()).map(|i| {
            let x = f.local[i] as f64;
            let colour = if b.close[i] >= b.open[i] { UP } else { DOWN };
            PathElement::new(vec![(x, b.low[i]), (x, b.high[i])], colour)
        });
        prices.draw_series(wicks)?;
        let bodies = (0..b.len()).map(|i| {
            let x = f.local[i] as f64;
            let colour = if b.close[i] >= b.open[i] { UP } else { DOWN };
            Rectangle::new(
                [
                    (x - half, b.open[i].max(b.close[i])),
                    (x + half, b.open[i].min(b.close[i])),
                ],
                colour.filled(),
            )
        });
        prices.draw_series(bodies)?;

        let mut volume = ChartBuilder::on(&bottom)
            .margin(12)
            .margin_top(0)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, 0.0..(vmax * 1.05).max(1.0))?;
        volume
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(10)
            .y_labels(4)
            .x_label_formatter(&|x| self.label(*x))
            .y_label_formatter(&|v| compact(*v))
            .x_desc(format!("exchange time ({})", f.zone))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 13))
            .draw()?;
        let bars = (0..b.len()).filter(|&i| b.volume[i] > 0.0).map(|i| {
            let x = f.local[i] as f64;
            Rectangle::new([(x - half, b.volume[i]), (x + half, 0.0)], VOLUME.filled())
        });
        volume.draw_series(bars)?;
        Ok(())
    }
}

/// `1.2M`, `350K`, `12`.
fn compact(v: f64) -> String {
    match v.abs() {
        a if a >= 1e9 => format!("{:.1}G", v / 1e9),
        a if a >= 1e6 => format!("{:.1}M", v / 1e6),
        a if a >= 1e3 => format!("{:.0}K", v / 1e3),
        _ => format!("{v:.0}"),
    }
}
