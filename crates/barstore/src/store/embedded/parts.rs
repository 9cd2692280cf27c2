//! The files of one year of a series: a base file and the parts appended after it.
//!
//! ```text
//! year=2024/data.parquet                               one row group per month
//! year=2024/part-000007_1717767000000_1717804740000.parquet
//! ```
//!
//! A write whose bars all come after every stored bar of the year (a daily update)
//! adds a part named by its sequence number and its first and last instant (UTC ms),
//! so it costs what the new bars cost and readers pick parts by name without opening
//! them. Any other write, and `compact`, merges the base and the parts into a new base
//! that records the highest sequence number it holds (`barstore.merged`), then removes
//! those parts. Parts at or below that number are already in the base: readers skip
//! them, so a crash between the new base and the removal never shows a bar twice to
//! barstore, and the next write of the year (or `compact`) removes them for other tools.

use crate::error::Result;
use std::path::{Path, PathBuf};

/// The base file of a year.
pub const BASE: &str = "data.parquet";
/// Parquet key-value metadata key of a base: the highest part sequence number it holds.
pub const MERGED_KEY: &str = "barstore.merged";
/// Parts a year may hold before a write merges them into its base.
pub const MAX_PARTS: usize = 64;

/// An appended part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// Order of appending.
    pub seq: u64,
    /// First bar, UTC ms.
    pub first: i64,
    /// Last bar, UTC ms.
    pub last: i64,
    /// The file.
    pub path: PathBuf,
}

/// The files of one year directory.
#[derive(Clone, Debug, Default)]
pub struct YearFiles {
    /// `data.parquet`, when present.
    pub base: Option<PathBuf>,
    /// Every part, by sequence number (including those a base already holds).
    pub parts: Vec<Part>,
}

impl YearFiles {
    /// The parts a base that holds parts up to `merged` does not hold.
    pub fn live(&self, merged: u64) -> impl Iterator<Item = &Part> {
        self.parts.iter().filter(move |p| p.seq > merged)
    }

    /// The sequence number the next part takes.
    pub fn next_seq(&self, merged: u64) -> u64 {
        self.parts
            .iter()
            .map(|p| p.seq)
            .max()
            .unwrap_or(0)
            .max(merged)
            + 1
    }

    /// True when the year holds no data file.
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.parts.is_empty()
    }
}

/// The file name of a part.
pub fn part_name(seq: u64, first: i64, last: i64) -> String {
    format!("part-{seq:06}_{first}_{last}.parquet")
}

fn parse_part(name: &str) -> Option<(u64, i64, i64)> {
    let mut it = name
        .strip_prefix("part-")?
        .strip_suffix(".parquet")?
        .split('_');
    let seq = it.next()?.parse().ok()?;
    let first = it.next()?.parse().ok()?;
    let last = it.next()?.parse().ok()?;
    it.next().is_none().then_some((seq, first, last))
}

/// The files of the year directory `dir` (none when it does not exist).
pub fn list(dir: &Path) -> Result<YearFiles> {
    let mut out = YearFiles::default();
    for entry in super::entries(dir)? {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == BASE {
            out.base = Some(entry.path());
        } else if let Some((seq, first, last)) = parse_part(&name) {
            out.parts.push(Part {
                seq,
                first,
                last,
                path: entry.path(),
            });
        }
    }
    out.parts.sort_by_key(|p| p.seq);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_round_trip_and_others_are_ignored() {
        let name = part_name(7, -5, 1_717_804_740_000);
        assert_eq!(name, "part-000007_-5_1717804740000.parquet");
        assert_eq!(parse_part(&name), Some((7, -5, 1_717_804_740_000)));
        for other in [
            "data.parquet",
            "part-1_2.parquet",
            "part-1_2_3_4.parquet",
            ".part-000001_1_2.parquet.1.1.tmp",
            "part-x_1_2.parquet",
        ] {
            assert_eq!(parse_part(other), None, "{other}");
        }
        let files = YearFiles {
            base: None,
            parts: [3, 5, 9]
                .map(|seq| Part {
                    seq,
                    first: 0,
                    last: 0,
                    path: PathBuf::new(),
                })
                .to_vec(),
        };
        assert_eq!(files.live(5).map(|p| p.seq).collect::<Vec<_>>(), [9]);
        assert_eq!(files.next_seq(5), 10);
        assert_eq!(files.next_seq(12), 13);
    }
}
