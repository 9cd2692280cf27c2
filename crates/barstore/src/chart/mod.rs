//! Pictures of a store: candlesticks of a series ([`candles`]), a calendar heat map of
//! what each series holds ([`coverage`]), and bar charts of measured figures
//! ([`figures`]). Each is written as SVG or PNG, chosen by the file's extension.
//!
//! Text is drawn with a font compiled into the library (DejaVu Sans Mono, see
//! `assets/DejaVu-LICENSE`), so a PNG looks the same on a machine without fonts.

pub mod candles;
pub mod coverage;
pub mod figures;

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The family name text styles use.
const FONT: &str = "sans-serif";

/// The background of every picture.
const BACKGROUND: RGBColor = RGBColor(0xff, 0xff, 0xff);

/// The error a drawing step returns, for any backend.
type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Something that can be drawn on any backend.
trait Drawing {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws on `area` (already cleared to the background).
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// Writes `drawing` to `path`: SVG for `.svg`, PNG for `.png`.
fn render(drawing: &impl Drawing, path: &Path) -> Result<()> {
    static FONT_ONCE: std::sync::Once = std::sync::Once::new();
    FONT_ONCE.call_once(|| {
        plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../../assets/DejaVuSansMono.ttf"),
        )
        .unwrap_or_else(|_| panic!("the bundled font is a valid TrueType font"));
    });
    let failed = |detail: String| Error::Chart {
        path: path.to_path_buf(),
        detail,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(failed("its directory does not exist".into()));
        }
    }
    let size = drawing.size();
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("svg") => crate::atomic::write_path(path, |tmp| {
            let area = SVGBackend::new(tmp, size).into_drawing_area();
            paint(drawing, &area).map_err(|e| failed(e.to_string()))
        }),
        Some("png") => crate::atomic::write_path(path, |tmp| {
            let area = BitMapBackend::new(tmp, size).into_drawing_area();
            paint(drawing, &area).map_err(|e| failed(e.to_string()))
        }),
        _ => Err(failed("name a .svg or .png file".into())),
    }
}

fn paint<DB: DrawingBackend>(
    drawing: &impl Drawing,
    area: &DrawingArea<DB, Shift>,
) -> DrawResult<DB> {
    area.fill(&BACKGROUND)?;
    drawing.draw(area)?;
    area.present()
}
