//! The commands over input files and between stores: `load`, `verify` (also against
//! vendor-adjusted files) and `copy`.

use crate::progress;
use barstore::copy::copy;
use barstore::defaults;
use barstore::load::load;
use barstore::read;
use barstore::settings::{InputChoices, LoadChoices};
use barstore::store::cql::CqlOptions;
use barstore::store::{self, Store};
use barstore::verify::{verify, verify_adjusted};
use barstore::zone::format_date;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Args)]
pub struct InputArgs {
    /// Files or directories to read.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// File-name pattern with {symbol}, e.g. '{symbol}_full_1min_adjsplit.txt'
    /// [default: the text before the first '_' or '.'].
    #[arg(long)]
    pattern: Option<String>,
    /// Input layout: auto, firstrate, or fields such as date,time,open,high,low,close,volume
    /// [default: auto].
    #[arg(long)]
    format: Option<String>,
    /// Time zone of the files' wall-clock times (IANA name).
    #[arg(long, default_value = defaults::ZONE)]
    tz: Option<String>,
    /// Timeframe of the files' bars: 1min, 5min, 15min, 30min, 1h, 1d...
    /// [default: from each file's name (e.g. AAPL_full_5min_adjsplit.txt), else its data].
    #[arg(long)]
    timeframe: Option<String>,
    /// Price adjustment of the files' bars, e.g. adjsplit, adjsplitdiv, unadjusted
    /// [default: from each file's name, else none].
    #[arg(long)]
    adjustment: Option<String>,
    /// Unit of epoch numbers: s, ms, us or ns [default: each number's magnitude says].
    #[arg(long)]
    epoch_unit: Option<String>,
    /// Years bars may fall in, FIRST..LAST; rows outside are rejected [default: 1900..2100].
    #[arg(long)]
    years: Option<String>,
    /// Worker threads [default: one per core on the embedded store, 16 on CQL].
    #[arg(long, short, default_value_t = 0)]
    jobs: usize,
}

impl InputArgs {
    fn choices(&self) -> InputChoices {
        InputChoices {
            pattern: self.pattern.clone(),
            format: self.format.clone(),
            tz: self.tz.clone(),
            timeframe: self.timeframe.clone(),
            adjustment: self.adjustment.clone(),
            epoch_unit: self.epoch_unit.clone(),
            years: self.years.clone(),
            jobs: Some(self.jobs),
        }
    }
}

#[derive(Args)]
pub struct LoadArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Load files again even when already loaded and unchanged.
    #[arg(long)]
    force: bool,
    /// Where rejected rows and warnings go (JSON lines).
    #[arg(long, default_value = defaults::ERRORS)]
    errors: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Load only shard I of N (I/N, 0-based): files are split by symbol, so N
    /// machines running shards 0..N-1 load the whole dataset once.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(u64, u64)>,
}

pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (i, n) = s.split_once('/').ok_or("use I/N, e.g. 0/4")?;
    Ok((
        i.parse().map_err(|_| "I must be a number")?,
        n.parse().map_err(|_| "N must be a number")?,
    ))
}

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    input: InputArgs,
    /// The files are adjusted by their vendor (split or split+div): compare them with the
    /// stored raw series of the same symbol and timeframe adjusted on read, and list the
    /// runs of days that disagree with their factor (vendor close / barstore close).
    #[arg(long, value_name = "HOW")]
    adjusted: Option<String>,
    /// With --adjusted: adjust as of this date (YYYY-MM-DD).
    #[arg(long, requires = "adjusted")]
    as_of: Option<String>,
}

pub fn run_load(store: &dyn Store, args: &LoadArgs) -> anyhow::Result<u8> {
    let opts = LoadChoices {
        input: args.input.choices(),
        force: args.force,
        errors: args.errors.clone(),
        shard: args.shard,
    }
    .resolve()?;
    let show = !args.quiet && std::io::stderr().is_terminal();
    let bar = progress::Bar::new(show);
    let report = load(store, &args.input.paths, &opts, &bar)?;
    bar.finish();
    for (_, why) in &report.failed {
        eprintln!("failed: {why}");
    }
    let rate = report.rows as f64 / report.seconds.max(1e-9);
    eprintln!(
        "{} files: {} loaded, {} skipped (already loaded), {} failed; {} rows loaded, {} rejected, {} warnings in {:.2} s ({:.0} rows/s)",
        report.files,
        report.loaded,
        report.skipped,
        report.failed.len(),
        report.rows,
        report.rejected,
        report.warnings,
        report.seconds,
        rate
    );
    if let Some(log) = &report.error_log {
        eprintln!("rejected rows and warnings: {}", log.display());
    }
    Ok(report.exit_code() as u8)
}

pub fn run_verify(store: &dyn Store, args: &VerifyArgs) -> anyhow::Result<u8> {
    let opts = args.input.choices().resolve()?;
    if let Some(how) = &args.adjusted {
        let as_of = args.as_of.as_deref().map(read::day_of).transpose()?;
        let report = verify_adjusted(store, &args.input.paths, &opts, how.parse()?, as_of)?;
        println!("symbol,timeframe,adjustment,first,last,days,factor");
        for d in &report.disagreements {
            println!(
                "{},{},{},{},{},{},{:.6}",
                d.series.symbol,
                d.series.timeframe,
                d.series.adjustment,
                format_date(d.first),
                format_date(d.last),
                d.days,
                d.factor
            );
        }
        for (file, why) in &report.failed {
            eprintln!("failed: {file}: {why}");
        }
        return Ok(
            if report.disagreements.is_empty() && report.failed.is_empty() {
                eprintln!("agree: {} bars compared", report.compared);
                0
            } else {
                eprintln!(
                    "{} runs of days disagree ({} bars compared)",
                    report.disagreements.len(),
                    report.compared
                );
                1
            },
        );
    }
    let report = verify(store, &args.input.paths, &opts)?;
    println!("symbol,timeframe,adjustment,source_rows,store_rows,missing,extra,different");
    for d in &report.series {
        println!(
            "{},{},{},{},{},{},{},{}",
            d.series.symbol,
            d.series.timeframe,
            d.series.adjustment,
            d.source_rows,
            d.store_rows,
            d.missing,
            d.extra,
            d.different
        );
    }
    for (file, why) in &report.failed {
        eprintln!("failed: {file}: {why}");
    }
    if report.identical() {
        eprintln!("identical: the store holds exactly the bars of the source files");
        Ok(0)
    } else {
        eprintln!("the store differs from the source files");
        Ok(1)
    }
}

#[derive(Args)]
pub struct CopyArgs {
    /// The target store (a directory or a cql:// URL).
    #[arg(long)]
    to: String,
    /// Symbols to copy [default: all].
    symbols: Vec<String>,
    /// Copy months again even when already copied.
    #[arg(long)]
    force: bool,
}

pub fn run_copy(from: &dyn Store, args: &CopyArgs, cql: &CqlOptions) -> anyhow::Result<u8> {
    let to = store::open(&args.to, cql)?;
    let report = copy(
        from,
        to.as_ref(),
        &args.symbols,
        args.force,
        &barstore::load::NoProgress,
    )?;
    eprintln!(
        "{} series: {} months copied, {} skipped (already copied); {} rows, {} action versions in {:.2} s",
        report.series, report.months, report.skipped, report.rows, report.actions, report.seconds
    );
    Ok(0)
}
