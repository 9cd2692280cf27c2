//! The manifest as a load uses it: is a file already loaded and unchanged, and the
//! entries of loaded files, recorded in groups.

use super::*;
use crate::source::content_hash;
use std::time::Duration;

/// The longest a group of loaded files waits to be recorded.
pub(super) const RECORD_EVERY: Duration = Duration::from_secs(10);

/// Manifest entries of loaded files, recorded in groups: a day's update of thousands
/// of small files pays one record (an embedded commit, a CQL batch) per group, not per
/// file, and a store's history gains a version per group. A group is recorded once it
/// holds [`FLUSH_ROWS`] rows or has waited [`RECORD_EVERY`], and at the end of the
/// load, so a crash makes at most that much load again (loads are idempotent).
pub(super) struct Records<'a> {
    store: &'a dyn Store,
    pending: Mutex<Pending>,
}

struct Pending {
    entries: Vec<ManifestEntry>,
    rows: u64,
    since: Instant,
}

impl Pending {
    fn new() -> Self {
        Pending {
            entries: Vec::new(),
            rows: 0,
            since: Instant::now(),
        }
    }
}

impl<'a> Records<'a> {
    pub(super) fn new(store: &'a dyn Store) -> Self {
        Records {
            store,
            pending: Mutex::new(Pending::new()),
        }
    }

    /// Adds the entries of loaded files, in order; records the group once it is full.
    pub(super) fn add_all(&self, entries: Vec<ManifestEntry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let full = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.rows += entries.iter().map(|e| e.rows).sum::<u64>();
            p.entries.extend(entries);
            if p.rows >= FLUSH_ROWS as u64 || p.since.elapsed() >= RECORD_EVERY {
                std::mem::replace(&mut *p, Pending::new()).entries
            } else {
                return Ok(());
            }
        };
        self.store.record(&full)
    }

    pub(super) fn flush(&self) -> Result<()> {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let rest = std::mem::replace(&mut *p, Pending::new());
        self.store.record(&rest.entries)
    }
}

/// Is the manifest entry for this input still valid? Compares size and mtime, and
/// when only the mtime changed, the content hash.
pub(super) fn unchanged(source: &Source, entry: &ManifestEntry) -> Result<bool> {
    if entry.size != source.size {
        return Ok(false);
    }
    if entry.mtime_ns == source.mtime_ns {
        return Ok(true);
    }
    let hash = source.with_reader(&AtomicU64::new(0), |r| {
        content_hash(r).map_err(|e| FileError::io(&source.path, e).into())
    })?;
    Ok(hash == entry.hash)
}
