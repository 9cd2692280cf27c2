//! Stores: where loaded bars live and how they come back.
//!
//! - [`Store`] is what the loader, reader and verifier need from any store: upsert whole
//!   months of a series, scan a time range, list series, and keep the resume manifest.
//! - [`embedded`] is the default store: a Delta Lake table on local disk, with versions.
//! - [`cql`] is a ScyllaDB or Cassandra keyspace.
//!
//! Every store keys rows by ([`Series`], UTC instant); writing a row that exists replaces
//! it, which is what makes loads idempotent and resumable, and series never share rows.

pub mod cql;
pub mod embedded;

use crate::actions::Action;
use crate::bars::Bars;
use crate::bucket::Month;
use crate::error::Result;
use crate::series::{Adjustment, Series, Timeframe};
use crate::zone::Zone;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

pub use cql::{Cql, CqlOptions};
pub use embedded::Embedded;

/// Opens the store named by `location`: a `cql://`, `scylla://` or `cassandra://` URL
/// (any case), or a directory for the embedded store. Any other `scheme:` is refused,
/// so that a mistyped URL never becomes a directory.
pub fn open(location: &str, cql: &CqlOptions) -> Result<Box<dyn Store>> {
    cql::check_location(location)?;
    if cql::is_cql_url(location) {
        Ok(Box::new(Cql::connect(location, cql.clone())?))
    } else {
        Ok(Box::new(Embedded::new(location)))
    }
}

/// Which committed version of a store a read sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AsOf {
    /// A version number.
    Version(i64),
    /// The version that was the latest at this instant (UTC ms).
    Time(i64),
    /// A named snapshot.
    Snapshot(String),
}

impl AsOf {
    /// Reads `text`: a version number (`12`), a date (`2026-11-02`: the store as it was
    /// at the end of that day, UTC), a time (`2026-11-02T15:30:00Z`, or with an
    /// offset), or a snapshot name.
    pub fn parse(text: &str) -> std::result::Result<AsOf, crate::error::OptionError> {
        let text = text.trim();
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse().map(AsOf::Version).map_err(|_| {
                crate::error::OptionError::new("as_of", text, "a version number is too large")
            });
        }
        if let Ok(t) = text.parse::<jiff::Timestamp>() {
            return Ok(AsOf::Time(t.as_millisecond()));
        }
        if let Ok(d) = text.parse::<jiff::civil::Date>() {
            let end = d
                .tomorrow()
                .ok()
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp().as_millisecond() - 1);
            if let Some(end) = end {
                return Ok(AsOf::Time(end));
            }
        }
        embedded::history::check_name(text).map_err(|_| {
            crate::error::OptionError::new(
                "as_of",
                text,
                "give a version number, a date (2026-11-02), a time (2026-11-02T15:30:00Z) or a snapshot name",
            )
        })?;
        Ok(AsOf::Snapshot(text.to_string()))
    }

    /// The UTC day (days since the epoch) corporate actions are taken as of, for a
    /// time; `None` for a version or a snapshot (their commit time decides).
    pub fn day(&self) -> Option<i64> {
        match self {
            AsOf::Time(t) => Some(t.div_euclid(crate::zone::DAY * 1000)),
            _ => None,
        }
    }
}

/// The bars of one series for one exchange-local month, sorted and duplicate-free.
#[derive(Clone, Debug)]
pub struct MonthBars {
    /// The month every bar belongs to.
    pub month: Month,
    /// The bars.
    pub bars: Bars,
}

/// A completely loaded input file, as recorded in a store's manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// [`crate::source::Source::id`]: absolute path, plus `!member` inside a zip.
    pub source: String,
    /// Size on disk in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// xxh3-128 of the decompressed content, hex.
    pub hash: String,
    /// Rows loaded from the file.
    pub rows: u64,
    /// The symbol the rows went to.
    pub symbol: String,
    /// The timeframe of the series the rows went to (entries written before series
    /// existed read as `1min`).
    #[serde(default = "minute")]
    pub timeframe: String,
    /// The adjustment of that series (`none` for entries written before series).
    #[serde(default = "unadjusted")]
    pub adjustment: String,
}

fn minute() -> String {
    Timeframe::MINUTE.to_string()
}

fn unadjusted() -> String {
    Adjustment::NONE.to_string()
}

/// A stored series with what reading it needs: its exchange zone and, where the store
/// finds them in the same lookup, its months.
#[derive(Clone, Debug)]
pub struct Found {
    /// The series.
    pub series: Series,
    /// The zone it was loaded with.
    pub zone: String,
    /// Its stored months, sorted, each with its bars as the store counts them (0 when
    /// it has no count), when the lookup gave them: a read sizes its output by them.
    pub months: Option<Vec<(Month, u64)>>,
}

/// What a store holds for one series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesInfo {
    /// The series.
    pub series: Series,
    /// Number of bars.
    pub rows: u64,
    /// First bar, UTC ms.
    pub first: i64,
    /// Last bar, UTC ms.
    pub last: i64,
    /// The exchange time zone the series was loaded with.
    pub zone: String,
}

/// A place bars are stored. Implementations are shared across loader threads.
pub trait Store: Send + Sync {
    /// Where the store is, for messages.
    fn location(&self) -> String;

    /// Prepares for writing: creates what is missing.
    fn begin_load(&self) -> Result<()>;

    /// Refuses a series this store cannot keep apart from others (a CQL table made
    /// before series existed holds only the 1min series with no adjustment).
    fn accepts(&self, _series: &Series) -> Result<()> {
        Ok(())
    }

    /// The time zone `series` was loaded with, or `None` when it is not stored.
    fn zone_of(&self, series: &Series) -> Result<Option<String>>;

    /// Turns `bars` into the values this store gives back for them, for comparisons
    /// with what it holds: the notebook's text tables keep prices and volumes as 32-bit
    /// floats. Every other store keeps them exactly.
    fn as_stored(&self, _bars: &mut Bars) -> Result<()> {
        Ok(())
    }

    /// Writes whole months of one series. A bar at an instant already stored replaces
    /// it; other stored bars are kept. `zone` is the series' exchange zone.
    fn upsert(&self, series: &Series, zone: &Zone, months: Vec<MonthBars>) -> Result<()>;

    /// The bars of `series` with `start <= ts <= end` (UTC ms), sorted by time.
    fn scan(&self, series: &Series, start: i64, end: i64) -> Result<Bars>;

    /// The months holding bars of `series`, sorted.
    fn months(&self, series: &Series) -> Result<Vec<Month>>;

    /// The series stored for `symbol`, sorted (empty when it is not stored).
    fn series_of(&self, symbol: &str) -> Result<Vec<Series>>;

    /// Every stored series with its counts, sorted by symbol, timeframe, adjustment.
    fn series(&self) -> Result<Vec<SeriesInfo>>;

    /// The manifest entries of `sources` (completed input files by
    /// [`ManifestEntry::source`]): a load looks up its own inputs, so that its cost does
    /// not grow with every file the store has ever loaded.
    fn manifest(&self, sources: &[String]) -> Result<HashMap<String, ManifestEntry>>;

    /// Records completed input files; must be durable when it returns. Loads record
    /// their files in groups: one request (or one commit) for many small files. On the
    /// embedded store this commits the bars upserted since the last record with them.
    fn record(&self, entries: &[ManifestEntry]) -> Result<()>;

    /// Every stored version of the corporate actions of `symbol` (all symbols for
    /// `None`), in no particular order; empty when none were ever loaded.
    fn actions(&self, symbol: Option<&str>) -> Result<Vec<Action>>;

    /// Adds action versions (already validated); durable when it returns.
    fn put_actions(&self, actions: &[Action]) -> Result<()>;

    /// The series stored for `symbol` with their zones (and months, where the lookup
    /// finds them too), sorted: what a read needs before it scans, in as few requests
    /// as the store can make it.
    fn lookup(&self, symbol: &str) -> Result<Vec<Found>> {
        let mut out = Vec::new();
        for series in self.series_of(symbol)? {
            if let Some(zone) = self.zone_of(&series)? {
                out.push(Found {
                    series,
                    zone,
                    months: None,
                });
            }
        }
        Ok(out)
    }

    /// [`Store::lookup`] of each of `symbols`, in order.
    fn lookup_many(&self, symbols: &[String]) -> Result<Vec<Vec<Found>>> {
        symbols.iter().map(|s| self.lookup(s)).collect()
    }

    /// The bars of a looked-up series with `start <= ts <= end`, as [`Store::scan`].
    fn scan_found(&self, found: &Found, start: i64, end: i64) -> Result<Bars> {
        self.scan(&found.series, start, end)
    }

    /// [`Store::scan_found`] of each of `scans` (a series, its first and last instant),
    /// in order; in parallel, and on stores that can, several series per request.
    fn scan_many(&self, scans: &[(&Found, i64, i64)]) -> Result<Vec<Bars>> {
        use rayon::prelude::*;
        scans
            .par_iter()
            .map(|(found, start, end)| self.scan_found(found, *start, *end))
            .collect()
    }

    /// How many single-symbol reads pay to run at once: one per core where a read is
    /// decoding (the embedded store), more where it mostly waits on the network.
    fn concurrent_reads(&self) -> usize {
        rayon::current_num_threads()
    }

    /// How many files a load pays to work on at once: one per core where loading is
    /// parsing and encoding (the embedded store), more where each file mostly waits on
    /// the network.
    fn concurrent_files(&self) -> usize {
        rayon::current_num_threads()
    }

    /// Folds what appends added into the form reads are fastest from; returns how many
    /// partitions it rewrote. Stores that append in place have nothing to do.
    fn compact(&self) -> Result<u64> {
        Ok(0)
    }

    /// The store as one committed version, for a read that must see it from start to
    /// end: the version `as_of` names, or the latest for `None`. `Ok(None)`: this store
    /// is already that (a CQL keyspace, read as it is, or a pinned version itself). A
    /// store without versions reads `as_of` a time as it is now, its corporate actions
    /// as known then; a version number or a snapshot name it refuses.
    fn view(&self, as_of: Option<&AsOf>) -> Result<Option<Arc<dyn Store>>> {
        match as_of {
            None | Some(AsOf::Time(_)) => Ok(None),
            Some(_) => Err(crate::error::StoreError::NoVersion {
                location: self.location(),
                detail: "a CQL keyspace keeps no versions of its bars: read it as of a date or time (for its corporate actions), not a version number or a snapshot name".into(),
            }
            .into()),
        }
    }
}
