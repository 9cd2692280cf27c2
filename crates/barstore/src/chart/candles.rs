//! Candlesticks with a volume pane, on an exchange-time axis: a bar is drawn where its
//! start time is, so a missing minute is empty space, never a made-up bar. Gaps longer
//! than a session break (a night, a weekend) are compressed to a narrow band marked by
//! a thin line, as financial charts do, unless the axis keeps real time. Ticks fall on
//! round times (09:30, 10:00; whole days).

use super::{render, DrawResult, Drawing, FONT};
use crate::error::{Error, Result};
use crate::read::{read, resolve_series, Frame, ReadRequest};
use crate::store::Store;
use crate::zone::{format_local, DAY};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// The body colour of a bar that closed at or above its open.
pub const UP: RGBColor = RGBColor(0x26, 0xa6, 0x9a);
/// The body colour of a bar that closed below its open.
pub const DOWN: RGBColor = RGBColor(0xef, 0x53, 0x50);
/// The colour of volume bars.
pub const VOLUME: RGBColor = RGBColor(0x90, 0xa4, 0xae);
/// The colour of the lines where a session break was compressed.
const BREAK: RGBColor = RGBColor(0xb0, 0xbe, 0xc5);

/// A candlestick chart of a frame.
struct Candles<'a> {
    frame: &'a Frame,
    title: &'a str,
    /// The bar width in seconds (a day for daily bars).
    step: i64,
    axis: Axis,
}

/// Round tick intervals, in seconds.
const TICKS: [i64; 16] = [
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    DAY,
    2 * DAY,
    7 * DAY,
    14 * DAY,
    28 * DAY,
];
/// Ticks on the time axis, at most.
const MAX_TICKS: i64 = 10;

/// Where times go on the horizontal axis: runs of bars closer than a session break keep
/// their real spacing; each longer gap shrinks to two bars' width.
#[derive(Debug)]
pub struct Axis {
    /// `(first, last, x of first)` of each run, in local seconds.
    runs: Vec<(i64, i64, f64)>,
    step: i64,
}

impl Axis {
    /// The axis of bars at `local` (sorted), `step` seconds wide; with `real_time`, one
    /// run from the first bar to the last.
    pub fn new(local: &[i64], step: i64, real_time: bool) -> Axis {
        let brk = (2 * step).max(1800);
        let mut runs: Vec<(i64, i64, f64)> = Vec::new();
        for &t in local {
            match runs.last_mut() {
                Some(run) if real_time || t - run.1 <= brk => run.1 = t,
                Some(&mut (a, b, x)) => runs.push((t, t, x + (b - a) as f64 + (2 * step) as f64)),
                None => runs.push((t, t, 0.0)),
            }
        }
        Axis { runs, step }
    }

    /// The x of local time `t` (inside a run, or its nearest run's edge).
    pub fn x(&self, t: i64) -> f64 {
        let i = self.runs.partition_point(|r| r.0 <= t).saturating_sub(1);
        let (a, b, x) = self.runs[i];
        x + (t.clamp(a, b) - a) as f64
    }

    /// The x just after the last bar.
    fn end(&self) -> f64 {
        let (a, b, x) = self.runs[self.runs.len() - 1];
        x + (b - a + self.step) as f64
    }

    /// The x of each compressed gap, midway between its runs.
    fn breaks(&self) -> Vec<f64> {
        self.runs
            .windows(2)
            .map(|w| w[1].2 - self.step as f64)
            .collect()
    }

    /// Round local times inside the runs, at most [`MAX_TICKS`], with their x.
    pub fn ticks(&self) -> Vec<(i64, f64)> {
        let shown: i64 = self.runs.iter().map(|r| r.1 - r.0 + self.step).sum();
        let every = TICKS
            .iter()
            .copied()
            .find(|&t| shown / t < MAX_TICKS)
            .unwrap_or(shown / MAX_TICKS / DAY * DAY + DAY);
        let mut out = Vec::new();
        for &(a, b, _) in &self.runs {
            let mut t = a.div_euclid(every) * every;
            if t < a {
                t += every;
            }
            while t <= b + self.step {
                out.push((t, self.x(t.min(b)) + (t - t.min(b)) as f64));
                t += every;
            }
        }
        out
    }
}

/// Draws `frame` (bars `step` seconds wide) as candlesticks over a volume pane and
/// writes it to `path` (`.svg` or `.png`).
pub fn plot(frame: &Frame, title: &str, step: i64, real_time: bool, path: &Path) -> Result<()> {
    if frame.local.is_empty() {
        return Err(Error::Chart {
            path: path.to_path_buf(),
            detail: format!("{title}: no bars in the range"),
        });
    }
    let axis = Axis::new(&frame.local, step, real_time);
    render(
        &Candles {
            frame,
            title,
            step,
            axis,
        },
        path,
    )
}

/// Reads `req` and plots it (see [`plot`]), titled with the series, its resampling and
/// the range shown; returns the number of bars drawn. `real_time` keeps nights and
/// weekends at their width instead of compressing them.
pub fn plot_read(
    store: &dyn Store,
    req: &ReadRequest,
    real_time: bool,
    path: &Path,
) -> Result<usize> {
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
    plot(&frame, &title, step.seconds(), real_time, path)?;
    Ok(frame.local.len())
}

impl Candles<'_> {
    /// The axis label of local seconds `t`: the date for daily bars or a span of days,
    /// else the time.
    fn label(&self, t: i64) -> String {
        let mut s = String::new();
        format_local(t, &mut s);
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
        let (x0, x1) = (-step, self.axis.end() + step);
        let at = |i: usize| self.axis.x(f.local[i]);
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
            let x = at(i);
            let colour = if b.close[i] >= b.open[i] { UP } else { DOWN };
            PathElement::new(vec![(x, b.low[i]), (x, b.high[i])], colour)
        });
        prices.draw_series(wicks)?;
        let bodies = (0..b.len()).map(|i| {
            let x = at(i);
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
            .x_labels(0)
            .y_labels(4)
            .y_label_formatter(&|v| compact(*v))
            .x_desc(format!("exchange time ({})", f.zone))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 13))
            .draw()?;
        let bars = (0..b.len()).filter(|&i| b.volume[i] > 0.0).map(|i| {
            let x = at(i);
            Rectangle::new([(x - half, b.volume[i]), (x + half, 0.0)], VOLUME.filled())
        });
        volume.draw_series(bars)?;
        // a thin line where a night or a weekend was taken out
        let top = (vmax * 1.05).max(1.0);
        let breaks = self.axis.breaks();
        volume.draw_series(
            breaks
                .iter()
                .map(|&x| PathElement::new(vec![(x, 0.0), (x, top)], BREAK)),
        )?;
        prices.draw_series(
            breaks
                .iter()
                .map(|&x| PathElement::new(vec![(x, lo - pad), (x, hi + pad)], BREAK)),
        )?;
        // ticks on round times, placed by the axis (plotters would space them evenly)
        let base = bottom.get_base_pixel();
        let style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        for (t, x) in self.axis.ticks() {
            let (px, py) = volume.backend_coord(&(x, 0.0));
            let (px, py) = (px - base.0, py - base.1);
            bottom.draw(&PathElement::new(vec![(px, py), (px, py + 5)], BLACK))?;
            bottom.draw(&Text::new(self.label(t), (px, py + 7), style.clone()))?;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// 1min bars 09:30-15:59 on two days, local seconds.
    fn two_sessions() -> Vec<i64> {
        (0..2)
            .flat_map(|d| (570..960).map(move |m| d * DAY + m * 60))
            .collect()
    }

    #[test]
    fn nights_shrink_to_two_bars_and_real_time_keeps_them() {
        let bars = two_sessions();
        let axis = Axis::new(&bars, 60, false);
        let (close, open) = (bars[389], bars[390]);
        assert_eq!(axis.x(open) - axis.x(close), 120.0);
        assert_eq!(axis.breaks().len(), 1);
        let real = Axis::new(&bars, 60, true);
        assert_eq!(real.x(open) - real.x(close), (open - close) as f64);
        assert!(real.breaks().is_empty());
        // a missing minute stays a gap
        let holey: Vec<i64> = bars.iter().copied().filter(|&t| t != 600 * 60).collect();
        let axis = Axis::new(&holey, 60, false);
        assert_eq!(axis.x(601 * 60) - axis.x(599 * 60), 120.0);
    }

    #[test]
    fn ticks_fall_on_round_times() {
        for (bars, real) in [
            (two_sessions(), false),
            (two_sessions(), true),
            ((570..960).map(|m| m * 60).collect(), false),
        ] {
            let axis = Axis::new(&bars, 60, real);
            let ticks = axis.ticks();
            assert!(
                (3..=MAX_TICKS as usize * 2).contains(&ticks.len()),
                "{ticks:?}"
            );
            let every = ticks.windows(2).map(|w| w[1].0 - w[0].0).min().unwrap();
            assert!(
                ticks.iter().all(|(t, _)| t % every == 0 && t % 1800 == 0),
                "{ticks:?}"
            );
            assert!(ticks.windows(2).all(|w| w[0].1 < w[1].1), "{ticks:?}");
        }
    }
}
