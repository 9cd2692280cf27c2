//! Property tests of the input side. Format detection and the parser never panic, on
//! arbitrary bytes or on real files with random byte edits; cutting a stream into
//! blocks at any read sizes changes nothing; and random bars written in every supported
//! layout (header or not, separator, date-time, split date and time, epoch seconds or
//! milliseconds, CRLF, padding, plain, gz or zip) load and read back exactly; and any
//! sequence of edits to overlapping files of one series, each followed by a rerun of the
//! load, leaves the store as a fresh load of the files as they are then.
//!
//! Each property runs `PROPTEST_CASES` cases (64 unless set). A long campaign:
//! `PROPTEST_CASES=20000 cargo test --release -p barstore --test properties`.

use barstore::format::{detect, FormatSpec};
use barstore::load::{load, NoProgress};
use barstore::parse::Parser;
use barstore::read::{read, ReadRequest};
use barstore::settings::{InputChoices, LoadChoices};
use barstore::source::Blocks;
use barstore::store::Embedded;
use barstore::zone::Zone;
use proptest::prelude::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: barstore::testing::proptest_cases(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn sample(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name);
    let mut bytes = std::fs::read(path).unwrap();
    bytes.truncate(32 * 1024);
    bytes
}

/// Detects and parses `bytes` as one file would be; must never panic.
fn detect_and_parse(bytes: &[u8]) {
    if let Ok(layout) = detect(bytes, &FormatSpec::Auto, "fuzz.csv") {
        let mut parser = Parser::new(layout, Zone::new("America/New_York").unwrap());
        let parsed = parser.parse_chunk(bytes);
        assert!(parsed.bars.len() <= bytes.len());
    }
}

/// A reader that hands out its bytes in the given read sizes (cycled).
struct Dribble<'a> {
    bytes: &'a [u8],
    sizes: Vec<usize>,
    at: usize,
    n: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = self.sizes[self.n % self.sizes.len()].min(buf.len());
        self.n += 1;
        let k = want.min(self.bytes.len() - self.at);
        buf[..k].copy_from_slice(&self.bytes[self.at..self.at + k]);
        self.at += k;
        Ok(k)
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        detect_and_parse(&bytes);
    }

    #[test]
    fn arbitrary_text_lines_never_panic(
        lines in prop::collection::vec("[0-9 ,;:./T\t\r-]{0,60}", 0..40)
    ) {
        detect_and_parse(lines.join("\n").as_bytes());
    }

    #[test]
    fn real_files_with_byte_edits_never_panic(
        file in prop::sample::select(vec![
            "AAPL_1min_sample.csv",
            "AAPL_1min_sample_headerless.txt",
            "2006-01-02-volume-min-001.txt",
            "DBB_1min_2023-07-10_to_2025-07-08.csv",
        ]),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..24),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = sample(file);
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        bytes.truncate(cut.index(bytes.len()) + 1);
        detect_and_parse(&bytes);
    }

    #[test]
    fn blocks_keep_every_byte_and_end_on_line_boundaries(
        file in prop::sample::select(vec!["AAPL_1min_sample.csv", "2006-min-005.txt"]),
        reads in prop::collection::vec(1usize..5000, 1..8),
        block in 1usize..20_000,
    ) {
        let bytes = sample(file);
        let mut reader = Dribble { bytes: &bytes, sizes: reads, at: 0, n: 0 };
        let mut blocks = Blocks::new(&mut reader);
        let mut joined = Vec::new();
        let mut parts = Vec::new();
        while let Some(b) = blocks.next_block(block).unwrap() {
            joined.extend_from_slice(&b.bytes);
            parts.push(b.bytes);
        }
        prop_assert_eq!(&joined, &bytes);
        for part in &parts[..parts.len().saturating_sub(1)] {
            prop_assert_eq!(part.last(), Some(&b'\n'));
        }
        // parsing block by block gives the bars of parsing everything at once
        let layout = detect(&bytes, &FormatSpec::Auto, file).unwrap();
        let zone = Zone::new("America/New_York").unwrap();
        let whole = Parser::new(layout.clone(), zone.clone()).parse_chunk(&bytes).bars;
        let mut parser = Parser::new(layout, zone);
        let mut pieces = parser.parse_chunk(&parts[0]).bars;
        for part in &parts[1..] {
            pieces.append(&mut parser.parse_chunk(part).bars);
        }
        prop_assert_eq!(whole.ts, pieces.ts);
        prop_assert_eq!(whole.close, pieces.close);
    }
}

/// One generated bar: UTC seconds and decimal text of open, high, low, close, volume.
type Bar = (i64, [String; 4], u64);

fn bars() -> impl Strategy<Value = Vec<Bar>> {
    let bar = (
        1u32..5,
        prop::array::uniform4((1u64..100_000_000, 0u32..5)),
        0u64..10_000_000,
    );
    (
        1_000_000_000i64..1_900_000_000,
        prop::collection::vec(bar, 1..150),
    )
        .prop_map(|(start, bars)| {
            let mut t = start - start % 60;
            bars.into_iter()
                .map(|(gap, prices, volume)| {
                    t += 60 * i64::from(gap);
                    // low <= open, close <= high, as a valid bar has them
                    let mut sorted = prices.map(|(units, decimals)| decimal(units, decimals));
                    sorted.sort_by(|a, b| value(a).total_cmp(&value(b)));
                    let [low, open, close, high] = sorted;
                    (t, [open, high, low, close], volume)
                })
                .collect()
        })
}

fn value(text: &str) -> f64 {
    text.parse().unwrap()
}

/// `units / 10^decimals` written with exactly `decimals` decimals.
fn decimal(units: u64, decimals: u32) -> String {
    let p = 10u64.pow(decimals);
    match decimals {
        0 => units.to_string(),
        d => format!("{}.{:0width$}", units / p, units % p, width = d as usize),
    }
}

/// How a generated file is written.
#[derive(Clone, Debug)]
struct Shape {
    time: Stamp,
    separator: char,
    header: bool,
    crlf: bool,
    padded: bool,
    packing: Packing,
}

#[derive(Clone, Copy, Debug)]
enum Stamp {
    Combined,
    IsoT,
    Split,
    EpochSeconds,
    EpochMillis,
}

#[derive(Clone, Copy, Debug)]
enum Packing {
    Plain,
    Gzip,
    Zip,
}

fn shapes() -> impl Strategy<Value = Shape> {
    (
        prop::sample::select(vec![
            Stamp::Combined,
            Stamp::IsoT,
            Stamp::Split,
            Stamp::EpochSeconds,
            Stamp::EpochMillis,
        ]),
        prop::sample::select(vec![',', ';', '\t']),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec![Packing::Plain, Packing::Gzip, Packing::Zip]),
    )
        .prop_map(|(time, separator, header, crlf, padded, packing)| Shape {
            time,
            separator,
            header,
            crlf,
            padded,
            packing,
        })
}

fn utc(t: i64) -> jiff::civil::DateTime {
    jiff::Timestamp::from_second(t)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .datetime()
}

/// The file's text.
fn render(bars: &[Bar], shape: &Shape) -> String {
    let sep = shape.separator.to_string();
    let gap = if shape.padded { " " } else { "" };
    let eol = if shape.crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    if shape.header {
        let time = match shape.time {
            Stamp::Split => format!("Date{sep}Time"),
            _ => "timestamp".to_string(),
        };
        out.push_str(&[time.as_str(), "open", "high", "low", "close", "volume"].join(&sep));
        out.push_str(eol);
    }
    for (t, prices, volume) in bars {
        let dt = utc(*t);
        let time = match shape.time {
            Stamp::Combined => dt.strftime("%Y-%m-%d %H:%M:%S").to_string(),
            Stamp::IsoT => dt.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
            Stamp::Split => dt.strftime(&format!("%Y-%m-%d{sep}%H:%M:%S")).to_string(),
            Stamp::EpochSeconds => t.to_string(),
            Stamp::EpochMillis => (t * 1000).to_string(),
        };
        let mut fields = vec![time];
        fields.extend(prices.iter().cloned());
        fields.push(volume.to_string());
        out.push_str(&fields.join(&format!("{sep}{gap}")));
        out.push_str(eol);
    }
    out
}

/// Writes the file as `SYM` in `dir`, packed as the shape says; returns its path.
fn write(dir: &Path, text: &str, shape: &Shape) -> PathBuf {
    let name = "SYM_bars.csv";
    match shape.packing {
        Packing::Plain => {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        }
        Packing::Gzip => {
            let path = dir.join(format!("{name}.gz"));
            let mut gz = flate2::write::GzEncoder::new(
                std::fs::File::create(&path).unwrap(),
                flate2::Compression::fast(),
            );
            gz.write_all(text.as_bytes()).unwrap();
            gz.finish().unwrap();
            path
        }
        Packing::Zip => {
            let path = dir.join("SYM_bars.zip");
            let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
            zip.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(text.as_bytes()).unwrap();
            zip.finish().unwrap();
            path
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn generated_bars_in_every_layout_load_and_read_back_exactly(
        bars in bars(),
        shape in shapes(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), &render(&bars, &shape), &shape);
        let store = Embedded::new(dir.path().join("store"));
        let opts = LoadChoices {
            input: InputChoices {
                tz: Some("UTC".into()),
                timeframe: Some("1min".into()),
                ..InputChoices::default()
            },
            errors: Some(dir.path().join("errors.jsonl")),
            ..LoadChoices::default()
        }
        .resolve()
        .unwrap();
        let report = load(&store, &[file], &opts, &NoProgress).unwrap();
        prop_assert_eq!(
            (report.loaded, report.rows, report.rejected),
            (1, bars.len() as u64, 0),
            "{:?}", report.failed
        );
        let frame = read(&store, &ReadRequest { symbol: "SYM".into(), ..ReadRequest::default() })
            .unwrap();
        let b = &frame.bars;
        prop_assert_eq!(b.len(), bars.len());
        for (i, (t, prices, volume)) in bars.iter().enumerate() {
            prop_assert_eq!(b.ts[i], t * 1000);
            let want: Vec<f64> = prices.iter().map(|p| p.parse().unwrap()).collect();
            prop_assert_eq!(vec![b.open[i], b.high[i], b.low[i], b.close[i]], want);
            prop_assert_eq!(b.volume[i], *volume as f64);
        }
    }
}

/// Overlapping files of one series, in path order (`a/`, `b/`, `c/`).
const DIRS: [&str; 3] = ["a", "b", "c"];

/// Minute slots the files share, from 2024-05-31 23:30 UTC (so that the series spans two
/// months).
const SLOTS: i64 = 60;

/// One edit: a file, and the close (1..1000) it now has at some slots (new slots
/// are bars added, others bars changed).
type Edit = (usize, Vec<(i64, u32)>);

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = (
        0..DIRS.len(),
        prop::collection::vec((0..SLOTS, 1u32..1000), 1..12),
    );
    prop::collection::vec(edit, 1..6)
}

/// Writes a file of bars (close at each slot) with the given mtime, in seconds.
fn write_bars(path: &Path, bars: &std::collections::BTreeMap<i64, u32>, mtime: u64) {
    let start = 1_717_198_200; // 2024-05-31 23:30:00 UTC
    let mut text = String::new();
    for (slot, close) in bars {
        let t = utc(start + 60 * slot).strftime("%Y-%m-%d %H:%M:%S");
        text.push_str(&format!("{t},{close},{close},{close},{close},{close}\n"));
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    // every edit shows in the mtime, however fast the edits come
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

fn sym_bars(store: &Embedded) -> barstore::bars::Bars {
    read(
        store,
        &ReadRequest {
            symbol: "SYM".into(),
            ..ReadRequest::default()
        },
    )
    .unwrap()
    .bars
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: barstore::testing::proptest_cases(24),
        ..config()
    })]

    #[test]
    fn reruns_after_edits_equal_a_fresh_load_of_the_files_as_they_are(
        first in prop::collection::vec(
            prop::collection::btree_map(0..SLOTS, 1u32..1000, 1..30),
            DIRS.len(),
        ),
        edits in edits(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let input = [dir.path().join("in")];
        let paths: Vec<PathBuf> = DIRS
            .iter()
            .map(|d| input[0].join(d).join("SYM_1min.txt"))
            .collect();
        let opts = LoadChoices {
            input: InputChoices {
                tz: Some("UTC".into()),
                ..InputChoices::default()
            },
            errors: Some(dir.path().join("errors.jsonl")),
            ..LoadChoices::default()
        }
        .resolve()
        .unwrap();
        let mut files = first;
        let mut mtime = 1_700_000_000;
        for (path, bars) in paths.iter().zip(&files) {
            write_bars(path, bars, mtime);
        }
        let store = Embedded::new(dir.path().join("store"));
        load(&store, &input, &opts, &NoProgress).unwrap();
        for (round, (file, changes)) in edits.into_iter().enumerate() {
            let before = files[file].clone();
            files[file].extend(changes);
            mtime += 1;
            write_bars(&paths[file], &files[file], mtime);
            let rerun = load(&store, &input, &opts, &NoProgress).unwrap();
            prop_assert!(rerun.failed.is_empty(), "{:?}", rerun.failed);
            // the edited file and every later one load again, earlier ones are skipped;
            // an edit that changed nothing loads nothing
            let skipped = if files[file] == before { DIRS.len() } else { file };
            prop_assert_eq!(rerun.skipped, skipped as u64);
            let fresh = Embedded::new(dir.path().join(format!("fresh{round}")));
            load(&fresh, &input, &opts, &NoProgress).unwrap();
            let (have, want) = (sym_bars(&store), sym_bars(&fresh));
            prop_assert_eq!(&have.ts, &want.ts);
            prop_assert_eq!(&have.close, &want.close, "after editing {}", DIRS[file]);
        }
    }
}
