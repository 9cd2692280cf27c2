//! The manifest as a load uses it: is a file already loaded and unchanged, and the
//! entries of loaded files, recorded in groups.

use super::*;
use crate::source::content_hash;

/// Loaded files recorded in the manifest together.
pub(super) const RECORD_FILES: usize = 64;

/// Manifest entries of loaded files, recorded in groups: a day's update of thousands
/// of small files pays a request per group, not per file. A group is recorded once it
/// holds [`RECORD_FILES`] files or [`FLUSH_ROWS`] rows, so a crash makes at most that
/// much load again (loads are idempotent).
pub(super) struct Records<'a> {
    store: &'a dyn Store,
    pending: Mutex<(Vec<ManifestEntry>, u64)>,
}

impl<'a> Records<'a> {
    pub(super) fn new(store: &'a dyn Store) -> Self {
        Records {
            store,
            pending: Mutex::new((Vec::new(), 0)),
        }
    }

    /// Adds the entries of loaded files, in order; records the group once it is full.
    pub(super) fn add_all(&self, entries: Vec<ManifestEntry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let full = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.1 += entries.iter().map(|e| e.rows).sum::<u64>();
            p.0.extend(entries);
            if p.0.len() >= RECORD_FILES || p.1 >= FLUSH_ROWS as u64 {
                std::mem::take(&mut *p).0
            } else {
                return Ok(());
            }
        };
        self.store.record(&full)
    }

    pub(super) fn flush(&self) -> Result<()> {
        let rest = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        self.store.record(&rest.0)
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
