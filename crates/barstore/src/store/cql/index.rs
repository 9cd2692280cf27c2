//! The `_symbols` index beside a bars table: one row per stored month of each series,
//! with the series' zone and the month's row count and first and last bar. Reads find a
//! series' months here instead of scanning the bars table; `symbols` lists it.
//!
//! Tables made before series existed have an index keyed by `(symbol, bucket)`: their
//! rows are the 1min series with no adjustment ([`Index::series`] is false).

use super::db::{Db, Keyed, MonthStats};
use crate::bucket::Month;
use crate::error::Result;
use crate::series::{Adjustment, Series, Timeframe};
use crate::store::{Found, MonthBars, SeriesInfo};
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

/// Prepared statements on the index of one bars table.
pub struct Index {
    /// Whether the index (and its table) key rows by series.
    pub series: bool,
    put: PreparedStatement,
    stats: PreparedStatement,
    buckets: PreparedStatement,
    lookup: PreparedStatement,
    all: PreparedStatement,
    /// Months seen in the index: its rows are never removed, so a write skips indexing
    /// these again (a daily update then writes no index row but the stats).
    indexed: Mutex<HashSet<(Series, Month)>>,
}

/// A row of an index keyed by series: symbol, timeframe, adjustment, zone and stats.
type SeriesRow = (
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
);
/// A row of an index made before series: symbol, zone and stats.
type SymbolRow = (
    String,
    Option<String>,
    Option<i64>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
);

impl Index {
    /// Prepares the statements on `{keyspace}.{table}_symbols`, keyed by series or not.
    pub async fn prepare(s: &Db, series: bool) -> Result<Index> {
        let index = format!("{}.{}_symbols", s.target.keyspace, s.target.table);
        let (key, marks, where_key) = key_parts(series);
        let lookup = if series {
            "symbol, timeframe, adjustment, bucket, zone"
        } else {
            "symbol, bucket, zone"
        };
        Ok(Index {
            series,
            put: s.prepare(format!("INSERT INTO {index} ({key}, bucket, zone) VALUES ({marks}, ?, ?)")).await?,
            stats: s.prepare(format!("INSERT INTO {index} ({key}, bucket, rows, first, last) VALUES ({marks}, ?, ?, ?, ?) USING TIMESTAMP ?")).await?,
            buckets: s.prepare(format!("SELECT bucket FROM {index} WHERE {where_key}")).await?,
            lookup: s.prepare(format!("SELECT {lookup} FROM {index} WHERE symbol IN ?")).await?,
            all: s.prepare(format!("SELECT {key}, zone, rows, first, last FROM {index}")).await?,
            indexed: Mutex::default(),
        })
    }

    /// The leading key values of `series` in statements on a table keyed like this index.
    pub fn key<'a>(&self, series: &'a Series, timeframe: &'a str) -> Vec<&'a str> {
        if self.series {
            vec![&series.symbol, timeframe, series.adjustment.as_str()]
        } else {
            vec![&series.symbol]
        }
    }

    /// Records that the months of `months` hold bars of `series`, in `zone`. Written
    /// before the bars, so a crash leaves an indexed month that reads find and a rerun
    /// fills, never bars that reads cannot find.
    pub async fn put(
        &self,
        s: &Db,
        series: &Series,
        months: &[MonthBars],
        zone: &str,
    ) -> Result<()> {
        for m in months {
            self.put_month(s, series, m.month, zone).await?;
        }
        Ok(())
    }

    /// Records that `month` holds bars of `series`, in `zone`.
    pub async fn put_month(&self, s: &Db, series: &Series, month: Month, zone: &str) -> Result<()> {
        let known = (series.clone(), month);
        if self.known().contains(&known) {
            return Ok(());
        }
        let (tf, bucket) = (series.timeframe.to_string(), month.to_string());
        let key = self.key(series, &tf);
        s.exec(
            || format!("indexing {series} {bucket}"),
            &self.put,
            Keyed {
                key: &key,
                rest: (&bucket, zone),
            },
        )
        .await?;
        self.known().insert(known);
        Ok(())
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashSet<(Series, Month)>> {
        self.indexed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the row count and first and last bar of `month` of `series`, written at
    /// `at` (microseconds): stats written at a later time win whatever order they arrive.
    pub async fn set_stats(
        &self,
        s: &Db,
        series: &Series,
        month: Month,
        (rows, first, last): MonthStats,
        at: i64,
    ) -> Result<()> {
        let (tf, bucket) = (series.timeframe.to_string(), month.to_string());
        let key = self.key(series, &tf);
        s.exec(
            || format!("indexing {series} {bucket}"),
            &self.stats,
            Keyed {
                key: &key,
                rest: (&bucket, rows, CqlTimestamp(first), CqlTimestamp(last), at),
            },
        )
        .await
    }

    /// The indexed months of `series`, sorted.
    pub async fn months(&self, s: &Db, series: &Series) -> Result<Vec<Month>> {
        let mut months = Vec::new();
        if !self.series && !series.is_minute_unadjusted() {
            return Ok(months);
        }
        let tf = series.timeframe.to_string();
        let key = self.key(series, &tf);
        s.pages(
            || format!("listing months of {series}"),
            &self.buckets,
            Keyed {
                key: &key,
                rest: (),
            },
            |(b,): (String,)| months.extend(Month::parse(&b)),
        )
        .await?;
        months.sort();
        Ok(months)
    }

    /// The zone `series` was loaded with, when it is indexed.
    pub async fn zone(&self, s: &Db, series: &Series) -> Result<Option<String>> {
        Ok(self
            .lookup(s, &series.symbol)
            .await?
            .into_iter()
            .find(|f| f.series == *series)
            .map(|f| f.zone)
            .filter(|z| !z.is_empty()))
    }

    /// The indexed series of `symbol` with their zones and months, sorted: one request.
    pub async fn lookup(&self, s: &Db, symbol: &str) -> Result<Vec<Found>> {
        let mut all = self.lookup_many(s, &[symbol]).await?;
        Ok(all.pop().unwrap_or_default())
    }

    /// [`Index::lookup`] of each of `symbols`, in one request (`symbol IN ?`): a
    /// many-symbol read pays one round trip and one request's work on the node for a
    /// hundred symbols instead of each.
    pub async fn lookup_many(&self, s: &Db, symbols: &[&str]) -> Result<Vec<Vec<Found>>> {
        type Months = BTreeMap<(String, String, String), (Option<String>, Vec<Month>)>;
        let mut found: Months = BTreeMap::new();
        let mut add = |sym: String, tf: String, adj: String, bucket: &str, zone: Option<String>| {
            let e = found.entry((sym, tf, adj)).or_default();
            e.0 = e.0.take().or(zone);
            e.1.extend(Month::parse(bucket));
        };
        let what = || match symbols {
            [one] => format!("looking up {one}"),
            _ => format!("looking up {} symbols", symbols.len()),
        };
        if self.series {
            s.pages(
                what,
                &self.lookup,
                (symbols,),
                |(sym, tf, adj, bucket, zone): (String, String, String, String, Option<String>)| {
                    add(sym, tf, adj, &bucket, zone)
                },
            )
            .await?;
        } else {
            // an index made before series holds the 1min series with no adjustment
            s.pages(
                what,
                &self.lookup,
                (symbols,),
                |(sym, bucket, zone): (String, String, Option<String>)| {
                    add(
                        sym,
                        Timeframe::MINUTE.to_string(),
                        Adjustment::NONE.to_string(),
                        &bucket,
                        zone,
                    )
                },
            )
            .await?;
        }
        let mut by_symbol: BTreeMap<String, Vec<Found>> = BTreeMap::new();
        for ((symbol, tf, adj), (zone, mut months)) in found {
            let (Ok(timeframe), Ok(adjustment)) = (tf.parse::<Timeframe>(), adj.parse()) else {
                return Err(s.target.schema_error(format!(
                    "{symbol}: the index names an unknown series \"{tf} {adj}\""
                )));
            };
            months.sort();
            let series = Series {
                symbol,
                timeframe,
                adjustment,
            };
            if zone.is_some() {
                let mut known = self.known();
                known.extend(months.iter().map(|m| (series.clone(), *m)));
            }
            by_symbol
                .entry(series.symbol.clone())
                .or_default()
                .push(Found {
                    series,
                    zone: zone.unwrap_or_default(),
                    months: Some(months),
                });
        }
        for found in by_symbol.values_mut() {
            found.sort_by(|a, b| a.series.cmp(&b.series));
        }
        Ok(symbols
            .iter()
            .map(|sym| by_symbol.get(*sym).cloned().unwrap_or_default())
            .collect())
    }

    /// The indexed series of `symbol`, sorted.
    pub async fn series_of(&self, s: &Db, symbol: &str) -> Result<Vec<Series>> {
        Ok(self
            .lookup(s, symbol)
            .await?
            .into_iter()
            .map(|f| f.series)
            .collect())
    }

    /// Every indexed series with its counts.
    pub async fn all(&self, s: &Db) -> Result<Vec<SeriesInfo>> {
        let mut by_series = Listing::default();
        let what = || "listing series".to_string();
        if self.series {
            s.pages(
                what,
                &self.all,
                (),
                |(sym, tf, adj, z, n, lo, hi): SeriesRow| {
                    if let Ok(series) = tf
                        .parse()
                        .and_then(|tf| Series::new(&sym, tf, adj.parse()?))
                    {
                        by_series.add(series, z, n, lo, hi);
                    }
                },
            )
            .await?;
        } else {
            s.pages(what, &self.all, (), |(sym, z, n, lo, hi): SymbolRow| {
                if let Ok(series) = Series::minute(&sym) {
                    by_series.add(series, z, n, lo, hi);
                }
            })
            .await?;
        }
        Ok(by_series.finish())
    }
}

/// The key columns, their bind markers and their `WHERE` clause, keyed by series or not.
pub fn key_parts(series: bool) -> (&'static str, &'static str, &'static str) {
    if series {
        (
            "symbol, timeframe, adjustment",
            "?, ?, ?",
            "symbol = ? AND timeframe = ? AND adjustment = ?",
        )
    } else {
        ("symbol", "?", "symbol = ?")
    }
}

/// Sums month rows into one [`SeriesInfo`] per series.
#[derive(Default)]
pub struct Listing(BTreeMap<Series, SeriesInfo>);

impl Listing {
    /// Adds one month's zone and stats.
    pub fn add(
        &mut self,
        series: Series,
        zone: Option<String>,
        rows: Option<i64>,
        first: Option<CqlTimestamp>,
        last: Option<CqlTimestamp>,
    ) {
        let e = self.0.entry(series.clone()).or_insert(SeriesInfo {
            series,
            rows: 0,
            first: i64::MAX,
            last: i64::MIN,
            zone: String::new(),
        });
        if let (true, Some(zone)) = (e.zone.is_empty(), zone) {
            e.zone = zone;
        }
        if let (Some(n), Some(lo), Some(hi)) = (rows.filter(|&n| n > 0), first, last) {
            e.rows += n as u64;
            e.first = e.first.min(lo.0);
            e.last = e.last.max(hi.0);
        }
    }

    /// The series that hold bars, sorted.
    pub fn finish(self) -> Vec<SeriesInfo> {
        self.0.into_values().filter(|s| s.rows > 0).collect()
    }
}
