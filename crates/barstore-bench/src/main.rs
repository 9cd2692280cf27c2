//! `barstore-bench`: the Rust half of `scripts/bench` (which runs the baselines beside
//! it and prints the comparison). Each measuring command prints one JSON object.

use anyhow::Context;
use barstore::format::{detect, FormatSpec};
use barstore::parse::Parser;
use barstore::store::{Embedded, Store};
use barstore::zone::Zone;
use clap::{Parser as _, Subcommand};
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

mod codecs;

/// The same allocator as the `barstore` binary, so figures match what users get.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(clap::Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a deterministic FirstRate-style file of N rows.
    Gen {
        /// Rows to write.
        #[arg(long)]
        rows: u64,
        /// Seed of the random walk.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file.
        out: PathBuf,
    },
    /// Parse a file held in memory (no I/O, no store): best of `repeat` runs.
    Parse {
        file: PathBuf,
        #[arg(long, default_value_t = 1)]
        threads: usize,
        #[arg(long, default_value_t = 5)]
        repeat: usize,
    },
    /// Encode a file's bars as day chunks with each candidate codec of the chunked CQL
    /// layout: size, speed on one core, exactness (one JSON object per codec).
    Codecs {
        file: PathBuf,
        /// Time zone of the file's wall-clock times.
        #[arg(long, default_value = barstore::defaults::ZONE)]
        tz: String,
    },
    /// Draw the figures a bench run wrote (a JSON list of label, baseline, ratio,
    /// detail) as a bar chart (SVG or PNG).
    Chart {
        figures: PathBuf,
        #[arg(long, short)]
        output: PathBuf,
        #[arg(long, default_value = "barstore vs baselines: times faster")]
        title: String,
    },
    /// Read a whole symbol from an embedded store into memory: best of `repeat` runs.
    Read {
        store: PathBuf,
        symbol: String,
        #[arg(long, default_value_t = 5)]
        repeat: usize,
    },
}

fn best<T>(repeat: usize, mut f: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<(f64, T)> {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        let out = f()?;
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(out);
    }
    Ok((best, last.expect("ran at least once")))
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Gen { rows, seed, out } => {
            let file = std::fs::File::create(&out).with_context(|| out.display().to_string())?;
            let mut w = std::io::BufWriter::new(file);
            barstore::generate::write_firstrate(&mut w, rows, seed)?;
        }
        Command::Parse {
            file,
            threads,
            repeat,
        } => {
            let data = std::fs::read(&file).with_context(|| file.display().to_string())?;
            let layout = detect(&data[..data.len().min(65536)], &FormatSpec::Auto, "bench")?;
            let parser = Parser::new(layout, Zone::new(barstore::defaults::ZONE)?);
            let chunks: Vec<&[u8]> = split_lines(&data, 1 << 20);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()?;
            let (secs, rows) = best(repeat, || {
                Ok(pool.install(|| {
                    chunks
                        .par_iter()
                        .map(|c| parser.clone().parse_chunk(c).bars.len())
                        .sum::<usize>()
                }))
            })?;
            println!(
                "{}",
                serde_json::json!({"rows": rows, "seconds": secs, "threads": threads})
            );
        }
        Command::Chart {
            figures,
            output,
            title,
        } => {
            let text =
                std::fs::read_to_string(&figures).with_context(|| figures.display().to_string())?;
            let figures: Vec<barstore::chart::figures::Figure> = serde_json::from_str(&text)?;
            barstore::chart::figures::draw(&title, &figures, &output)?;
        }
        Command::Codecs { file, tz } => {
            let data = std::fs::read(&file).with_context(|| file.display().to_string())?;
            let mut layout = detect(&data[..data.len().min(65536)], &FormatSpec::Auto, "bench")?;
            let body = if layout.header {
                let cut = data
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(data.len(), |i| i + 1);
                layout.header = false;
                &data[cut..]
            } else {
                &data[..]
            };
            let zone = Zone::new(&tz)?;
            let mut bars = Parser::new(layout, zone.clone()).parse_chunk(body).bars;
            bars.sort_dedup_last();
            let label = file
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned());
            for result in codecs::measure(&label, &codecs::days(&bars, &zone)) {
                println!("{result}");
            }
        }
        Command::Read {
            store,
            symbol,
            repeat,
        } => {
            let store = Embedded::new(store);
            let series = barstore::read::resolve_series(&store, &symbol, None, None)?;
            let (secs, rows) = best(repeat, || {
                Ok(store.scan(&series, i64::MIN, i64::MAX)?.len())
            })?;
            println!("{}", serde_json::json!({"rows": rows, "seconds": secs}));
        }
    }
    Ok(())
}

/// Cuts `data` into pieces of about `size` bytes ending at line boundaries.
fn split_lines(data: &[u8], size: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let mut end = (start + size).min(data.len());
        while end < data.len() && data[end - 1] != b'\n' {
            end += 1;
        }
        out.push(&data[start..end]);
        start = end;
    }
    out
}
