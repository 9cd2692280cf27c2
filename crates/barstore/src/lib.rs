//! barstore: load minute-resolution market bars (OHLCV) into a store and read any slice
//! of them back fast.
//!
//! The pipeline, one module per step:
//!
//! - [`source`] finds input files (plain, `.gz`, `.zip` members) and streams them as
//!   blocks of whole lines.
//! - [`format`] recognises a file's layout; [`parse`] turns blocks into columnar
//!   [`bars::Bars`] and rejected rows, converting exchange wall-clock times to UTC with
//!   [`zone::Zone`].
//! - [`series`] says what a file's bars are: a symbol in one timeframe and price
//!   adjustment; stores keep every series apart.
//! - [`bucket`] assigns each bar its exchange-local month, the unit every store
//!   partitions by.
//! - [`store`] holds the bars: [`store::Embedded`] is a partitioned Parquet dataset,
//!   [`store::Cql`] a ScyllaDB or Cassandra keyspace (by default as compressed
//!   [`chunk`]s of a day); [`copy`] moves bars between them.
//! - [`ingest`] reads one input into months of a series (layout, parse, its series),
//!   for [`load`] and [`verify`] alike;
//! - [`load`] drives the pipeline in parallel with bounded memory, resumably;
//!   [`read`] and [`resample`] serve range reads ([`exchange`] says when a market is
//!   open), [`panel`] the same range of many symbols at once; [`actions`] and
//!   [`adjust`] keep corporate actions and adjust raw series with them on read; [`verify`] compares a store with its source files, [`check`] with its
//!   calendar, and [`chart`] draws what it holds.
//!
//! [`atomic`] writes output files that appear whole or not at all; [`cancel`] lets
//! another thread stop a load or a read, waits included.
//!
//! [`tables`] gives the listings (series, actions, a verification, a check, sessions)
//! as Arrow tables, the form the Python package hands to pandas.
//!
//! [`settings`] holds every default and turns what a user chose into validated options;
//! the CLI and the Python module only map their arguments onto it.
//!
//! Errors that stop a call are [`Error`], which says which operation failed: an option
//! ([`OptionError`]), opening a store ([`OpenError`]), one input file ([`FileError`]),
//! a read ([`ReadError`]) or the store itself ([`StoreError`]); rows that cannot load
//! are [`parse::Reject`]s, logged while the load goes on.

pub mod actions;
pub mod adjust;
pub mod atomic;
pub mod bars;
pub mod bucket;
pub mod cancel;
pub mod chart;
pub mod check;
pub mod chunk;
pub mod copy;
pub mod defaults;
mod error;
pub mod exchange;
pub mod format;
pub mod generate;
pub mod ingest;
pub mod load;
pub mod panel;
pub mod parse;
pub mod read;
pub mod resample;
pub mod series;
pub mod settings;
pub mod source;
pub mod store;
pub mod symbol;
pub mod tables;
#[doc(hidden)]
pub mod testing;
pub mod verify;
pub mod zone;

pub use error::{Error, FileError, OpenError, OptionError, ReadError, Result, StoreError};
