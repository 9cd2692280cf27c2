//! The text layout: the earlier notebook's table, `timestamp text` (exchange wall-clock
//! in the URL's `&tz=`) and `float` prices, in `(symbol, bucket)` partitions of a month.
//! It has no index: a range read visits each month of the range, as the notebook did,
//! and listings count partitions on the server. It holds each symbol's 1min series.

use super::{write_rows, Kind, TableLayout};
use crate::bars::Bars;
use crate::bucket::Month;
use crate::error::Result;
use crate::series::Series;
use crate::store::cql::catalog::Listing;
use crate::store::cql::db::{Db, Keyed};
use crate::store::cql::index::Index;
use crate::store::cql::target::Target;
use crate::store::{MonthBars, SeriesInfo};
use crate::zone::{format_local, Zone, DAY};
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;

/// The DDL of a text-layout table.
pub fn create(t: &Target, compaction: &str) -> Vec<String> {
    let (ks, tb) = (&t.keyspace, &t.table);
    vec![format!("CREATE TABLE IF NOT EXISTS {ks}.{tb} (symbol text, bucket text, timestamp text, open float, high float, low float, close float, volume float, PRIMARY KEY ((symbol, bucket), timestamp)) WITH compaction = {compaction}")]
}

/// A text-layout table's statements and zone.
pub struct Text {
    zone: Zone,
    insert: PreparedStatement,
    range: PreparedStatement,
    stats: PreparedStatement,
    partitions: PreparedStatement,
}

/// Parses `YYYY-MM-DD HH:MM:SS` into local seconds.
pub fn parse_text_time(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    let (days, n) = crate::parse::parse_date(b)?;
    let rest = b.get(n + 1..)?;
    let (ms, m) = crate::parse::parse_time(rest)?;
    (b[n] == b' ' && m == rest.len()).then_some(days * DAY + ms / 1000)
}

impl Text {
    /// Prepares the statements on an existing table.
    pub async fn open(db: &Db) -> Result<Text> {
        let (ks, tb) = (&db.target.keyspace, &db.target.table);
        Ok(Text {
            zone: Zone::new(&db.target.zone)?,
            insert: db.prepare(format!("INSERT INTO {ks}.{tb} (symbol, bucket, timestamp, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")).await?,
            range: db.prepare(format!("SELECT timestamp, open, high, low, close, volume FROM {ks}.{tb} WHERE symbol = ? AND bucket = ? AND timestamp >= ? AND timestamp <= ?")).await?,
            stats: db.prepare(format!("SELECT count(*), min(timestamp), max(timestamp) FROM {ks}.{tb} WHERE symbol = ? AND bucket = ?")).await?,
            partitions: db.prepare(format!("SELECT DISTINCT symbol, bucket FROM {ks}.{tb}")).await?,
        })
    }

    /// Every (symbol, month) partition, sorted.
    async fn partitions(&self, db: &Db) -> Result<Vec<(String, Month)>> {
        let mut out = Vec::new();
        db.pages(
            || "listing partitions".to_string(),
            &self.partitions,
            (),
            |(s, b): (String, String)| {
                if let Some(m) = Month::parse(&b) {
                    out.push((s, m));
                }
            },
        )
        .await?;
        out.sort();
        Ok(out)
    }
}

impl TableLayout for Text {
    fn kind(&self) -> Kind {
        Kind::Text
    }

    fn index(&self) -> Option<&Index> {
        None
    }

    /// The notebook's table keys bars by symbol alone: it keeps each symbol's 1min
    /// series with no adjustment, and any other series would mix into it.
    fn accepts(&self, db: &Db, series: &Series) -> Result<()> {
        if series.is_minute_unadjusted() {
            return Ok(());
        }
        Err(db.target.schema_error(format!(
            "the table predates series: it holds one 1min series per symbol, with no adjustment, so {series} cannot be stored apart in it; state the adjustment as none to store it as the table's series, or load it into a table barstore creates (another ?table=NAME)"
        )))
    }

    fn single_precision(&self) -> bool {
        true
    }

    fn write<'a>(
        &'a self,
        db: &'a Db,
        series: &'a Series,
        _zone: &'a Zone,
        months: &'a [MonthBars],
    ) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            let key = [series.symbol.as_str()];
            // wall-clock times of every bar, worked out once per month
            let mut zone = self.zone.clone();
            let local: std::collections::HashMap<Month, Vec<i64>> = months
                .iter()
                .map(|m| {
                    let times = m.bars.ts.iter().map(|&t| zone.utc_ms_to_local(t));
                    (m.month, times.collect())
                })
                .collect();
            write_rows(db, &self.insert, series, &key, months, |m, i| {
                let mut t = String::with_capacity(19);
                format_local(local[&m.month][i], &mut t);
                let (b, v) = (&m.bars, m.bars.volume[i]);
                (
                    t,
                    b.open[i] as f32,
                    b.high[i] as f32,
                    b.low[i] as f32,
                    b.close[i] as f32,
                    (!v.is_nan()).then_some(v as f32),
                )
            })
            .await
        }
        .boxed_local()
    }

    fn read<'a>(
        &'a self,
        db: &'a Db,
        series: &'a Series,
        _zone: &'a Zone,
        month: Month,
        start: i64,
        end: i64,
    ) -> LocalBoxFuture<'a, Result<Bars>> {
        async move {
            let bucket = month.to_string();
            let key = [series.symbol.as_str(), &bucket];
            let mut zone = self.zone.clone();
            let (mut lo, mut hi) = (String::new(), String::new());
            // times are stored to the second: the first bound rounds up to one
            format_local(
                zone.utc_ms_to_local(start.max(-62_135_596_800_000) + 999),
                &mut lo,
            );
            format_local(zone.utc_ms_to_local(end.min(253_402_300_799_000)), &mut hi);
            let mut bad = None;
            let mut bars = Bars::default();
            db.pages(
                || format!("reading {series} {bucket}"),
                &self.range,
                Keyed {
                    key: &key,
                    rest: (&lo, &hi),
                },
                |(t, o, h, l, c, v): (String, f32, f32, f32, f32, Option<f32>)| {
                    match parse_text_time(&t).and_then(|local| zone.local_to_utc_ms(local).ok()) {
                        Some(ts) => bars.push((
                            ts,
                            [
                                o.into(),
                                h.into(),
                                l.into(),
                                c.into(),
                                v.map_or(f64::NAN, f64::from),
                            ],
                        )),
                        None => bad = Some(t),
                    }
                },
            )
            .await?;
            if let Some(t) = bad {
                return Err(db.target.schema_error(format!(
                    "{} {bucket}: timestamp {t:?} is not 'YYYY-MM-DD HH:MM:SS' in {}",
                    series.symbol,
                    self.zone.name()
                )));
            }
            bars.sort_dedup_last();
            Ok(bars)
        }
        .boxed_local()
    }

    fn months<'a>(
        &'a self,
        db: &'a Db,
        series: &'a Series,
        first: Option<Month>,
        last: Option<Month>,
    ) -> LocalBoxFuture<'a, Result<Vec<Month>>> {
        async move {
            if !series.is_minute_unadjusted() {
                return Ok(Vec::new());
            }
            if let (Some(mut m), Some(last)) = (first, last) {
                // no index: like the notebook, visit each month of the range
                let mut v = Vec::new();
                while m <= last {
                    v.push(m);
                    m = m.next();
                }
                return Ok(v);
            }
            Ok(self
                .partitions(db)
                .await?
                .into_iter()
                .filter(|(s, m)| {
                    *s == series.symbol
                        && first.is_none_or(|f| *m >= f)
                        && last.is_none_or(|l| *m <= l)
                })
                .map(|(_, m)| m)
                .collect())
        }
        .boxed_local()
    }

    fn zone<'a>(
        &'a self,
        _db: &'a Db,
        series: &'a Series,
    ) -> LocalBoxFuture<'a, Result<Option<String>>> {
        let zone = series
            .is_minute_unadjusted()
            .then(|| self.zone.name().to_string());
        async move { Ok(zone) }.boxed_local()
    }

    fn series_of<'a>(
        &'a self,
        _db: &'a Db,
        symbol: &'a str,
    ) -> LocalBoxFuture<'a, Result<Vec<Series>>> {
        // without an index, its one series is assumed, as the notebook did
        async move { Ok(vec![Series::minute(symbol)?]) }.boxed_local()
    }

    fn series<'a>(&'a self, db: &'a Db) -> LocalBoxFuture<'a, Result<Vec<SeriesInfo>>> {
        async move {
            // count each partition on the server rather than reading it
            let mut listing = Listing::default();
            let mut zone = self.zone.clone();
            for (s, m) in self.partitions(db).await? {
                let bucket = m.to_string();
                let mut stats = (0, None, None);
                db.pages(
                    || format!("counting {s} {bucket}"),
                    &self.stats,
                    (&s, &bucket),
                    |row: (i64, Option<String>, Option<String>)| stats = row,
                )
                .await?;
                let mut utc = |t: Option<String>| {
                    t.as_deref()
                        .and_then(parse_text_time)
                        .and_then(|local| zone.local_to_utc_ms(local).ok())
                        .map(CqlTimestamp)
                };
                let (first, last) = (utc(stats.1), utc(stats.2));
                if let Ok(series) = Series::minute(&s) {
                    let name = Some(self.zone.name().to_string());
                    listing.add(series, name, Some(stats.0), first, last);
                }
            }
            Ok(listing.finish())
        }
        .boxed_local()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_times() {
        assert_eq!(parse_text_time("1970-01-02 00:00:05"), Some(DAY + 5));
        assert_eq!(parse_text_time("1970-01-02T00:00:05"), None);
        assert_eq!(parse_text_time("1970-01-02"), None);
    }
}
