//! A deterministic generator of FirstRate-style minute bars, for benchmarks and tests
//! that need files of any size: the same seed always gives the same bytes.
//!
//! Bars run 04:00 to 19:59 exchange time on weekdays (960 a day) from 2015-01-02, as a
//! random walk with prices in cents, so every row is valid (low <= open, close <= high).

use crate::zone::{civil_from_days, days_from_civil};
use std::io::{self, Write};

/// SplitMix64: small, fast and good enough for synthetic prices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

fn cents(out: &mut Vec<u8>, c: i64) {
    let _ = write!(out, "{}.{:02}", c / 100, c % 100);
}

/// Writes `rows` FirstRate-style lines (`YYYY-MM-DD HH:MM:SS,o,h,l,c,v`, LF endings).
pub fn write_firstrate(out: &mut dyn Write, rows: u64, seed: u64) -> io::Result<()> {
    let mut rng = Rng(seed);
    let mut day = days_from_civil(2015, 1, 2);
    let mut close: i64 = 10_000;
    let mut buf = Vec::with_capacity(1 << 20);
    let mut written = 0;
    while written < rows {
        if (day + 3).rem_euclid(7) >= 5 {
            day += 1;
            continue;
        }
        let (y, m, d) = civil_from_days(day);
        for minute in 4 * 60..20 * 60 {
            if written == rows {
                break;
            }
            let open = close;
            close = (open + rng.below(21) - 10).max(100);
            let high = open.max(close) + rng.below(6);
            let low = (open.min(close) - rng.below(6)).max(1);
            let volume = 100 + rng.below(50_000);
            let _ = write!(
                buf,
                "{y:04}-{m:02}-{d:02} {:02}:{:02}:00,",
                minute / 60,
                minute % 60
            );
            for (k, p) in [open, high, low, close].into_iter().enumerate() {
                if k > 0 {
                    buf.push(b',');
                }
                cents(&mut buf, p);
            }
            let _ = writeln!(buf, ",{volume}");
            written += 1;
            if buf.len() > (1 << 20) - 256 {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        day += 1;
    }
    out.write_all(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{detect, FormatSpec};
    use crate::parse::Parser;
    use crate::zone::Zone;

    #[test]
    fn deterministic_valid_firstrate_rows() {
        let mut a = Vec::new();
        write_firstrate(&mut a, 2000, 7).unwrap();
        let mut b = Vec::new();
        write_firstrate(&mut b, 2000, 7).unwrap();
        assert_eq!(a, b);
        assert!(a.starts_with(b"2015-01-02 04:00:00,100.00,"));
        let layout = detect(&a, &FormatSpec::Auto, "gen").unwrap();
        let p = Parser::new(layout, Zone::new("America/New_York").unwrap()).parse_chunk(&a);
        assert_eq!(p.bars.len(), 2000);
        assert!(p.rejects.is_empty(), "{:?}", &p.rejects[..1]);
        // 960 bars a day, weekdays only: 2015-01-02 is a Friday, bar 961 is Monday 04:00
        assert_eq!(p.bars.ts[960] - p.bars.ts[0], 3 * 86_400_000);
    }
}
