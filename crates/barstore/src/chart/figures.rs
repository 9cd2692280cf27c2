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

const ROW: i32 = 34;
const WIDTH: i32 = 500;
/// Pixels per character of the 13-pixel monospaced font.
const CHAR: i32 = 8;

impl Figures<'_> {
    fn annotation(f: &Figure) -> String {
        format!("x{:.1} vs {} ({})", f.ratio, f.baseline, f.detail)
    }

    /// Where the bars begin: after the longest label.
    fn left(&self) -> i32 {
        20 + CHAR
            * self
                .figures
                .iter()
                .map(|f| f.label.len())
                .max()
                .unwrap_or(0) as i32
    }
}

impl Drawing for Figures<'_> {
    fn size(&self) -> (u32, u32) {
        let notes = self
            .figures
            .iter()
            .map(|f| Self::annotation(f).len())
            .max()
            .unwrap_or(0);
        let width = self.left() + WIDTH + 20 + CHAR * notes as i32;
        (
            width.max(CHAR * self.title.len() as i32 + 20) as u32,
            (60 + ROW * self.figures.len() as i32 + 30) as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let text = TextStyle::from((FONT, 13).into_font());
        area.draw_text(
            self.title,
            &TextStyle::from((FONT, 17).into_font()),
            (10, 14),
        )?;
        let left = self.left();
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
                [(left, y), (left + len.max(2), y + ROW - 10)],
                BAR.filled(),
            ))?;
            area.draw_text(&Self::annotation(f), &text, (left + len.max(2) + 8, y + 6))?;
        }
        let axis = 50 + ROW * self.figures.len() as i32;
        area.draw(&PathElement::new(vec![(left, 44), (left, axis)], BLACK))?;
        area.draw_text(
            "x1 (as fast as the baseline)",
            &TextStyle::from((FONT, 11).into_font()),
            (left - 90, axis + 6),
        )
    }
}
