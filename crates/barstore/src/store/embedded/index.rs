//! The series index: what `symbols` lists and what a read needs to pick a series and
//! place its bars (the series of a symbol, its zone, counts and first and last bar),
//! kept in `_barstore/series.jsonl` so that neither opens a data file.
//!
//! The file is a journal: each write of a series appends one JSON line with the
//! series' new totals, and the last line of a series wins. Readers keep what they have
//! read and, when the file has grown, read only the new lines, so a process that holds
//! a store open sees another process's loads at the cost of a `stat`. The journal is
//! rewritten whole (to a temporary file renamed over it) when it holds many more lines
//! than series, and rebuilt from the data files when it is missing (a store written
//! before the index existed) or asked to (`compact`). It is derived data: lines are not
//! fsynced, a lost line is found again by the next rebuild.

use super::super::SeriesInfo;
use crate::error::{Result, StoreError};
use crate::series::Series;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Every stored series, by symbol, each symbol's series sorted.
pub type Listing = BTreeMap<String, Vec<SeriesInfo>>;

/// One journal line: a series' totals after a write (`rows` 0: no longer stored).
#[derive(Serialize, Deserialize)]
struct Line {
    symbol: String,
    timeframe: String,
    adjustment: String,
    rows: u64,
    first: i64,
    last: i64,
    zone: String,
}

impl Line {
    fn of(info: &SeriesInfo) -> Self {
        Line {
            symbol: info.series.symbol.clone(),
            timeframe: info.series.timeframe.to_string(),
            adjustment: info.series.adjustment.to_string(),
            rows: info.rows,
            first: info.first,
            last: info.last,
            zone: info.zone.clone(),
        }
    }

    fn info(self) -> Option<SeriesInfo> {
        let series = Series::new(
            &self.symbol,
            self.timeframe.parse().ok()?,
            self.adjustment.parse().ok()?,
        )
        .ok()?;
        Some(SeriesInfo {
            series,
            rows: self.rows,
            first: self.first,
            last: self.last,
            zone: self.zone,
        })
    }
}

/// What has been read of the journal: the listing as of `offset` in the file `inode`.
#[derive(Default)]
struct Seen {
    inode: u64,
    offset: u64,
    lines: usize,
    listing: Arc<Listing>,
}

/// The journal of one store.
pub struct Index {
    path: PathBuf,
    seen: Mutex<Seen>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Index({})", self.path.display())
    }
}

fn apply(listing: &mut Listing, info: SeriesInfo) {
    let list = listing.entry(info.series.symbol.clone()).or_default();
    match list.binary_search_by(|s| s.series.cmp(&info.series)) {
        Ok(i) if info.rows == 0 => {
            list.remove(i);
        }
        Ok(i) => list[i] = info,
        Err(_) if info.rows == 0 => {}
        Err(i) => list.insert(i, info),
    }
}

impl Index {
    /// The index of the store whose metadata directory is `meta`.
    pub fn new(meta: &Path) -> Self {
        Index {
            path: meta.join("series.jsonl"),
            seen: Mutex::new(Seen::default()),
        }
    }

    /// The listing as the journal now has it, or `None` when there is no journal.
    pub fn listing(&self) -> Result<Option<Arc<Listing>>> {
        let meta = match fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(&self.path, e).into()),
        };
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // a rewrite is a new file: read it from the start
        if seen.inode != meta.ino() || seen.offset > meta.len() {
            *seen = Seen {
                inode: meta.ino(),
                ..Seen::default()
            };
        }
        if seen.offset < meta.len() {
            self.read_from(&mut seen)?;
        }
        Ok(Some(seen.listing.clone()))
    }

    /// Reads the lines after `seen.offset`, up to the last whole line.
    fn read_from(&self, seen: &mut Seen) -> Result<()> {
        let io = |e| StoreError::io(&self.path, e);
        let mut file = File::open(&self.path).map_err(io)?;
        file.seek(SeekFrom::Start(seen.offset)).map_err(io)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(io)?;
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let listing = Arc::make_mut(&mut seen.listing);
        for line in text[..whole].split(|&b| b == b'\n') {
            // a line torn by a crash does not parse: the next rebuild finds its series
            if let Some(info) = serde_json::from_slice::<Line>(line)
                .ok()
                .and_then(Line::info)
            {
                apply(listing, info);
                seen.lines += 1;
            }
        }
        listing.retain(|_, list| !list.is_empty());
        seen.offset += whole as u64;
        Ok(())
    }

    /// Records a series' new totals.
    pub fn put(&self, info: &SeriesInfo) -> Result<()> {
        let mut line = serde_json::to_vec(&Line::of(info)).expect("index lines serialise");
        line.push(b'\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| StoreError::io(&self.path, e))?;
        file.write_all(&line)
            .map_err(|e| StoreError::io(&self.path, e).into())
    }

    /// Replaces the journal with one line per series of `listing`.
    pub fn rewrite(&self, listing: &Listing) -> Result<()> {
        let tmp = self.path.with_extension("jsonl.tmp");
        let io = |e| StoreError::io(&tmp, e);
        let mut text = Vec::new();
        for info in listing.values().flatten() {
            serde_json::to_writer(&mut text, &Line::of(info)).expect("index lines serialise");
            text.push(b'\n');
        }
        let mut file = File::create(&tmp).map_err(io)?;
        file.write_all(&text)
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        fs::rename(&tmp, &self.path).map_err(|e| StoreError::io(&self.path, e))?;
        Ok(())
    }

    /// True when the journal, as last read into `listing`, holds many more lines than
    /// series: worth a rewrite.
    pub fn is_bloated(&self, listing: &Listing) -> bool {
        let series: usize = listing.values().map(Vec::len).sum();
        let lines = self.seen.lock().unwrap_or_else(|p| p.into_inner()).lines;
        lines > 2 * series + 1024
    }
}
