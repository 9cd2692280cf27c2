//! The versions of the embedded store: `history`, `snapshot`, `vacuum`, `upgrade`.

use anyhow::Context;
use barstore::store::embedded::Embedded;
use barstore::store::AsOf;
use barstore::zone;
use clap::{Args, Subcommand};
use std::io::Write;

#[derive(Args)]
pub struct HistoryArgs {
    /// Show at most the newest N versions.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

#[derive(Subcommand)]
pub enum SnapshotCommand {
    /// Name a version (the latest, or the one --as-of names) so that reads can ask for
    /// it by name and vacuum keeps it.
    Create {
        /// 1 to 64 letters, digits, '.', '_' or '-', starting with a letter.
        name: String,
        /// The version to name: a version number, a date or time, or another snapshot.
        #[arg(long, value_name = "VERSION|TIME|NAME")]
        as_of: Option<String>,
    },
    /// List the snapshots: name, version, when created.
    List,
    /// Remove a name (its version's files go at the next vacuum that needs them not).
    Delete {
        /// The snapshot.
        name: String,
    },
}

#[derive(Args)]
pub struct VacuumArgs {
    /// Keep every version committed within this long: 7d, 12h, 30m, 0 (only the latest
    /// and the snapshots).
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    retain: String,
    /// List what would be removed, remove nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Milliseconds of a duration such as `7d`, `12h`, `30m`, `45s` or `0`.
fn duration_ms(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    if text == "0" {
        return Ok(0);
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let scale = match unit {
        "d" => 86_400_000,
        "h" => 3_600_000,
        "m" => 60_000,
        "s" => 1000,
        _ => anyhow::bail!("--retain {text}: give a number and a unit: 7d, 12h, 30m, 45s, or 0"),
    };
    let n: i64 = number.parse().ok().filter(|n| *n >= 0).with_context(|| {
        format!("--retain {text}: give a number and a unit: 7d, 12h, 30m, 45s, or 0")
    })?;
    Ok(n.saturating_mul(scale))
}

fn time(ms: i64) -> String {
    let mut out = String::new();
    zone::format_local(ms.div_euclid(1000), &mut out);
    out + " UTC"
}

fn print(text: &str) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        other => other.map(|()| 0).context("cannot write to stdout"),
    }
}

pub fn run_history(store: &Embedded, args: &HistoryArgs) -> anyhow::Result<u8> {
    let mut text = String::from(
        "version,time,operation,series,rows,files_added,files_replaced,sources,snapshots\n",
    );
    for e in store.history(args.limit)? {
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            e.version,
            time(e.timestamp),
            e.operation,
            e.series,
            e.rows,
            e.added,
            e.replaced,
            e.sources,
            e.snapshots.join(" ")
        ));
    }
    print(&text)
}

pub fn run_snapshot(store: &Embedded, command: &SnapshotCommand) -> anyhow::Result<u8> {
    match command {
        SnapshotCommand::Create { name, as_of } => {
            let as_of = as_of.as_deref().map(AsOf::parse).transpose()?;
            let s = store.snapshot_create(name, as_of.as_ref())?;
            eprintln!("snapshot {} pins version {}", s.name, s.version);
            Ok(0)
        }
        SnapshotCommand::List => {
            let mut text = String::from("name,version,created\n");
            for s in store.snapshots()? {
                text.push_str(&format!("{},{},{}\n", s.name, s.version, time(s.created)));
            }
            print(&text)
        }
        SnapshotCommand::Delete { name } => {
            if store.snapshot_delete(name)? {
                eprintln!("snapshot {name} deleted");
                Ok(0)
            } else {
                anyhow::bail!("there is no snapshot named {name}")
            }
        }
    }
}

pub fn run_vacuum(store: &Embedded, args: &VacuumArgs) -> anyhow::Result<u8> {
    let report = store.vacuum(duration_ms(&args.retain)?, args.dry_run)?;
    let mut text = String::new();
    for path in &report.removed {
        text.push_str(&format!("{}\n", path.display()));
    }
    print(&text)?;
    eprintln!(
        "{} {} files ({} bytes); versions from {} on stay readable, and every snapshot",
        if report.dry_run {
            "would remove"
        } else {
            "removed"
        },
        report.removed.len(),
        report.bytes,
        report.oldest
    );
    Ok(0)
}

pub fn run_upgrade(store: &Embedded) -> anyhow::Result<u8> {
    if store.upgrade()? {
        eprintln!("the store is now a versioned table (version 0 adopts its files as they are)");
    } else {
        eprintln!("the store is already a versioned table");
    }
    Ok(0)
}
