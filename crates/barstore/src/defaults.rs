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
/// The serial consistency of the chunked layout's conditional writes (their fence):
/// SERIAL holds across datacenters, LOCAL_SERIAL only within the writer's own.
pub const SERIAL_CONSISTENCY: &str = "SERIAL";
/// Seconds a CQL request is retried on transient errors (timeouts, unavailable replicas,
/// lost connections) before the command gives up: longer than a cluster takes to notice
/// a lost node (Cassandra's failure detector convicts after about 10 to 30 s, until
/// when requests that involve the node time out), and bounded.
pub const RETRY_SECONDS: u64 = 90;
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
    ("serial_consistency", SERIAL_CONSISTENCY),
    ("table", TABLE),
    ("cql_port", CQL_PORT),
    ("compaction", COMPACTION),
    ("calendar", CALENDAR),
];
