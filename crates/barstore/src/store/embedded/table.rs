//! The Delta Lake table under the embedded store: creating it, loading a committed
//! version, committing, and reading the actions of a commit.
//!
//! `deltalake-core` does what makes the table a table: the commit protocol (a commit is
//! a log entry that appears whole, at the next version, or not at all, written by its
//! log store), checkpoints, and replaying the log to a version. barstore reads the few
//! actions it needs of each new commit itself (`add`, `remove` and its own entry in
//! `commitInfo`), and commits on the version it has followed that far: following a
//! table that other processes commit to, and committing to it, then cost what the new
//! commits hold, not a replay of the log (with deltalake-core's own transaction, whose
//! snapshot replays every commit since the last Delta checkpoint, a one-file load into a
//! store of 250 daily updates of 2,000 series took 7.8 s).

use super::state::{FileMeta, Key};
use crate::error::{Result, StoreError};
use crate::store::ManifestEntry;
use deltalake_core::kernel::transaction::{CommitData, CommitProperties, TransactionError};
use deltalake_core::kernel::{Action, DataType, PrimitiveType};
use deltalake_core::logstore::CommitOrBytes;
use deltalake_core::protocol::checkpoints::create_checkpoint_from_table_url_and_cleanup;
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::{DeltaTable, DeltaTableBuilder, DeltaTableError, TableProperty};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tokio::runtime::Runtime;
use url::Url;

/// The partition columns, in path order. All are strings: `0005` stays `0005`.
pub(super) const PARTITIONS: [&str; 4] = ["symbol", "timeframe", "adjustment", "year"];

/// The Delta log directory of a table.
pub(super) const LOG_DIR: &str = "_delta_log";

/// Versions between Delta checkpoints, Delta Lake's default (`delta.checkpointInterval`):
/// other engines open the table from the newest one.
const DELTA_CHECKPOINT_EVERY: i64 = 100;

/// What barstore writes into each commit's `commitInfo` (under `barstore`): what a
/// load, an upgrade or a compaction did, in terms `history` shows and the manifest and
/// zones are rebuilt from.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct CommitNote {
    /// `load`, `compact`, `copy` or `upgrade`.
    pub(super) operation: String,
    /// The exchange zone of each series written (`AAPL/1min/adjsplit` keys).
    #[serde(default)]
    pub(super) zones: BTreeMap<String, String>,
    /// The input files this commit completes.
    #[serde(default)]
    pub(super) sources: Vec<ManifestEntry>,
    /// Per series: bars written and files replaced.
    #[serde(default)]
    pub(super) series: BTreeMap<String, SeriesChange>,
}

/// What one commit did to one series.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct SeriesChange {
    /// Bars in the files the commit added.
    pub(super) rows: u64,
    /// Files the commit added.
    pub(super) added: u64,
    /// Files the commit removed (merged into the added ones).
    pub(super) replaced: u64,
}

/// One commit as barstore reads it back.
#[derive(Debug, Default)]
pub(super) struct Commit {
    /// Commit time, UTC ms.
    pub(super) timestamp: i64,
    /// The operation as Delta Lake names it (`WRITE`, `OPTIMIZE`, `CREATE TABLE`).
    pub(super) operation: String,
    /// barstore's note, when barstore wrote the commit.
    pub(super) note: Option<CommitNote>,
    /// Files added.
    pub(super) added: Vec<(Key, FileMeta)>,
    /// Files removed, by path relative to the table.
    pub(super) removed: Vec<String>,
}

/// The runtime the Delta Lake library's futures run on (its I/O is local-disk reads and
/// writes; one small runtime serves every store of the process).
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("barstore-delta")
            .enable_all()
            .build()
            .expect("a tokio runtime starts")
    })
}

/// A table directory (`<root>/bars`).
#[derive(Debug, Clone)]
pub(super) struct Table {
    dir: PathBuf,
}

/// How a commit ended when it did not fail.
pub(super) enum Committed {
    /// At this version.
    At(i64),
    /// Another writer committed first: look at its commits and try again.
    Moved,
}

impl Table {
    pub(super) fn new(dir: PathBuf) -> Self {
        Table { dir }
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    fn err(&self, e: DeltaTableError) -> crate::Error {
        StoreError::table(&self.dir, e).into()
    }

    fn url(&self) -> Result<Url> {
        std::fs::create_dir_all(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        let abs = std::fs::canonicalize(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        Url::from_directory_path(&abs).map_err(|()| {
            StoreError::Unexpected {
                path: abs,
                detail: "not a path a table can be opened at".into(),
            }
            .into()
        })
    }

    /// True once the table's first version is committed.
    pub(super) fn exists(&self) -> bool {
        self.commit_path(0).exists()
    }

    fn commit_path(&self, version: i64) -> PathBuf {
        self.dir.join(LOG_DIR).join(format!("{version:020}.json"))
    }

    /// Creates the table with `actions` (files it adopts, described by `note`) as
    /// version 0. A table another process created first is left as it is (`Ok(false)`).
    pub(super) fn create(&self, actions: Vec<Action>, note: Option<&CommitNote>) -> Result<bool> {
        let url = self.url()?;
        let timestamp = |name: &str| (name.to_string(), PrimitiveType::Timestamp);
        let double = |name: &str| (name.to_string(), PrimitiveType::Double);
        let mut columns = vec![timestamp("timestamp")];
        columns.extend(["open", "high", "low", "close", "volume"].map(double));
        // no retry: a creator that loses the race to version 0 must not create the
        // table again at version 1
        let properties = CommitProperties::default()
            .with_metadata(note.map(note_entry))
            .with_max_retries(0)
            .with_cleanup_expired_logs(Some(false));
        let mut builder = deltalake_core::operations::create::CreateBuilder::new()
            .with_location(url.as_str())
            .with_table_name("bars")
            .with_save_mode(SaveMode::ErrorIfExists)
            // every version stays readable until `vacuum` says otherwise
            .with_configuration_property(TableProperty::EnableExpiredLogCleanup, Some("false"))
            .with_commit_properties(properties)
            .with_actions(actions);
        for (name, kind) in columns {
            let nullable = name == "volume";
            builder = builder.with_column(name, DataType::Primitive(kind), nullable, None);
        }
        for name in PARTITIONS {
            builder = builder.with_column(
                name,
                DataType::Primitive(PrimitiveType::String),
                false,
                None,
            );
        }
        let builder = builder.with_partition_columns(PARTITIONS);
        match runtime().block_on(builder.into_future()) {
            Ok(_) => Ok(true),
            Err(_) if self.exists() => Ok(false),
            Err(e) => Err(self.err(e)),
        }
    }

    /// The table at `version` (the latest for `None`), with every file it holds.
    pub(super) fn load(&self, version: Option<i64>) -> Result<DeltaTable> {
        let mut builder = DeltaTableBuilder::from_url(self.url()?).map_err(|e| self.err(e))?;
        if let Some(v) = version {
            builder = builder.with_version(v as u64);
        }
        runtime().block_on(builder.load()).map_err(|e| self.err(e))
    }

    /// The version that was the latest at `instant` (UTC ms), `None` before the first.
    pub(super) fn version_at(&self, instant: i64) -> Result<Option<i64>> {
        let latest = self.latest()?;
        let (mut lo, mut hi) = (0, latest);
        if self.read_commit(0)?.timestamp > instant {
            return Ok(None);
        }
        // commit times grow with versions: the last version committed at or before it
        while lo < hi {
            let mid = lo + (hi - lo + 1) / 2;
            if self.read_commit(mid)?.timestamp <= instant {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(Some(lo))
    }

    /// The latest committed version (by the log's directory listing).
    pub(super) fn latest(&self) -> Result<i64> {
        let dir = self.dir.join(LOG_DIR);
        let entries = std::fs::read_dir(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let mut latest = -1;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(v) = name
                .strip_suffix(".json")
                .and_then(|v| v.parse::<i64>().ok())
            {
                latest = latest.max(v);
            }
        }
        Ok(latest)
    }

    /// Commits `actions` as `version`, the one after the last the writer has followed;
    /// `Moved` when another writer has committed that version first (nothing is
    /// written then). Every [`DELTA_CHECKPOINT_EVERY`] versions, the commit is
    /// followed by a Delta checkpoint for other engines.
    pub(super) fn commit(
        &self,
        version: i64,
        actions: Vec<Action>,
        note: &CommitNote,
        compaction: bool,
    ) -> Result<Committed> {
        let operation = if compaction {
            DeltaOperation::Optimize {
                predicate: None,
                target_size: 0,
            }
        } else {
            DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: Some(PARTITIONS.map(String::from).to_vec()),
                predicate: None,
            }
        };
        let url = self.url()?;
        let log_store = DeltaTableBuilder::from_url(url.clone())
            .and_then(|b| b.build())
            .map_err(|e| self.err(e))?
            .log_store();
        let data = CommitData::new(actions, operation, [note_entry(note)].into(), Vec::new());
        let bytes = data
            .get_bytes()
            .map_err(|e| self.err(DeltaTableError::from(e)))?;
        let written = runtime().block_on(log_store.write_commit_entry(
            version as u64,
            CommitOrBytes::LogBytes(bytes),
            uuid::Uuid::new_v4(),
        ));
        match written {
            Ok(()) => {}
            Err(TransactionError::VersionAlreadyExists(_)) => return Ok(Committed::Moved),
            Err(e) => return Err(self.err(e.into())),
        }
        if (version + 1) % DELTA_CHECKPOINT_EVERY == 0 {
            // for other engines only: barstore opens from its own checkpoints
            let made = runtime().block_on(create_checkpoint_from_table_url_and_cleanup(
                url,
                version as u64,
                Some(false),
                None,
            ));
            if let Err(e) = made {
                tracing::warn!(
                    "{}: no Delta checkpoint at version {version}: {e}",
                    self.dir.display()
                );
            }
        }
        Ok(Committed::At(version))
    }

    /// The commit at `version`, as barstore reads it.
    pub(super) fn read_commit(&self, version: i64) -> Result<Commit> {
        let path = self.commit_path(version);
        let text = std::fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
        let mut commit = Commit::default();
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let action: LogLine =
                serde_json::from_slice(line).map_err(|e| StoreError::Unexpected {
                    path: path.clone(),
                    detail: format!("not a Delta log entry: {e}"),
                })?;
            if let Some(info) = action.commit_info {
                commit.timestamp = info.timestamp.unwrap_or_default();
                commit.operation = info.operation.unwrap_or_default();
                commit.note = info.barstore;
            }
            if let Some(add) = action.add {
                if let Some(file) = FileMeta::of_add(&self.dir, &add.path, &add.stats, add.size) {
                    commit.added.push(file);
                }
            }
            if let Some(remove) = action.remove {
                commit.removed.push(decode_path(&remove.path));
            }
        }
        if commit.timestamp == 0 {
            let meta = std::fs::metadata(&path).map_err(|e| StoreError::io(&path, e))?;
            commit.timestamp = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64);
        }
        Ok(commit)
    }
}

fn note_entry(note: &CommitNote) -> (String, serde_json::Value) {
    (
        "barstore".to_string(),
        serde_json::to_value(note).expect("commit notes serialise"),
    )
}

/// A log path as written (percent-encoded) to the path relative to the table.
pub(super) fn decode_path(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogLine {
    commit_info: Option<InfoLine>,
    add: Option<AddLine>,
    remove: Option<RemoveLine>,
}

#[derive(Deserialize)]
struct InfoLine {
    timestamp: Option<i64>,
    operation: Option<String>,
    barstore: Option<CommitNote>,
}

#[derive(Deserialize)]
struct AddLine {
    path: String,
    size: i64,
    stats: Option<String>,
}

#[derive(Deserialize)]
struct RemoveLine {
    path: String,
}
