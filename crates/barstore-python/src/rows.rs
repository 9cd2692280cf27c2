//! The tuples tables cross into Python as, before pandas makes frames of them.

/// `(symbol, timeframe, adjustment, rows, first, last, zone)`.
pub(crate) type SeriesRow = (String, String, String, u64, i64, i64, String);

/// `(symbol, timeframe, adjustment, source_rows, store_rows, missing, extra, different)`.
pub(crate) type DiffRow = (String, String, String, u64, u64, u64, u64, u64);

/// `(identical, per-series differences, failed files with reasons)`.
pub(crate) type VerifyResult = (bool, Vec<DiffRow>, Vec<(String, String)>);

/// `(rows, added, changed, unchanged, [(line, reason)])` of an actions load.
pub(crate) type ActionsLoaded = (u64, u64, u64, u64, Vec<(u64, String)>);

/// `(symbol, ex_date, kind, split_from, split_to, dividend, source, recorded)`.
pub(crate) type ActionRow = (
    String,
    String,
    &'static str,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    String,
    i64,
);
