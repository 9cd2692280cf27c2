//! A calendar heat map of what a store holds: one band per series, one cell per
//! trading day (weeks left to right, Monday to Friday top to bottom), coloured by the
//! share of the day's regular-session bars present. Closed days have no cell.

use super::{render, DrawResult, Drawing, FONT};
use crate::check::{check, SeriesReport};
use crate::error::Result;
use crate::exchange::{weekday, Calendar};
use crate::read::ReadRequest;
use crate::store::Store;
use crate::zone::civil_from_days;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// The cell colour of a trading day with no bars at all.
pub const EMPTY: RGBColor = RGBColor(0xd0, 0xd7, 0xde);
/// The cell colour of a day with every regular bar present.
pub const FULL: RGBColor = RGBColor(0x1a, 0x7f, 0x37);

/// One series' band: its label and the share of regular bars present per trading day.
#[derive(Clone, Debug)]
pub struct Band {
    /// `AAPL 1min adjsplit`.
    pub label: String,
    /// Share (0..=1) per trading day (days since 1970-01-01) of the chart's range.
    pub days: BTreeMap<i64, f64>,
}

/// What a coverage chart shows.
#[derive(Clone, Debug)]
pub struct Coverage {
    /// First and last day of the chart.
    pub first: i64,
    /// Last day of the chart.
    pub last: i64,
    /// One band per series, in the order asked.
    pub bands: Vec<Band>,
}

/// Checks each request's series (see [`check`]) and lays their days out over the
/// union of their ranges; a trading day outside a series' own range counts as empty.
pub fn coverage(store: &dyn Store, requests: &[ReadRequest]) -> Result<Coverage> {
    let reports: Vec<(SeriesReport, Calendar)> = requests
        .iter()
        .map(|req| {
            let report = check(store, req)?;
            let zone = store
                .zone_of(&crate::read::resolve_series(
                    store,
                    &req.symbol,
                    req.timeframe,
                    req.adjustment.as_ref(),
                )?)?
                .unwrap_or_default();
            Ok((
                report,
                req.calendar.unwrap_or_else(|| Calendar::for_zone(&zone)),
            ))
        })
        .collect::<Result<_>>()?;
    let day_of = |date: &str| -> i64 {
        let n = |r: std::ops::Range<usize>| date[r].parse::<u32>().unwrap_or(1);
        crate::zone::days_from_civil(n(0..4) as i64, n(5..7), n(8..10))
    };
    let days = || {
        reports
            .iter()
            .flat_map(|(r, _)| r.days.iter().map(|d| day_of(&d.date)))
    };
    let (first, last) = (days().min().unwrap_or(0), days().max().unwrap_or(-1));
    let bands = reports
        .iter()
        .map(|(r, calendar)| {
            let mut shares: BTreeMap<i64, f64> = (first..=last)
                .filter(|&d| calendar.session(d).is_some())
                .map(|d| (d, 0.0))
                .collect();
            for d in r.days.iter().filter(|d| d.trading) {
                let share = match d.expected {
                    Some(e) if e > 0 => f64::from(d.present.min(e)) / f64::from(e),
                    _ => f64::from(u8::from(d.present > 0)),
                };
                shares.insert(day_of(&d.date), share);
            }
            Band {
                label: format!("{} {} {}", r.symbol, r.timeframe, r.adjustment),
                days: shares,
            }
        })
        .collect();
    Ok(Coverage { first, last, bands })
}

/// The colour of a day with `share` of its regular bars present: grey when empty, red
/// through amber to light green as the share grows, dark green when complete.
pub fn shade(share: f64) -> RGBColor {
    if share <= 0.0 {
        return EMPTY;
    }
    if share >= 1.0 {
        return FULL;
    }
    let (red, amber, green) = ((0xe5, 0x53, 0x4b), (0xf2, 0xcc, 0x60), (0x8c, 0xd9, 0x8f));
    let mix = |a: (u8, u8, u8), b: (u8, u8, u8), t: f64| {
        let m = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
        RGBColor(m(a.0, b.0), m(a.1, b.1), m(a.2, b.2))
    };
    if share < 0.5 {
        mix(red, amber, share * 2.0)
    } else {
        mix(amber, green, (share - 0.5) * 2.0)
    }
}

const TOP: i32 = 50;
const BAND_GAP: i32 = 28;

impl Coverage {
    /// Writes the chart to `path` (`.svg` or `.png`).
    pub fn draw(&self, path: &Path) -> Result<()> {
        render(self, path)
    }

    fn title(&self) -> String {
        let (y0, m0, d0) = civil_from_days(self.first);
        let (y1, m1, d1) = civil_from_days(self.last);
        format!(
            "share of regular-session bars present per trading day, {y0:04}-{m0:02}-{d0:02} to {y1:04}-{m1:02}-{d1:02}"
        )
    }

    /// Where the cells begin: after the longest band label.
    fn left(&self) -> i32 {
        let longest = self.bands.iter().map(|b| b.label.len()).max().unwrap_or(0);
        20 + 8 * longest as i32
    }

    /// The Monday on or before the first day.
    fn first_monday(&self) -> i64 {
        self.first - weekday(self.first)
    }

    fn weeks(&self) -> i64 {
        (self.last - self.first_monday()) / 7 + 1
    }

    /// Cell size and pitch in pixels: at most 12, at least 3, about 1400 pixels wide.
    fn cell(&self) -> (i32, i32) {
        let pitch = (1400 / self.weeks().max(1)).clamp(4, 13) as i32;
        (pitch - 1, pitch)
    }
}

impl Drawing for Coverage {
    fn size(&self) -> (u32, u32) {
        let (_, pitch) = self.cell();
        let width = self.left() + pitch * self.weeks() as i32 + 30;
        let height = TOP + self.bands.len() as i32 * (5 * pitch + BAND_GAP) + 40;
        (
            width.max(20 + 10 * self.title().len() as i32) as u32,
            height as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (cell, pitch) = self.cell();
        let text = TextStyle::from((FONT, 13).into_font()).color(&BLACK);
        area.draw_text(
            &self.title(),
            &TextStyle::from((FONT, 16).into_font()),
            (10, 12),
        )?;
        let monday = self.first_monday();
        for (b, band) in self.bands.iter().enumerate() {
            let top = TOP + b as i32 * (5 * pitch + BAND_GAP);
            area.draw_text(&band.label, &text, (10, top + 2 * pitch))?;
            // a month label over the week its first trading day falls in
            let mut month = None;
            for (&day, &share) in &band.days {
                let col = ((day - monday) / 7) as i32;
                let x = self.left() + col * pitch;
                let y = top + weekday(day) as i32 * pitch;
                let (year, m, _) = civil_from_days(day);
                if month != Some((year, m)) {
                    let label = if m == 1 || month.is_none() {
                        format!("{year}")
                    } else {
                        MONTHS[m as usize - 1].to_string()
                    };
                    month = Some((year, m));
                    if pitch >= 8 || m == 1 {
                        area.draw_text(
                            &label,
                            &TextStyle::from((FONT, 11).into_font()),
                            (x, top - 13),
                        )?;
                    }
                }
                area.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    shade(share).filled(),
                ))?;
            }
        }
        self.legend(area)
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Coverage {
    /// The colour key, as dots so that the only squares are days.
    fn legend<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (_, height) = self.size();
        let y = height as i32 - 20;
        let style = TextStyle::from((FONT, 12).into_font());
        let mut x = 10;
        for (label, share) in [
            ("none", 0.0),
            ("25%", 0.25),
            ("50%", 0.5),
            ("75%", 0.75),
            ("99%", 0.99),
            ("all", 1.0),
        ] {
            area.draw(&Circle::new((x + 5, y), 5, shade(share).filled()))?;
            area.draw_text(label, &style, (x + 14, y - 6))?;
            x += 70;
        }
        Ok(())
    }
}
