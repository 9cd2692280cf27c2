//! Integration tests: drive the built `barstore` binary on the real files in
//! `tests/data` (see tests/data/SOURCES.md) and on generated data.

mod actions;
mod cluster;
mod common;
mod cql;
mod faults;
mod inputs;
mod load;
mod quality;
mod read;
mod resume;
mod series;
mod versions;
