//! What the test suites share: the one switch for the cases that need a database, and
//! how many cases a property test runs.
//!
//! A case that needs a CQL node asks [`cql_node`] for it. With `BARSTORE_TEST_CQL=host:port`
//! (which `scripts/test` sets after starting a node) it runs; without it, it is skipped
//! with a line on stderr naming it and saying how to run it, so a plain `cargo test` on a
//! fresh clone passes. `BARSTORE_REQUIRE_CQL=1` (also set by `scripts/test`) turns a
//! missing node into a failure, so that the full suite can never skip silently.

use std::io::Write;

/// Cases per property test: `PROPTEST_CASES` when set (a long campaign), else `default`.
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `host:port` of the node for `case`, or `None` when the case is to be skipped.
pub fn cql_node(case: &str) -> Option<String> {
    match std::env::var("BARSTORE_TEST_CQL") {
        Ok(node) if !node.is_empty() => Some(node),
        _ if std::env::var("BARSTORE_REQUIRE_CQL").as_deref() == Ok("1") => panic!(
            "{case}: BARSTORE_TEST_CQL is not set and BARSTORE_REQUIRE_CQL=1: start a node \
             (scripts/test does) and set BARSTORE_TEST_CQL=host:port"
        ),
        _ => {
            // straight to stderr: the test harness captures only print macros
            let _ = writeln!(
                std::io::stderr(),
                "skipped (no database node): {case}; run scripts/test, or set \
                 BARSTORE_TEST_CQL=host:port to run it on a ScyllaDB/Cassandra node"
            );
            None
        }
    }
}
