//! The manifest table: completed input files, looked up by source and recorded in
//! batches.

use super::*;

/// Bytes of manifest rows per batch: under the node's default batch size warning (5 KiB).
pub(super) const RECORD_BATCH_BYTES: usize = 4096;

/// Sources looked up per request: the manifest grows with every file ever loaded, a
/// load looks up its own inputs only.
const LOOKUP_BATCH: usize = 100;

impl Cql {
    pub(super) fn read_manifest(
        &self,
        sources: &[String],
    ) -> Result<HashMap<String, ManifestEntry>> {
        let st = self.block_on(self.manifest_statements())?;
        let mut out = HashMap::new();
        for batch in sources.chunks(LOOKUP_BATCH) {
            self.read_manifest_batch(&st.of, batch, &mut out)?;
        }
        Ok(out)
    }

    fn read_manifest_batch(
        &self,
        stmt: &scylla::statement::prepared::PreparedStatement,
        sources: &[String],
        out: &mut HashMap<String, ManifestEntry>,
    ) -> Result<()> {
        self.block_on(self.db.pages(
            || "reading the manifest".to_string(),
            stmt,
            (sources,),
            |(source, size, mtime_ns, hash, rows, symbol, timeframe, adjustment): (
                String,
                i64,
                i64,
                String,
                i64,
                String,
                String,
                String,
            )| {
                out.insert(
                    source.clone(),
                    ManifestEntry {
                        source,
                        size: size as u64,
                        mtime_ns,
                        hash,
                        rows: rows as u64,
                        symbol,
                        timeframe,
                        adjustment,
                    },
                );
            },
        ))
    }

    pub(super) fn record_files(&self, entries: &[ManifestEntry]) -> Result<()> {
        let st = self.block_on(self.manifest_statements())?;
        self.block_on(async {
            for group in record_groups(entries) {
                let mut batch = Batch::new(BatchType::Unlogged);
                for _ in group {
                    batch.append_statement(st.put.clone());
                }
                let values: Vec<_> = group
                    .iter()
                    .map(|e| {
                        (
                            &e.source,
                            e.size as i64,
                            e.mtime_ns,
                            &e.hash,
                            e.rows as i64,
                            &e.symbol,
                            &e.timeframe,
                            &e.adjustment,
                        )
                    })
                    .collect();
                let what = || {
                    format!(
                        "recording {} and the files before it in the manifest",
                        group[group.len() - 1].source
                    )
                };
                self.db.batch(what, &batch, values).await?;
            }
            Ok(())
        })
    }
}

/// `entries` in groups of at most [`RECORD_BATCH_BYTES`] of paths and hashes each, so
/// that a batch of manifest rows stays under the node's batch size warning.
pub(super) fn record_groups(entries: &[ManifestEntry]) -> Vec<&[ManifestEntry]> {
    let mut groups = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, e) in entries.iter().enumerate() {
        let size = e.source.len() + e.hash.len() + e.symbol.len() + 64;
        if i > start && bytes + size > RECORD_BATCH_BYTES {
            groups.push(&entries[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < entries.len() {
        groups.push(&entries[start..]);
    }
    groups
}
