//! The data-quality commands: `check` (gaps and anomalies against the exchange
//! calendar), `plot` (candlesticks) and `coverage` (a calendar heat map).

use anyhow::Context;
use barstore::chart::{candles, coverage};
use barstore::check::{check, write_suggested_actions, write_table};
use barstore::settings::ReadChoices;
use barstore::store::Store;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

/// Which part of which series to look at (read, check, plot, coverage).
#[derive(Args)]
pub struct RangeArgs {
    /// First bar (inclusive): YYYY-MM-DD or 'YYYY-MM-DD HH:MM[:SS]', exchange time.
    #[arg(long)]
    start: Option<String>,
    /// Last bar (inclusive): a date means the whole day.
    #[arg(long)]
    end: Option<String>,
    /// Which stored timeframe: 1min, 5min, 1h, 1d... [default: the finest stored].
    #[arg(long)]
    timeframe: Option<String>,
    /// Which stored adjustment [default: the one stored].
    #[arg(long)]
    adjustment: Option<String>,
    /// Exchange calendar: us (NYSE/Nasdaq holidays and early closes) or plain
    /// (09:30-16:00 on weekdays) [default: us for America/New_York symbols, else plain].
    #[arg(long)]
    calendar: Option<String>,
}

impl RangeArgs {
    /// The read of `symbol` these arguments mean.
    pub fn choices(&self, symbol: &str) -> ReadChoices {
        ReadChoices {
            symbol: symbol.to_string(),
            start: self.start.clone(),
            end: self.end.clone(),
            timeframe: self.timeframe.clone(),
            adjustment: self.adjustment.clone(),
            calendar: self.calendar.clone(),
            ..ReadChoices::default()
        }
    }
}

#[derive(Args)]
pub struct CheckArgs {
    /// The symbols to check.
    #[arg(required = true)]
    symbols: Vec<String>,
    #[command(flatten)]
    range: RangeArgs,
    /// Print every day of every series as JSON instead of the table of flagged days.
    #[arg(long)]
    json: bool,
    /// Also write the splits found (overnight gaps at a split ratio) to FILE as an
    /// actions CSV (symbol,ex_date,split_from,split_to) to review and load with
    /// `barstore actions load`.
    #[arg(long, value_name = "FILE")]
    suggest_actions: Option<PathBuf>,
}

/// Exit 0 when no day is flagged, 1 when some are.
pub fn run_check(store: &dyn Store, args: &CheckArgs) -> anyhow::Result<u8> {
    let reports = args
        .symbols
        .iter()
        .map(|s| Ok(check(store, &args.range.choices(s).resolve()?)?))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(path) = &args.suggest_actions {
        let n = barstore::atomic::write(path, |file| {
            let mut out = std::io::BufWriter::new(file);
            let n = write_suggested_actions(&reports, &mut out)?;
            out.flush()?;
            Ok::<_, anyhow::Error>(n)
        })
        .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("{}: {n} splits to review", path.display());
    }
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        serde_json::to_writer_pretty(&mut out, &reports)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        write_table(&reports, &mut out)
    };
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("cannot write to stdout")?,
    }
    Ok(u8::from(
        reports.iter().any(|r| r.flagged().next().is_some()),
    ))
}

#[derive(Args)]
pub struct PlotArgs {
    /// The symbol.
    symbol: String,
    #[command(flatten)]
    range: RangeArgs,
    /// Aggregate into wider bars first: 5min, 15min, 1h, 1d...
    #[arg(long)]
    resample: Option<String>,
    /// all, or regular: only the exchange's regular session [default: all].
    #[arg(long)]
    session: Option<String>,
    /// Keep nights and weekends at their real width instead of compressing each to a
    /// narrow band.
    #[arg(long)]
    real_time: bool,
    /// The picture to write: FILE.svg or FILE.png.
    #[arg(long, short, required = true)]
    output: PathBuf,
}

/// Draws candlesticks of one symbol.
pub fn run_plot(store: &dyn Store, args: &PlotArgs) -> anyhow::Result<u8> {
    let req = ReadChoices {
        resample: args.resample.clone(),
        session: args.session.clone(),
        ..args.range.choices(&args.symbol)
    }
    .resolve()?;
    let bars = candles::plot_read(store, &req, args.real_time, &args.output)?;
    eprintln!("{}: {bars} bars", args.output.display());
    Ok(0)
}

#[derive(Args)]
pub struct CoverageArgs {
    /// The symbols [default: every stored series].
    symbols: Vec<String>,
    #[command(flatten)]
    range: RangeArgs,
    /// The picture to write: FILE.svg or FILE.png.
    #[arg(long, short, required = true)]
    output: PathBuf,
}

/// Draws the calendar heat map of some symbols (or every stored series).
pub fn run_coverage(store: &dyn Store, args: &CoverageArgs) -> anyhow::Result<u8> {
    let requests = if args.symbols.is_empty() {
        store
            .series()?
            .into_iter()
            .map(|info| {
                let s = info.series;
                Ok(ReadChoices {
                    timeframe: Some(s.timeframe.to_string()),
                    adjustment: Some(s.adjustment.to_string()),
                    ..args.range.choices(&s.symbol)
                }
                .resolve()?)
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    } else {
        args.symbols
            .iter()
            .map(|s| Ok(args.range.choices(s).resolve()?))
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let chart = coverage::coverage(store, &requests)?;
    chart.draw(&args.output)?;
    let cells: usize = chart.bands.iter().map(|b| b.days.len()).sum();
    eprintln!(
        "{}: {} series, {cells} trading days",
        args.output.display(),
        chart.bands.len()
    );
    Ok(0)
}
