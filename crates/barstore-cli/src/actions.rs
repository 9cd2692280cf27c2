//! `barstore actions`: corporate actions in and out of the store.

use anyhow::Context;
use barstore::adjust::{listed, load_actions};
use barstore::defaults;
use barstore::exchange::Calendar;
use barstore::store::Store;
use barstore::zone::format_date;
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ActionsCommand {
    /// Load splits and dividends from a CSV with a header: symbol,ex_date,split_from,split_to
    /// (a 4-for-1 split is AAPL,2020-08-31,1,4) and/or symbol,ex_date,dividend (cash per
    /// share); an optional source column. Loading a row again changes nothing; a changed
    /// row replaces the old one, which stays in the history for --as-of reads. Exit 1 when
    /// rows were rejected (the good ones load).
    Load(LoadArgs),
    /// List the stored actions as CSV: symbol,ex_date,kind,split_from,split_to,dividend,
    /// source,recorded.
    List(ListArgs),
}

#[derive(Args)]
pub struct LoadArgs {
    /// The actions CSV.
    file: PathBuf,
    /// The calendar whose trading days ex-dates must fall on: us or plain.
    #[arg(long, default_value = defaults::CALENDAR)]
    calendar: String,
}

#[derive(Args)]
pub struct ListArgs {
    /// Only this symbol's actions [default: every symbol].
    symbol: Option<String>,
    /// Every version of each action (oldest first), not only the one in effect.
    #[arg(long)]
    history: bool,
}

pub fn run(store: &dyn Store, command: &ActionsCommand) -> anyhow::Result<u8> {
    match command {
        ActionsCommand::Load(args) => run_load(store, args),
        ActionsCommand::List(args) => run_list(store, args),
    }
}

fn run_load(store: &dyn Store, args: &LoadArgs) -> anyhow::Result<u8> {
    let calendar: Calendar = args.calendar.parse()?;
    let report = load_actions(store, &args.file, calendar)?;
    for (line, why) in &report.rejected {
        eprintln!("rejected: {}: line {line}: {why}", args.file.display());
    }
    eprintln!(
        "{} rows: {} actions added, {} changed, {} unchanged; {} rows rejected",
        report.rows,
        report.added,
        report.changed,
        report.unchanged,
        report.rejected.len()
    );
    Ok(u8::from(!report.rejected.is_empty()))
}

fn run_list(store: &dyn Store, args: &ListArgs) -> anyhow::Result<u8> {
    let actions = listed(store, args.symbol.as_deref(), args.history)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let number = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    let mut write = || -> std::io::Result<()> {
        writeln!(
            out,
            "symbol,ex_date,kind,split_from,split_to,dividend,source,recorded"
        )?;
        for a in &actions {
            let (from, to, cash) = a.event.values();
            let recorded = utc_time(a.recorded);
            writeln!(
                out,
                "{},{},{},{},{},{},{},{recorded}",
                a.symbol,
                format_date(a.ex_date),
                a.event.kind(),
                number(from),
                number(to),
                number(cash),
                csv_field(&a.source),
            )?;
        }
        out.flush()
    };
    match write() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        other => other.map(|()| 0).context("cannot write to stdout"),
    }
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of epoch milliseconds.
fn utc_time(ms: i64) -> String {
    let mut s = String::new();
    barstore::zone::format_local(ms.div_euclid(1000), &mut s);
    s
}

/// A CSV field, quoted when it holds a comma or a quote.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
