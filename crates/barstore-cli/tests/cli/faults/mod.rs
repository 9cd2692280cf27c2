//! The fault suite: every way a store was seen to lose, hide, duplicate or corrupt bars,
//! or to hang on an odd input, each driven through the built binary and kept fixed.
//! Cases that need no node run under a plain `cargo test`; the CQL ones run on the test
//! node (skipped, said on stderr, without one).

mod actions;
mod cql;
mod inputs;
mod outputs;
mod sync;
mod urls;
