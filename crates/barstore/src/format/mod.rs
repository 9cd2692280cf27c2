//! Input layouts: which column holds what, and how a file's layout is recognised.
//!
//! Recognition looks at the first lines only. A header row is used when its names
//! match the data's field count; otherwise the layout is read off the data itself
//! (a date-time, a date and a time, or an epoch number, then open, high, low, close and
//! an optional volume). That second path is what makes files whose header lies (a
//! `Date` header over separate date and time fields) load correctly.

use crate::error::{FileError, OptionError, Result};

/// What one field of a row holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Date and time in one field (`2024-01-02 09:30:00`, `2024-01-02T09:30`, `20240102 093000` is not accepted).
    DateTime,
    /// A date: `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYYMMDD`.
    Date,
    /// A time of day: `HH:MM` or `HH:MM:SS`.
    Time,
    /// A time since 1970-01-01 UTC in the unit given, or (`None`) in the unit its
    /// magnitude says ([`EpochUnit::of_magnitude`]).
    Epoch(Option<EpochUnit>),
    /// Opening price.
    Open,
    /// Highest price.
    High,
    /// Lowest price.
    Low,
    /// Closing price.
    Close,
    /// Volume.
    Volume,
    /// Ignored.
    Skip,
}

impl Field {
    fn from_spec_name(name: &str) -> Option<Field> {
        Some(match name {
            "datetime" | "timestamp" => Field::DateTime,
            "date" => Field::Date,
            "time" => Field::Time,
            "epoch" => Field::Epoch(None),
            "epoch_s" => Field::Epoch(Some(EpochUnit::Seconds)),
            "epoch_ms" => Field::Epoch(Some(EpochUnit::Millis)),
            "epoch_us" => Field::Epoch(Some(EpochUnit::Micros)),
            "epoch_ns" => Field::Epoch(Some(EpochUnit::Nanos)),
            "open" => Field::Open,
            "high" => Field::High,
            "low" => Field::Low,
            "close" => Field::Close,
            "volume" => Field::Volume,
            "skip" | "_" => Field::Skip,
            _ => return None,
        })
    }

    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Field::DateTime => "datetime",
            Field::Date => "date",
            Field::Time => "time",
            Field::Epoch(None) => "epoch",
            Field::Epoch(Some(EpochUnit::Seconds)) => "epoch_s",
            Field::Epoch(Some(EpochUnit::Millis)) => "epoch_ms",
            Field::Epoch(Some(EpochUnit::Micros)) => "epoch_us",
            Field::Epoch(Some(EpochUnit::Nanos)) => "epoch_ns",
            Field::Open => "open",
            Field::High => "high",
            Field::Low => "low",
            Field::Close => "close",
            Field::Volume => "volume",
            Field::Skip => "skip",
        }
    }
}

/// The unit of an epoch number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpochUnit {
    /// Seconds.
    Seconds,
    /// Milliseconds.
    Millis,
    /// Microseconds.
    Micros,
    /// Nanoseconds.
    Nanos,
}

impl EpochUnit {
    /// The unit a number's magnitude says: below 10^11 seconds (up to the year 5138),
    /// below 10^14 milliseconds, below 10^17 microseconds, else nanoseconds. Times
    /// of the years 1973 to 5138 are told apart without fail.
    pub fn of_magnitude(v: i64) -> EpochUnit {
        match v.unsigned_abs() {
            ..100_000_000_000 => EpochUnit::Seconds,
            100_000_000_000..100_000_000_000_000 => EpochUnit::Millis,
            100_000_000_000_000..100_000_000_000_000_000 => EpochUnit::Micros,
            _ => EpochUnit::Nanos,
        }
    }

    /// `v` of this unit in milliseconds (rounded down), or `None` when out of range.
    pub fn to_ms(self, v: i64) -> Option<i64> {
        match self {
            EpochUnit::Seconds => v.checked_mul(1000),
            EpochUnit::Millis => Some(v),
            EpochUnit::Micros => Some(v.div_euclid(1000)),
            EpochUnit::Nanos => Some(v.div_euclid(1_000_000)),
        }
    }

    /// The unit's name in messages and options.
    pub fn name(self) -> &'static str {
        match self {
            EpochUnit::Seconds => "seconds",
            EpochUnit::Millis => "milliseconds",
            EpochUnit::Micros => "microseconds",
            EpochUnit::Nanos => "nanoseconds",
        }
    }
}

impl std::str::FromStr for EpochUnit {
    type Err = OptionError;

    /// `s`, `ms`, `us` or `ns` (or the unit's name).
    fn from_str(s: &str) -> Result<Self, OptionError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "s" | "seconds" => EpochUnit::Seconds,
            "ms" | "milliseconds" => EpochUnit::Millis,
            "us" | "µs" | "microseconds" => EpochUnit::Micros,
            "ns" | "nanoseconds" => EpochUnit::Nanos,
            _ => return Err(OptionError::new("epoch unit", s, "use s, ms, us or ns")),
        })
    }
}

/// A recognised file layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Field separator: `,`, `;` or tab.
    pub delimiter: u8,
    /// Whether the first line is a header to skip.
    pub header: bool,
    /// The role of each field, in order; a row must have exactly this many fields.
    pub fields: Vec<Field>,
}

impl Layout {
    /// The layout with epoch numbers of no stated unit read in `unit`.
    pub fn with_epoch_unit(mut self, unit: EpochUnit) -> Self {
        for f in &mut self.fields {
            if *f == Field::Epoch(None) {
                *f = Field::Epoch(Some(unit));
            }
        }
        self
    }
}

/// The reference layout's fields: `YYYY-MM-DD HH:MM:SS,open,high,low,close,volume`.
pub const FIRSTRATE: [Field; 6] = [
    Field::DateTime,
    Field::Open,
    Field::High,
    Field::Low,
    Field::Close,
    Field::Volume,
];

/// How the layout of input files is chosen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FormatSpec {
    /// Recognise each file's layout from its first lines.
    #[default]
    Auto,
    /// Fixed field roles; the delimiter and the presence of a header are still detected.
    Fields(Vec<Field>),
}

impl std::str::FromStr for FormatSpec {
    type Err = OptionError;

    /// `auto`, `firstrate` (= `datetime,open,high,low,close,volume`), or a comma-separated
    /// list of `datetime date time epoch epoch_s epoch_ms epoch_us epoch_ns open high low close
    /// volume skip`.
    fn from_str(spec: &str) -> Result<Self, OptionError> {
        let bad = |reason: String| OptionError::new("format", spec, reason);
        match spec.trim().to_ascii_lowercase().as_str() {
            "auto" => return Ok(FormatSpec::Auto),
            "firstrate" => return Ok(FormatSpec::Fields(FIRSTRATE.to_vec())),
            _ => {}
        }
        let fields = spec
            .split(',')
            .map(|n| {
                Field::from_spec_name(n.trim().to_ascii_lowercase().as_str()).ok_or_else(|| {
                    bad(format!(
                        "unknown field {n:?}; use auto, firstrate, or fields among datetime, date, time, epoch, epoch_s, epoch_ms, epoch_us, epoch_ns, open, high, low, close, volume, skip"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        check_fields(&fields).map_err(bad)?;
        Ok(FormatSpec::Fields(fields))
    }
}

/// Checks that a field list names a time and the four prices once each.
fn check_fields(fields: &[Field]) -> Result<(), String> {
    let count = |f: Field| fields.iter().filter(|&&x| x == f).count();
    let single = count(Field::DateTime)
        + fields
            .iter()
            .filter(|f| matches!(f, Field::Epoch(_)))
            .count();
    // a date alone is the date of a daily bar
    let time_ok = single == 1 && count(Field::Date) == 0 && count(Field::Time) == 0
        || count(Field::Date) == 1 && count(Field::Time) <= 1 && single == 0;
    if !time_ok {
        return Err(
            "needs exactly one of: datetime, an epoch (epoch, epoch_s, epoch_ms, epoch_us, epoch_ns), date and time, or date"
                .into(),
        );
    }
    for f in [Field::Open, Field::High, Field::Low, Field::Close] {
        if count(f) != 1 {
            return Err(format!("needs the field {} exactly once", f.name()));
        }
    }
    if count(Field::Volume) > 1 {
        return Err("names volume more than once".into());
    }
    Ok(())
}

/// What a field's text looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    DateTime,
    Date,
    Time,
    Epoch,
    Other,
}

fn is_date(s: &[u8]) -> bool {
    let d = |r: std::ops::Range<usize>| s[r].iter().all(u8::is_ascii_digit);
    match s.len() {
        8 => d(0..8),
        10 => d(0..4) && (s[4] == b'-' || s[4] == b'/') && s[7] == s[4] && d(5..7) && d(8..10),
        _ => false,
    }
}

fn is_time(s: &[u8]) -> bool {
    s.len() >= 5
        && s[0].is_ascii_digit()
        && s[1].is_ascii_digit()
        && s[2] == b':'
        && s[3].is_ascii_digit()
        && s[4].is_ascii_digit()
}

fn shape(field: &str) -> Shape {
    let s = field.trim().trim_matches('"').as_bytes();
    if s.len() >= 9 && s.iter().all(u8::is_ascii_digit) {
        return Shape::Epoch;
    }
    if is_date(s) {
        return Shape::Date;
    }
    for n in [10, 8] {
        if s.len() > n && is_date(&s[..n]) && (s[n] == b' ' || s[n] == b'T') {
            return if is_time(s[n + 1..].trim_ascii_start()) {
                Shape::DateTime
            } else {
                Shape::Other
            };
        }
    }
    if is_time(s) {
        return Shape::Time;
    }
    Shape::Other
}

fn time_field(s: Shape) -> Option<Field> {
    Some(match s {
        Shape::DateTime => Field::DateTime,
        Shape::Date => Field::Date,
        Shape::Time => Field::Time,
        Shape::Epoch => Field::Epoch(None),
        Shape::Other => return None,
    })
}

/// Maps a header name to a role, using the data under it to tell a date from a
/// date-time or an epoch number.
fn header_field(name: &str, data: Shape) -> Field {
    let n = name.trim().trim_matches('"').to_ascii_lowercase();
    let n = n.trim_start_matches('<').trim_end_matches('>');
    match n {
        "datetime" | "date_time" | "timestamp" | "time_stamp" | "ts" | "date" | "day" | "time"
        | "dt" | "t" | "bar_time" | "start" => time_field(data).unwrap_or(Field::Skip),
        "open" | "o" | "open_price" => Field::Open,
        "high" | "h" | "high_price" => Field::High,
        "low" | "l" | "low_price" => Field::Low,
        "close" | "c" | "close_price" | "last" => Field::Close,
        "volume" | "vol" | "v" => Field::Volume,
        _ => Field::Skip,
    }
}

fn split(line: &str, delimiter: u8) -> Vec<&str> {
    line.split(delimiter as char).collect()
}

fn pick_delimiter(line: &str) -> u8 {
    let count = |c: char| line.matches(c).count();
    if count(';') >= 4 {
        b';'
    } else if count('\t') >= 4 {
        b'\t'
    } else {
        b','
    }
}

/// Reads the layout off the data fields alone.
fn layout_from_data(data: &[&str]) -> Option<Vec<Field>> {
    let shapes: Vec<Shape> = data.iter().map(|f| shape(f)).collect();
    let mut fields = match (shapes.first()?, shapes.get(1)) {
        (Shape::Date, Some(Shape::Time)) => vec![Field::Date, Field::Time],
        (s, _) => vec![time_field(*s).filter(|f| *f != Field::Time)?],
    };
    if data.len() < fields.len() + 4 {
        return None;
    }
    fields.extend([Field::Open, Field::High, Field::Low, Field::Close]);
    if data.len() > fields.len() {
        fields.push(Field::Volume);
    }
    fields.resize(data.len(), Field::Skip);
    Some(fields)
}

/// Recognises the layout of a file from its first bytes (a UTF-8 BOM already removed).
/// `file` names the file in errors.
pub fn detect(sample: &[u8], spec: &FormatSpec, file: &str) -> Result<Layout, FileError> {
    let unrecognised = |reason: &str| FileError::Unrecognised {
        file: file.to_string(),
        reason: reason.to_string(),
    };
    let text = String::from_utf8_lossy(sample);
    let mut lines = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty());
    let first = lines
        .next()
        .ok_or_else(|| unrecognised("the file is empty"))?;
    let second = lines.next();
    let header = !first
        .trim_start()
        .trim_start_matches('"')
        .starts_with(|c: char| c.is_ascii_digit());
    let data_line = if header {
        second.ok_or_else(|| unrecognised("it has a header but no data rows"))?
    } else {
        first
    };
    let delimiter = pick_delimiter(data_line);
    let data = split(data_line, delimiter);
    if let FormatSpec::Fields(fields) = spec {
        return Ok(Layout {
            delimiter,
            header,
            fields: fields.clone(),
        });
    }
    let by_header = header.then(|| {
        let names = split(first, delimiter);
        (names.len() == data.len()).then(|| {
            names
                .iter()
                .zip(&data)
                .map(|(n, d)| header_field(n, shape(d)))
                .collect::<Vec<_>>()
        })
    });
    let fields = by_header
        .flatten()
        .filter(|f| check_fields(f).is_ok())
        .or_else(|| layout_from_data(&data))
        .ok_or_else(|| {
            unrecognised(&format!(
                "the first data row {:?} does not start with a date-time, a date and a time, a date, or an epoch number followed by open, high, low, close",
                truncate(data_line)
            ))
        })?;
    Ok(Layout {
        delimiter,
        header,
        fields,
    })
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(120) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests;
