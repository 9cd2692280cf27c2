//! Why stored series cannot be read as asked.

/// Why stored series cannot be read as asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// No bars are stored for the symbol.
    #[error("symbol {0:?} is not in the store")]
    UnknownSymbol(String),
    /// Symbols of a many-symbol read that are not stored.
    #[error("not in the store: {list} ({count} of the symbols asked for; leave them out, or skip them with --skip-missing or missing=\"skip\")", list = preview(.symbols))]
    UnknownSymbols {
        /// How many.
        count: usize,
        /// Which, sorted.
        symbols: Vec<String>,
    },
    /// The symbol is stored, but not in the series asked for.
    #[error("{symbol} has no {wanted} series; stored: {stored}")]
    UnknownSeries {
        /// The symbol.
        symbol: String,
        /// The timeframe and adjustment asked for.
        wanted: String,
        /// The stored series of the symbol.
        stored: String,
    },
    /// The symbol has several stored series and the request does not say which.
    #[error("{symbol} has several {what} stored: {choices}; choose one")]
    Ambiguous {
        /// The symbol.
        symbol: String,
        /// What to choose (`adjustments`).
        what: String,
        /// The stored choices, comma-separated.
        choices: String,
    },
    /// The start of the range is after its end.
    #[error("start {start} is after end {end}")]
    Range {
        /// The start as given.
        start: String,
        /// The end as given.
        end: String,
    },
    /// A time outside what the time zone database covers.
    #[error("time out of range: {source}")]
    OutOfRange {
        /// The time library's error.
        source: jiff::Error,
    },
    /// Resampling into a timeframe that is not a whole number of the stored bars.
    #[error("cannot resample {series} into {target} bars: the target must be a whole number of {base} bars")]
    Resample {
        /// The stored series.
        series: String,
        /// The timeframe asked for.
        target: String,
        /// The stored series' timeframe.
        base: String,
    },
    /// Two stores hold one series with different time zones.
    #[error("{series} is stored in {to} with time zone {to_zone}, in {from} with {from_zone}")]
    Zones {
        /// The series.
        series: String,
        /// The store copied into, and its zone for the series.
        to: String,
        /// The zone in `to`.
        to_zone: String,
        /// The store copied from.
        from: String,
        /// The zone in `from`.
        from_zone: String,
    },
    /// After a copy, the target's month is not the source's: the target held bars of
    /// its own there, which a copy (an upsert) keeps.
    #[error("copy of {month} from {from} to {to}: the target's month differs from the source's after the copy ({source_rows} bars in the source, {target_rows} in the target: {missing} missing, {extra} the source lacks, {different} different); a copy keeps the target's other bars, so copy into a store or table that holds only copies")]
    CopyDiffers {
        /// The series and the month (`YYYY-MM`).
        month: String,
        /// The store copied from.
        from: String,
        /// The store copied into.
        to: String,
        /// Bars of the month in the source.
        source_rows: u64,
        /// Bars of the month in the target.
        target_rows: u64,
        /// Source bars absent from the target.
        missing: u64,
        /// Target bars absent from the source.
        extra: u64,
        /// Bars in both with different values.
        different: u64,
    },
    /// A series cannot be adjusted on read as asked.
    #[error("cannot adjust {series}: {detail}")]
    Adjust {
        /// The series.
        series: String,
        /// Why, and what to do.
        detail: String,
    },
}

/// The first symbols of a list, then how many more.
pub(super) fn preview(symbols: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut out = symbols
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if symbols.len() > SHOWN {
        out.push_str(&format!(" and {} more", symbols.len() - SHOWN));
    }
    out
}
