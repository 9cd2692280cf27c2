//! The `barstore` command: argument parsing and printing over the `barstore` library.
//!
//! Exit status: 0 success; 1 finished but rows were rejected (load, actions load), the
//! store differs from the sources (verify) or a day was flagged (check); 2 fatal error
//! or a file that could not be loaded.

mod actions;
mod load;
mod pages;
mod progress;
mod quality;
mod read;
mod versions;

use load::{run_copy, run_load, run_verify, CopyArgs, LoadArgs, VerifyArgs};
use read::{run_read, ReadArgs};

use anyhow::Context;

use barstore::defaults;
use barstore::settings::CqlChoices;
use barstore::store::cql::Secret;
use barstore::store::{self, Store};
use barstore::zone;
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
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
        default_value = defaults::STORE,
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
    /// Consistency level of reads and writes.
    #[arg(long, global = true, default_value = defaults::CONSISTENCY)]
    consistency: Option<String>,
    /// Serial consistency of the chunked layout's fenced writes: SERIAL (fencing holds
    /// across datacenters) or LOCAL_SERIAL (only among loads in one datacenter).
    #[arg(long, global = true, default_value = defaults::SERIAL_CONSISTENCY)]
    serial_consistency: Option<String>,
    /// Replication of a keyspace barstore creates: SimpleStrategy:RF or
    /// NetworkTopologyStrategy:DC=RF[,DC=RF] [default: SimpleStrategy:1, only for a single local node].
    #[arg(long, global = true)]
    replication: Option<String>,
    /// Compaction of a table barstore creates: lcs, stcs or twcs.
    #[arg(long, global = true, default_value = defaults::COMPACTION)]
    compaction: Option<String>,
    /// Seconds a CQL request is retried on transient errors (timeouts, overload, node
    /// down) before the command gives up.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = defaults::RETRY_SECONDS as f64)]
    cql_retry_for: f64,
    /// At most this many attempts per CQL request [default: as many as --cql-retry-for allows].
    #[arg(long, global = true)]
    cql_attempts: Option<u32>,
    /// Rows per unlogged batch (typed and text layouts; each batch holds one partition).
    #[arg(long, global = true, default_value_t = defaults::BATCH_ROWS)]
    cql_batch_rows: usize,
    /// Batches in flight at once for each series being written (typed and text layouts).
    #[arg(long, global = true, default_value_t = defaults::CONCURRENCY)]
    cql_concurrency: usize,
    /// Chunked layout: a load (or copy) that merges into a stored day it cannot decode (an
    /// unknown codec, a checksum mismatch) replaces the day with the bars it brings, losing
    /// the others; without this it fails that series' month and writes nothing of it.
    #[arg(long, global = true)]
    overwrite_unreadable: bool,
}

impl CqlArgs {
    fn choices(&self) -> CqlChoices {
        CqlChoices {
            user: self.cql_user.clone(),
            password: std::env::var("BARSTORE_CQL_PASSWORD").ok().map(Secret),
            tls: self.tls,
            tls_ca: self.tls_ca.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            dc: self.dc.clone(),
            consistency: self.consistency.clone(),
            serial_consistency: self.serial_consistency.clone(),
            replication: self.replication.clone(),
            compaction: self.compaction.clone(),
            retry_for: Some(self.cql_retry_for),
            attempts: self.cql_attempts,
            batch_rows: Some(self.cql_batch_rows),
            concurrency: Some(self.cql_concurrency),
            overwrite_unreadable: self.overwrite_unreadable,
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
    /// Merge the files that daily appends added to the embedded store into one file per
    /// year, in one commit (older versions keep their files until vacuum).
    Compact,
    /// List the embedded store's versions, newest first: time, operation, series and
    /// rows written, files added and replaced, input files completed, snapshots.
    History(versions::HistoryArgs),
    /// Name versions of the embedded store (read them with --as-of NAME).
    Snapshot {
        #[command(subcommand)]
        command: versions::SnapshotCommand,
    },
    /// Remove the embedded store's data files that no version to keep needs: the
    /// latest, those committed within --retain, and every snapshot's.
    Vacuum(versions::VacuumArgs),
    /// Turn an embedded store written before versions into a versioned table, adopting
    /// its files as they are (the first load does this too).
    Upgrade,
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
    eprintln!("{years} years merged");
    Ok(0)
}

/// The embedded store at `location`, for the commands of versions.
fn embedded(location: &str, command: &str) -> anyhow::Result<store::embedded::Embedded> {
    if store::cql::is_cql_url(location) {
        anyhow::bail!(
            "barstore {command} works on the embedded store: a CQL keyspace keeps no versions of its bars"
        );
    }
    store::cql::check_location(location)?;
    Ok(store::embedded::Embedded::new(location))
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
    if matches!(cli.command, Command::Load(_)) && store::cql::is_cql_url(&cli.store) {
        pages::off();
    }
    let versioned = match &cli.command {
        Command::History(args) => {
            Some(embedded(&cli.store, "history").and_then(|s| versions::run_history(&s, args)))
        }
        Command::Snapshot { command } => {
            Some(embedded(&cli.store, "snapshot").and_then(|s| versions::run_snapshot(&s, command)))
        }
        Command::Vacuum(args) => {
            Some(embedded(&cli.store, "vacuum").and_then(|s| versions::run_vacuum(&s, args)))
        }
        Command::Upgrade => {
            Some(embedded(&cli.store, "upgrade").and_then(|s| versions::run_upgrade(&s)))
        }
        _ => None,
    };
    let result = match versioned {
        Some(result) => result,
        None => cli
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
                    Command::History(_)
                    | Command::Snapshot { .. }
                    | Command::Vacuum(_)
                    | Command::Upgrade => unreachable!("run above"),
                }
            }),
    };
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
