//! The default of every option, in one place. [`crate::settings`] fills them in for what
//! a user did not choose; the option types below it start from them.

/// The exchange zone of wall-clock times when none is given.
pub const ZONE: &str = "America/New_York";
/// The embedded store's directory when none is given.
pub const STORE: &str = "barstore-data";
/// The error log of a load when none is given.
pub const ERRORS: &str = "barstore-errors.jsonl";
/// The consistency level of CQL reads and writes when none is given.
pub const CONSISTENCY: &str = "LOCAL_QUORUM";
/// The table of a CQL store when the URL names none.
pub const TABLE: &str = "bars_1m";
/// The CQL port of a host the URL gives without one.
pub const CQL_PORT: &str = "9042";
/// The compaction strategy of a CQL table barstore creates.
pub const COMPACTION: &str = "lcs";
/// Attempts per CQL request on transient errors.
pub const ATTEMPTS: u32 = 8;
/// Rows per unlogged batch (typed and text layouts).
pub const BATCH_ROWS: usize = 256;
/// Batches in flight at once for each series being written (typed and text layouts).
pub const CONCURRENCY: usize = 64;
/// The trading calendar whose days actions' ex-dates must fall on.
pub const CALENDAR: &str = "us";

/// Every default by the name of its option, for the fronts to show and use.
pub const ALL: &[(&str, &str)] = &[
    ("zone", ZONE),
    ("store", STORE),
    ("errors", ERRORS),
    ("consistency", CONSISTENCY),
    ("table", TABLE),
    ("cql_port", CQL_PORT),
    ("compaction", COMPACTION),
    ("calendar", CALENDAR),
];
