//! The fast path for the reference layout: `YYYY-MM-DD HH:MM:SS` then five plain
//! decimals, as FirstRate and most vendors write them.
//!
//! It reads a line once, byte by byte, and takes only what it can read exactly as the
//! general parser would: a fixed-width date-time, numbers of at most 15 digits with no
//! sign, exponent, space or quote, and values that pass every check without a warning.
//! Anything else (an odd number, a bad row, a warning, a time a daylight-saving change
//! skips) returns `None`, and the line goes through the general parser, which reads it
//! and words its reason as before. A number of at most 15 digits is below 2^53, so
//! `digits / 10^decimals` is one correctly rounded division: the same `f64` as a full
//! decimal parse.

use super::Parser;
use crate::zone::DAY;

/// The most digits a number may have: its digits as an integer stay below 2^53.
const MAX_DIGITS: usize = 15;

const POW10: [f64; MAX_DIGITS + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// A good row: where its line ends, its local seconds, its UTC milliseconds, its values.
pub(super) type FastRow = (usize, i64, i64, [f64; 5]);

#[inline(always)]
fn digit(b: u8) -> Option<i64> {
    let d = b.wrapping_sub(b'0');
    (d < 10).then_some(d as i64)
}

#[inline(always)]
fn two(s: &[u8], at: usize) -> Option<i64> {
    Some(digit(s[at])? * 10 + digit(s[at + 1])?)
}

/// Reads a plain decimal (`123`, `0.25`) at `pos`: its value and the index of the byte
/// after it.
#[inline(always)]
fn number(data: &[u8], pos: usize) -> Option<(f64, usize)> {
    let mut i = pos;
    let mut m: i64 = 0;
    while let Some(d) = data.get(i).and_then(|&b| digit(b)) {
        m = m.wrapping_mul(10).wrapping_add(d); // too many digits are refused below
        i += 1;
    }
    let whole = i - pos;
    let mut decimals = 0;
    if whole > 0 && data.get(i) == Some(&b'.') {
        i += 1;
        let from = i;
        while let Some(d) = data.get(i).and_then(|&b| digit(b)) {
            m = m.wrapping_mul(10).wrapping_add(d);
            i += 1;
        }
        decimals = i - from;
        if decimals == 0 {
            return None;
        }
    }
    if whole == 0 || whole + decimals > MAX_DIGITS {
        return None;
    }
    Some((m as f64 / POW10[decimals], i))
}

/// A price followed by the delimiter: its value and where the next field starts.
#[inline(always)]
fn price(data: &[u8], pos: usize, delimiter: u8) -> Option<(f64, usize)> {
    let (v, i) = number(data, pos)?;
    (data.get(i) == Some(&delimiter)).then_some((v, i + 1))
}

impl Parser {
    /// Reads the line at the start of `data` when it is a plain good row of the
    /// reference layout (see the module); `None` sends it to the general parser.
    #[inline]
    pub(super) fn fast_line(&mut self, data: &[u8]) -> Option<FastRow> {
        let delimiter = self.layout.delimiter;
        if data.len() < 21 || data[19] != delimiter || !matches!(data[10], b' ' | b'T') {
            return None;
        }
        let days = if self.date_cache.2 == 10 && data[..10] == self.date_cache.0 {
            self.date_cache.1
        } else {
            let (days, n) = super::parse_date(&data[..10])?;
            if n != 10 {
                return None;
            }
            self.date_cache.0.copy_from_slice(&data[..10]);
            self.date_cache.1 = days;
            self.date_cache.2 = 10;
            days
        };
        if data[13] != b':' || data[16] != b':' {
            return None;
        }
        let (h, m, s) = (two(data, 11)?, two(data, 14)?, two(data, 17)?);
        if h > 23 || m > 59 || s > 59 {
            return None;
        }
        let (o, pos) = price(data, 20, delimiter)?;
        let (hi, pos) = price(data, pos, delimiter)?;
        let (lo, pos) = price(data, pos, delimiter)?;
        let (c, pos) = price(data, pos, delimiter)?;
        let (v, end) = number(data, pos)?;
        // the line ends at `\n`, at `\r\n` or with the data
        let line_end = match data.get(end) {
            None | Some(b'\n') => end,
            Some(b'\r') if matches!(data.get(end + 1), None | Some(b'\n')) => end + 1,
            _ => return None,
        };
        // positive, high >= low, open and close within [low, high]: else a reason or a
        // warning the general parser words
        if !(lo > 0.0 && hi >= lo && (lo..=hi).contains(&o) && (lo..=hi).contains(&c)) {
            return None;
        }
        let local = days * DAY + h * 3600 + m * 60 + s;
        let utc = self.zone.local_to_utc_ms(local).ok()?;
        if !(self.bounds.0..self.bounds.1).contains(&utc) {
            return None;
        }
        Some((line_end, local, utc, [o, hi, lo, c, v]))
    }
}

#[cfg(test)]
mod tests {
    //! The fast path must accept and reject exactly what the general parser does: on
    //! lines built from near-miss pieces, and on real files with random edits.

    use super::super::{Parsed, Parser};
    use crate::format::Layout;
    use crate::zone::Zone;
    use proptest::prelude::*;

    fn parser(delimiter: u8) -> Parser {
        let layout = Layout {
            delimiter,
            header: false,
            fields: crate::format::FIRSTRATE.to_vec(),
        };
        Parser::new(layout, Zone::new("America/New_York").unwrap())
    }

    /// Both paths' output, with values compared bit for bit.
    fn same(chunk: &[u8], delimiter: u8) {
        let fast = parser(delimiter).parse_chunk(chunk);
        let general = parser(delimiter).general().parse_chunk(chunk);
        let bits = |p: &Parsed| {
            let b = &p.bars;
            let cols = [&b.open, &b.high, &b.low, &b.close, &b.volume];
            (
                b.ts.clone(),
                cols.map(|c| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>()),
            )
        };
        let text = String::from_utf8_lossy(chunk);
        assert_eq!(bits(&fast), bits(&general), "{text:?}");
        assert_eq!(fast.months, general.months, "{text:?}");
        assert_eq!(fast.lines, general.lines, "{text:?}");
        assert_eq!(fast.rejects, general.rejects, "{text:?}");
        assert_eq!(fast.line_count, general.line_count, "{text:?}");
    }

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: crate::testing::proptest_cases(256),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// A date, good or nearly: ordinary days, the days clocks change in New York,
    /// impossible days, other forms.
    fn date() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => Just("2024-04-29".to_string()),
            2 => Just("2024-03-10".to_string()),
            2 => Just("2024-11-03".to_string()),
            1 => prop::sample::select(vec!["2024-02-30", "2024-13-01", "2024/04/29", "20240429", "2024-4-29", "1969-12-31", "9999-12-31"]).prop_map(String::from),
            1 => "[0-9/ -]{8,11}",
        ]
    }

    /// A time, good or nearly (the hour a daylight-saving change skips included).
    fn time() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => (0..24u32, 0..60u32, 0..60u32).prop_map(|(h, m, s)| format!("{h:02}:{m:02}:{s:02}")),
            2 => (0..60u32).prop_map(|m| format!("02:{m:02}:00")),
            1 => prop::sample::select(vec!["24:00:00", "09:60:00", "09:30", "09:30:00.5", "9:30:00", "09:30:00Z", "09:30:00-05:00"]).prop_map(String::from),
            1 => "[0-9: .]{5,10}",
        ]
    }

    /// A number, plain or odd: long, signed, exponent, padded, quoted, empty, zero.
    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => (1..100_000u64, 0..5usize).prop_map(|(m, d)| {
                let s = format!("{m:0>w$}", w = d + 1);
                if d == 0 { s } else { format!("{}.{}", &s[..s.len() - d], &s[s.len() - d..]) }
            }),
            1 => "[0-9]{14,18}(\\.[0-9]{1,3})?",
            1 => prop::sample::select(vec!["", "0", "0.0", "-1", "+1", "1e2", "1.", ".5", " 1", "1 ", "\"1\"", "inf", "NaN", "00", "1.2.3"]).prop_map(String::from),
            1 => "[0-9.eE+ -]{1,6}",
        ]
    }

    fn line() -> impl Strategy<Value = String> {
        (
            date(),
            prop::sample::select(vec![" ", "T", "  ", ","]),
            time(),
            prop::collection::vec(number(), 4..=6),
            prop::sample::select(vec!["\n", "\r\n", "\r", "\n\n", " \n"]),
        )
            .prop_map(|(d, sep, t, values, end)| format!("{d}{sep}{t},{}{end}", values.join(",")))
    }

    /// A real FirstRate sample, cut at a line.
    fn sample() -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/firstrate/AAPL_full_1min_adjsplit.txt");
        let bytes = std::fs::read(path).unwrap();
        let cut = bytes[..16 * 1024]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap()
            + 1;
        bytes[..cut].to_vec()
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn near_miss_lines_parse_as_the_general_parser_reads_them(
            lines in prop::collection::vec(line(), 1..40),
            last_newline in any::<bool>(),
        ) {
            let mut text = lines.concat();
            if !last_newline {
                text = text.trim_end_matches('\n').to_string();
            }
            same(text.as_bytes(), b',');
            same(text.replace(',', ";").as_bytes(), b';');
        }

        #[test]
        fn edited_real_files_parse_as_the_general_parser_reads_them(
            edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(b"0123456789.,-+eE \r\n\"T:/x".to_vec()), 0..3u8), 1..30),
        ) {
            let mut bytes = sample();
            for (at, byte, how) in edits {
                let i = at.index(bytes.len());
                match how {
                    0 => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ => { bytes.remove(i); }
                }
            }
            same(&bytes, b',');
        }
    }

    #[test]
    fn the_sample_takes_the_fast_path_and_reads_as_before() {
        let bytes = sample();
        same(&bytes, b',');
        let mut p = parser(b',');
        let lines = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty());
        assert!(lines.clone().count() > 300);
        for l in lines {
            assert!(p.fast_line(l).is_some(), "{}", String::from_utf8_lossy(l));
        }
    }
}
