//! A bar chart of measured figures: how many times faster barstore is than each
//! baseline, on a logarithmic scale so that x2 and x50 both read.

use super::{render, DrawResult, Drawing, FONT};
use crate::error::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Deserialize;
use std::path::Path;

/// The colour of the bars.
pub const BAR: RGBColor = RGBColor(0x21, 0x96, 0xf3);

/// One comparison: barstore's figure and a baseline's, in the same unit.
#[derive(Clone, Debug, Deserialize)]
pub struct Figure {
    /// What was measured, e.g. `CQL load, chunked`.
    pub label: String,
    /// The baseline's name, e.g. `cqlsh COPY`.
    pub baseline: String,
    /// How many times faster barstore was (baseline time over barstore's, or barstore's
    /// rate over the baseline's).
    pub ratio: f64,
    /// Barstore's figure as it should be read, e.g. `2.04M rows/s`.
    pub detail: String,
}

struct Figures<'a> {
    title: &'a str,
    figures: &'a [Figure],
}

/// Writes the figures as horizontal bars to `path` (`.svg` or `.png`).
pub fn draw(title: &str, figures: &[Figure], path: &Path) -> Result<()> {
    render(&Figures { title, figures }, path)
}

const LEFT: i32 = 330;
const ROW: i32 = 34;
const WIDTH: i32 = 560;

impl Drawing for Figures<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, (60 + ROW * self.figures.len() as i32 + 30) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let text = TextStyle::from((FONT, 13).into_font());
        area.draw_text(
            self.title,
            &TextStyle::from((FONT, 17).into_font()),
            (10, 14),
        )?;
        let top = self
            .figures
            .iter()
            .map(|f| f.ratio)
            .fold(10.0, f64::max)
            .log10();
        for (i, f) in self.figures.iter().enumerate() {
            let y = 50 + i as i32 * ROW;
            area.draw_text(&f.label, &text, (10, y + 6))?;
            let len = ((f.ratio.max(1.0).log10() / top) * f64::from(WIDTH)).round() as i32;
            area.draw(&Rectangle::new(
                [(LEFT, y), (LEFT + len.max(2), y + ROW - 10)],
                BAR.filled(),
            ))?;
            area.draw_text(
                &format!("x{:.1} vs {} ({})", f.ratio, f.baseline, f.detail),
                &text,
                (LEFT + len.max(2) + 8, y + 6),
            )?;
        }
        let axis = 50 + ROW * self.figures.len() as i32;
        area.draw(&PathElement::new(vec![(LEFT, 44), (LEFT, axis)], BLACK))?;
        area.draw_text(
            "x1 (as fast as the baseline)",
            &TextStyle::from((FONT, 11).into_font()),
            (LEFT - 90, axis + 6),
        )
    }
}
