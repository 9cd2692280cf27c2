//! What a file's name and the options say of its series before it is read, and the
//! timeframe its bars show: a stated timeframe is checked against the spacing of the
//! first bars, a missing one is taken from it.

use super::*;

/// What is known of a file's series before it is read.
#[derive(Clone, Debug)]
pub(crate) struct Hint {
    pub symbol: String,
    /// Stated by the options or the file name, with where it was stated.
    pub timeframe: Option<(Timeframe, &'static str)>,
    pub adjustment: Adjustment,
}

impl Hint {
    /// Does a manifest entry record a load of this file into the same series?
    pub(crate) fn matches(&self, e: &ManifestEntry) -> bool {
        e.symbol == self.symbol
            && e.adjustment == self.adjustment.as_str()
            && self
                .timeframe
                .is_none_or(|(tf, _)| e.timeframe == tf.to_string())
    }

    /// The series of a file from its first parsed bars: the stated timeframe, checked
    /// against the spacing of the bars, or the timeframe the spacing shows.
    pub(crate) fn resolve(
        &self,
        file: &str,
        layout: &crate::format::Layout,
        parsed: &[Parsed],
        base: u64,
    ) -> Result<Series> {
        let mut times: Vec<(i64, u64)> = Vec::new();
        let mut offset = base;
        for p in parsed {
            times.extend(
                p.bars
                    .ts
                    .iter()
                    .zip(&p.lines)
                    .map(|(&t, &l)| (t, offset + l as u64)),
            );
            offset += p.line_count;
        }
        times.sort_unstable();
        times.dedup_by_key(|(t, _)| *t);
        let secs: Vec<i64> = times.iter().map(|(t, _)| t.div_euclid(1000)).collect();
        let date_only = layout.fields.contains(&crate::format::Field::Date)
            && !layout.fields.contains(&crate::format::Field::Time);
        let spacing = series::usual_spacing(&secs);
        let shown = |gap: i64| match Timeframe::from_seconds(gap) {
            Some(tf) => tf.to_string(),
            None if gap % 60 == 0 => format!("{} minutes", gap / 60),
            None => format!("{gap} seconds"),
        };
        let timeframe = match self.timeframe {
            Some((tf, stated)) => {
                if date_only && tf != Timeframe::DAY {
                    return Err(FileError::Timeframe {
                        file: file.to_string(),
                        line: times.first().map_or(base + 1, |t| t.1),
                        detail: format!(
                            "its rows carry a date only (1d bars), but its timeframe is {tf} ({stated})"
                        ),
                    }
                    .into());
                }
                if let Some(gap) = spacing.filter(|&g| g < tf.seconds()) {
                    let line = secs
                        .windows(2)
                        .position(|w| w[1] - w[0] < tf.seconds())
                        .map_or(base + 1, |i| times[i + 1].1);
                    return Err(FileError::Timeframe {
                        file: file.to_string(),
                        line,
                        detail: format!(
                            "its bars are {} apart (here less than {tf} after the one before), but its timeframe is {tf} ({stated}); state the timeframe of the data",
                            shown(gap)
                        ),
                    }
                    .into());
                }
                tf
            }
            None if date_only => Timeframe::DAY,
            None => match spacing {
                None => Timeframe::MINUTE,
                Some(gap) => Timeframe::from_seconds(gap).ok_or_else(|| FileError::Timeframe {
                    file: file.to_string(),
                    line: times.first().map_or(base + 1, |t| t.1),
                    detail: format!(
                        "its bars are usually {} apart, which is not a timeframe barstore stores (minutes or hours that divide a day, or 1d); state its timeframe",
                        shown(gap)
                    ),
                })?,
            },
        };
        Ok(Series::new(
            &self.symbol,
            timeframe,
            self.adjustment.clone(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{detect, Layout};

    fn parsed(text: &str) -> (Layout, Vec<Parsed>) {
        let layout = detect(text.as_bytes(), &FormatSpec::Auto, "t.txt").unwrap();
        let zone = Zone::new("America/New_York").unwrap();
        let mut parser = Parser::new(layout.clone(), zone);
        let chunk = parser.parse_chunk(text.as_bytes());
        (layout, vec![chunk])
    }

    fn hint(stated: Option<&str>) -> Hint {
        Hint {
            symbol: "X".into(),
            timeframe: stated.map(|t| (t.parse().unwrap(), "its file name")),
            adjustment: Adjustment::none(),
        }
    }

    fn bars(minutes: &[u32]) -> String {
        minutes
            .iter()
            .map(|m| format!("2024-03-04 {:02}:{:02}:00,1,1,1,1,1\n", 9 + m / 60, m % 60))
            .collect()
    }

    fn timeframe(stated: Option<&str>, text: &str) -> Result<String> {
        let (layout, parsed) = parsed(text);
        Ok(hint(stated)
            .resolve("t.txt", &layout, &parsed, 0)?
            .timeframe
            .to_string())
    }

    #[test]
    fn the_usual_spacing_of_the_bars_is_the_timeframe() {
        assert_eq!(
            timeframe(None, &bars(&[30, 35, 40, 50, 55])).unwrap(),
            "5min"
        );
        assert_eq!(timeframe(None, &bars(&[30, 90, 150])).unwrap(), "1h");
        // one bar says nothing: the minute
        assert_eq!(timeframe(None, &bars(&[30])).unwrap(), "1min");
        let days = "2024-03-04,1,1,1,1,1\n2024-03-05,1,1,1,1,1\n";
        assert_eq!(timeframe(None, days).unwrap(), "1d");
        // a stated timeframe wider gaps agree with is kept
        assert_eq!(
            timeframe(Some("5min"), &bars(&[30, 40, 50])).unwrap(),
            "5min"
        );
    }

    #[test]
    fn bars_closer_than_the_stated_timeframe_refuse_the_file_at_the_first_such_line() {
        let e = timeframe(Some("5min"), &bars(&[30, 35, 36, 40]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.txt: line 3: its bars are 1min apart"),
            "{e}"
        );
        assert!(
            e.contains("but its timeframe is 5min (its file name)"),
            "{e}"
        );
        let days = "2024-03-04,1,1,1,1,1\n";
        let e = timeframe(Some("1h"), days).unwrap_err().to_string();
        assert!(e.contains("its rows carry a date only (1d bars)"), "{e}");
    }

    #[test]
    fn a_spacing_that_is_no_timeframe_asks_for_one() {
        let e = timeframe(None, &bars(&[0, 7, 14, 21]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("usually 7 minutes apart, which is not a timeframe"),
            "{e}"
        );
    }
}
