//! The `barstore` command: argument parsing and printing over the `barstore` library.
//!
//! Exit status: 0 success; 1 finished but rows were rejected (load, actions load), the
//! store differs from the sources (verify) or a day was flagged (check); 2 fatal error
//! or a file that could not be loaded.

mod actions;
mod progress;
mod quality;

use anyhow::Context;
use barstore::actions::format_date;
use barstore::copy::copy;
use barstore::load::load;
use barstore::panel::{self, PanelRequest, PanelStream, Symbols};
use barstore::read::{self, read, write_csv, write_parquet};
use barstore::settings::{self, CqlChoices, InputChoices, LoadChoices, ReadChoices};
use barstore::store::cql::CqlOptions;
use barstore::store::{self, Store};
use barstore::verify::{verify, verify_adjusted};
use barstore::zone;
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// mimalloc keeps freed pages for reuse, which spares the page faults of the large,
/// short-lived column buffers a load or read allocates (measured: reads 1.5x faster).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Load minute bars (OHLCV) into a store and read any slice back.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The store: a directory (embedded Parquet store), or
    /// cql://host[:port][,host...]/keyspace[?table=NAME&layout=auto|chunked|typed|text&tz=ZONE]
    /// for ScyllaDB/Cassandra (also scylla:// and cassandra://).
    #[arg(
        long,
        global = true,
        env = "BARSTORE_STORE",
        default_value = settings::DEFAULT_STORE,
        help_heading = CONNECTION
    )]
    store: String,
    #[command(flatten)]
    cql: CqlArgs,
    #[command(subcommand)]
    command: Command,
}

/// The help heading of the options that say which store and how to reach it, apart
/// from each command's own.
const CONNECTION: &str = "Store and connection";

/// Options of CQL stores; the password comes only from BARSTORE_CQL_PASSWORD.
#[derive(Args)]
#[command(next_help_heading = CONNECTION)]
struct CqlArgs {
    /// User name for password authentication (password: env BARSTORE_CQL_PASSWORD).
    #[arg(long, global = true, env = "BARSTORE_CQL_USER")]
    cql_user: Option<String>,
    /// Connect with TLS.
    #[arg(long, global = true)]
    tls: bool,
    /// CA certificate (PEM) to verify the nodes with [default: the system's].
    #[arg(long, global = true)]
    tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for clusters that require client authentication
    /// (with --tls-key).
    #[arg(long, global = true, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, global = true, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Prefer this datacenter's nodes.
    #[arg(long, global = true)]
    dc: Option<String>,
    /// Consistency level of reads and writes [default: LOCAL_QUORUM].
    #[arg(long, global = true)]
    consistency: Option<String>,
    /// Replication of a keyspace barstore creates: SimpleStrategy:RF or
    /// NetworkTopologyStrategy:DC=RF[,DC=RF] [default: SimpleStrategy:1, only for a single local node].
    #[arg(long, global = true)]
    replication: Option<String>,
    /// Compaction of a table barstore creates: lcs, stcs or twcs [default: lcs].
    #[arg(long, global = true)]
    compaction: Option<String>,
    /// Attempts per CQL request on transient errors (timeouts, overload, node down).
    #[arg(long, global = true, default_value_t = CqlOptions::default().attempts)]
    cql_attempts: u32,
    /// Rows per unlogged batch (typed and text layouts; each batch holds one partition).
    #[arg(long, global = true, default_value_t = CqlOptions::default().batch_rows)]
    cql_batch_rows: usize,
    /// Batches in flight at once for each series being written (typed and text layouts).
    #[arg(long, global = true, default_value_t = CqlOptions::default().concurrency)]
    cql_concurrency: usize,
}

impl CqlArgs {
    fn choices(&self) -> CqlChoices {
        CqlChoices {
            user: self.cql_user.clone(),
            password: std::env::var("BARSTORE_CQL_PASSWORD").ok(),
            tls: self.tls,
            tls_ca: self.tls_ca.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            dc: self.dc.clone(),
            consistency: self.consistency.clone(),
            replication: self.replication.clone(),
            compaction: self.compaction.clone(),
            attempts: Some(self.cql_attempts),
            batch_rows: Some(self.cql_batch_rows),
            concurrency: Some(self.cql_concurrency),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Load bar files (plain, .gz, .zip; files or directories) into the store.
    Load(LoadArgs),
    /// Read one symbol's bars, or many symbols' (with a symbol column), as CSV (stdout)
    /// or to a .csv/.parquet file.
    Read(ReadArgs),
    /// List stored series (symbol, timeframe, adjustment) with their row counts and
    /// first and last bars.
    Symbols,
    /// Compare source files with the store; exit 0 only when identical. With
    /// --adjusted, compare vendor-adjusted files with the raw series adjusted on read.
    Verify(VerifyArgs),
    /// Corporate actions (splits, dividends) that reads adjust raw series for.
    Actions {
        #[command(subcommand)]
        command: actions::ActionsCommand,
    },
    /// Copy every series of some symbols (or all) from this store to another
    /// (embedded <-> CQL, text layout -> typed).
    Copy(CopyArgs),
    /// Check series day by day against the exchange calendar: missing bars, bars on
    /// closed days, zero-volume bars, price jumps and spikes, unadjusted splits; exit 1
    /// when a day is flagged.
    Check(quality::CheckArgs),
    /// Draw one symbol's bars as candlesticks over a volume pane (SVG or PNG).
    Plot(quality::PlotArgs),
    /// Draw a calendar heat map of what the store holds: one band per series, one cell
    /// per trading day coloured by the share of its regular bars present (SVG or PNG).
    Coverage(quality::CoverageArgs),
    /// Merge the parts that daily appends added to the embedded store into one file per
    /// year, and rebuild its series index from the data files.
    Compact,
}

#[derive(Args)]
struct CopyArgs {
    /// The target store (a directory or a cql:// URL).
    #[arg(long)]
    to: String,
    /// Symbols to copy [default: all].
    symbols: Vec<String>,
    /// Copy months again even when already copied.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct InputArgs {
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
    /// Time zone of the files' wall-clock times (IANA name) [default: America/New_York].
    #[arg(long)]
    tz: Option<String>,
    /// Timeframe of the files' bars: 1min, 5min, 15min, 30min, 1h, 1d...
    /// [default: from each file's name (e.g. AAPL_full_5min_adjsplit.txt), else its data].
    #[arg(long)]
    timeframe: Option<String>,
    /// Price adjustment of the files' bars, e.g. adjsplit, adjsplitdiv, unadjusted
    /// [default: from each file's name, else none].
    #[arg(long)]
    adjustment: Option<String>,
    /// Worker threads [default: one per core on the embedded store, 16 on CQL].
    #[arg(long, short, default_value_t = 0)]
    jobs: usize,
}

#[derive(Args)]
struct VerifyArgs {
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

#[derive(Args)]
struct LoadArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Load files again even when already loaded and unchanged.
    #[arg(long)]
    force: bool,
    /// Where rejected rows and warnings go (JSON lines) [default: barstore-errors.jsonl].
    #[arg(long)]
    errors: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Load only shard I of N (I/N, 0-based): files are split by symbol, so N
    /// machines running shards 0..N-1 load the whole dataset once.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(u64, u64)>,
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (i, n) = s.split_once('/').ok_or("use I/N, e.g. 0/4")?;
    Ok((
        i.parse().map_err(|_| "I must be a number")?,
        n.parse().map_err(|_| "N must be a number")?,
    ))
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("which").required(true).multiple(true)
    .args(["symbols", "symbols_file", "all"])))]
struct ReadArgs {
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
    /// With --adjust: only actions with an ex-date up to DATE, in the versions loaded by
    /// then (reproduces a read made that day).
    #[arg(long, value_name = "DATE", requires = "adjust")]
    as_of: Option<String>,
    /// Write to FILE.csv or FILE.parquet instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

impl InputArgs {
    fn choices(&self) -> InputChoices {
        InputChoices {
            pattern: self.pattern.clone(),
            format: self.format.clone(),
            tz: self.tz.clone(),
            timeframe: self.timeframe.clone(),
            adjustment: self.adjustment.clone(),
            jobs: Some(self.jobs),
        }
    }
}

fn run_load(store: &dyn Store, args: &LoadArgs) -> anyhow::Result<u8> {
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

fn run_read(store: &(dyn Store + 'static), args: &ReadArgs) -> anyhow::Result<u8> {
    let mut symbols = args.symbols.clone();
    if let Some(path) = &args.symbols_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
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
fn write_output<T>(
    output: Option<&Path>,
    mut read: T,
    parquet: impl FnOnce(&mut T, &Path) -> anyhow::Result<()>,
    csv: impl FnOnce(&mut T, &mut dyn std::io::Write) -> anyhow::Result<()>,
) -> anyhow::Result<u8> {
    let result = match output {
        Some(path) if path.extension().is_some_and(|e| e == "parquet") => parquet(&mut read, path),
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            csv(&mut read, &mut std::io::BufWriter::new(file))
                .with_context(|| format!("cannot write {}", path.display()))
        }
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
fn run_read_panel(
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

fn run_symbols(store: &dyn Store) -> anyhow::Result<u8> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut zones: std::collections::HashMap<String, zone::Zone> = Default::default();
    let mut text = String::from("symbol,timeframe,adjustment,rows,first,last,tz\n");
    for s in store.series()? {
        if !zones.contains_key(&s.zone) {
            zones.insert(s.zone.clone(), zone::Zone::new(&s.zone)?);
        }
        let zone = zones.get_mut(&s.zone).expect("inserted above");
        let series = &s.series;
        text.push_str(&format!(
            "{},{},{},{},",
            series.symbol, series.timeframe, series.adjustment, s.rows
        ));
        zone::format_local(zone.utc_ms_to_local(s.first), &mut text);
        text.push(',');
        zone::format_local(zone.utc_ms_to_local(s.last), &mut text);
        text.push(',');
        text.push_str(&s.zone);
        text.push('\n');
        if text.len() > 1 << 16 {
            out.write_all(text.as_bytes())?;
            text.clear();
        }
    }
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        other => other.map(|()| 0).context("cannot write to stdout"),
    }
}

fn run_compact(store: &dyn Store) -> anyhow::Result<u8> {
    let years = store.compact()?;
    eprintln!("{years} years merged; series index rebuilt");
    Ok(0)
}

fn run_verify(store: &dyn Store, args: &VerifyArgs) -> anyhow::Result<u8> {
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

fn run_copy(from: &dyn Store, args: &CopyArgs, cql: &CqlOptions) -> anyhow::Result<u8> {
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

fn main() -> ExitCode {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(progress::Stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .with_filter(
                    tracing_subscriber::EnvFilter::try_from_env("BARSTORE_LOG")
                        .unwrap_or_else(|_| "warn,scylla=off".into()),
                ),
        )
        .with(
            progress::Retries.with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("barstore::retry", tracing::Level::WARN),
            ),
        )
        .init();
    let cli = Cli::parse();
    let result = cli
        .cql
        .choices()
        .resolve()
        .and_then(|cql| Ok((store::open(&cli.store, &cql)?, cql)))
        .map_err(anyhow::Error::from)
        .and_then(|(store, cql)| {
            let store = store.as_ref();
            match &cli.command {
                Command::Load(args) => run_load(store, args),
                Command::Read(args) => run_read(store, args),
                Command::Symbols => run_symbols(store),
                Command::Verify(args) => run_verify(store, args),
                Command::Copy(args) => run_copy(store, args, &cql),
                Command::Check(args) => quality::run_check(store, args),
                Command::Plot(args) => quality::run_plot(store, args),
                Command::Coverage(args) => quality::run_coverage(store, args),
                Command::Compact => run_compact(store),
                Command::Actions { command } => actions::run(store, command),
            }
        });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::from(2)
        }
    }
}

/// The message of a failure: the CLI's own context, then the library's message, which
/// already contains the text of its sources (so the chain stops there).
fn message(e: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in e.chain() {
        parts.push(cause.to_string());
        if cause.is::<barstore::Error>() {
            break;
        }
    }
    parts.join(": ")
}
