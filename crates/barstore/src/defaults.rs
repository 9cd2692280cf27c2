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
