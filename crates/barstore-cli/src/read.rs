//! `barstore read`: one symbol's bars, or many symbols' as a stream, to CSV or Parquet.

use crate::quality;
use anyhow::Context;
use barstore::panel::{self, PanelRequest, PanelStream, Symbols};
use barstore::read::{read, write_csv, write_parquet};
use barstore::settings::ReadChoices;
use barstore::store::Store;
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args)]
#[command(group(clap::ArgGroup::new("which").required(true).multiple(true)
    .args(["symbols", "symbols_file", "all"])))]
pub struct ReadArgs {
    /// The symbols. One alone gives its bars; several (or --symbols-file, --all) give a
    /// symbol column first, sorted by symbol then time.
    symbols: Vec<String>,
    /// Also read the symbols listed in FILE, one per line ('#' starts a comment).
    #[arg(long, value_name = "FILE")]
    symbols_file: Option<PathBuf>,
    /// Read every stored symbol.
    #[arg(long, conflicts_with_all = ["symbols", "symbols_file"])]
    all: bool,
    /// Leave out symbols that are not stored, with a warning, instead of failing.
    #[arg(long)]
    skip_missing: bool,
    #[command(flatten)]
    range: quality::RangeArgs,
    /// all, or regular: the exchange's regular session (09:30 <= t < 16:00, 13:00 on
    /// early closes, nothing on holidays) [default: all].
    #[arg(long)]
    session: Option<String>,
    /// Round prices and volume to N decimals.
    #[arg(long)]
    round: Option<u32>,
    /// Aggregate into wider bars: 5min, 15min, 1h, 1d, ...
    #[arg(long)]
    resample: Option<String>,
    /// Show times in this zone instead of the symbol's exchange zone.
    #[arg(long)]
    tz: Option<String>,
    /// Adjust a raw series for the stored corporate actions: split, or split+div
    /// (`barstore actions load`). Applied before the session filter, resampling and
    /// rounding.
    #[arg(long, value_name = "HOW")]
    adjust: Option<String>,
    /// Read the store as it was: a version number (barstore history), a date
    /// (2026-11-02: as committed by the end of that day, UTC), a time
    /// (2026-11-02T15:30:00Z) or a snapshot name. Corporate actions as known then: only
    /// those recorded by then, with an ex-date up to its day. A CQL store keeps no
    /// versions of bars: there a date or time applies to the actions only.
    #[arg(long, value_name = "VERSION|TIME|NAME")]
    as_of: Option<String>,
    /// Write to FILE.csv or FILE.parquet instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub fn run_read(store: &(dyn Store + 'static), args: &ReadArgs) -> anyhow::Result<u8> {
    let mut symbols = args.symbols.clone();
    if let Some(path) = &args.symbols_file {
        let text = barstore::source::read_listing(path)?;
        symbols.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
    }
    let choices = ReadChoices {
        session: args.session.clone(),
        round: args.round,
        resample: args.resample.clone(),
        tz: args.tz.clone(),
        adjust: args.adjust.clone(),
        as_of: args.as_of.clone(),
        ..args.range.choices("")
    };
    let req = match (&symbols[..], args.all, &args.symbols_file) {
        ([one], false, None) => ReadChoices {
            symbol: one.clone(),
            ..choices
        }
        .resolve()?,
        _ => {
            let req = PanelRequest {
                symbols: if args.all {
                    Symbols::All
                } else {
                    Symbols::List(symbols)
                },
                read: choices.resolve()?,
                skip_missing: args.skip_missing,
            };
            return run_read_panel(store, &req, args.output.as_deref());
        }
    };
    let frame = read(store, &req)?;
    write_output(
        args.output.as_deref(),
        &frame,
        |frame, path| Ok(write_parquet(frame, path)?),
        |frame, out| write_csv(frame, out).context("cannot write the CSV"),
    )
}

/// Writes a read to `output`: Parquet for a `.parquet` name, else CSV to the file or
/// stdout (a reader that closes the pipe early, as `head` does, is no error).
pub fn write_output<T>(
    output: Option<&Path>,
    mut read: T,
    parquet: impl FnOnce(&mut T, &Path) -> anyhow::Result<()>,
    csv: impl FnOnce(&mut T, &mut dyn std::io::Write) -> anyhow::Result<()>,
) -> anyhow::Result<u8> {
    let result = match output {
        Some(path) if path.extension().is_some_and(|e| e == "parquet") => parquet(&mut read, path),
        Some(path) => barstore::atomic::write(path, |file| {
            let mut out = std::io::BufWriter::new(file);
            csv(&mut read, &mut out)
                .and_then(|()| Ok(out.flush()?))
                .with_context(|| format!("cannot write {}", path.display()))
        }),
        None => csv(&mut read, &mut std::io::stdout().lock()),
    };
    let broken_pipe = |e: &anyhow::Error| {
        e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
        })
    };
    match result {
        Err(e) if output.is_none() && broken_pipe(&e) => Ok(0),
        other => other.map(|()| 0),
    }
}

/// Reads many symbols as a stream, a few at a time, into the output.
pub fn run_read_panel(
    store: &(dyn Store + 'static),
    req: &PanelRequest,
    output: Option<&Path>,
) -> anyhow::Result<u8> {
    let stream = PanelStream::new(store, req, false)?;
    if !stream.missing.is_empty() {
        tracing::warn!(
            "skipped {} symbols not in the store: {}",
            stream.missing.len(),
            stream.missing.join(", ")
        );
    }
    write_output(
        output,
        stream,
        |stream, path| Ok(panel::write_parquet(stream, path)?),
        |stream, out| Ok(panel::write_csv(stream, out)?),
    )
}
