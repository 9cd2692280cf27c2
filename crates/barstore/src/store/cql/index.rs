//! The `_symbols` index beside a bars table: one row per stored month of each series,
//! with the series' zone and the month's row count and first and last bar. Reads find a
//! series' months here instead of scanning the bars table; `symbols` lists it.
//!
//! Tables made before series existed have an index keyed by `(symbol, bucket)`: their
//! rows are the 1min series with no adjustment ([`Index::series`] is false).

use super::db::{Db, Keyed, MonthStats};
use crate::bucket::Month;
use crate::error::Result;
use crate::series::{Series, Timeframe};
use crate::store::{MonthBars, SeriesInfo};
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;
use std::collections::BTreeMap;

/// Prepared statements on the index of one bars table.
pub struct Index {
    /// Whether the index (and its table) key rows by series.
    pub series: bool,
    put: PreparedStatement,
    stats: PreparedStatement,
    buckets: PreparedStatement,
    zone: PreparedStatement,
    series_of: PreparedStatement,
    all: PreparedStatement,
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
        let series_of = if series {
            "timeframe, adjustment"
        } else {
            "bucket"
        };
        Ok(Index {
            series,
            put: s.prepare(format!("INSERT INTO {index} ({key}, bucket, zone) VALUES ({marks}, ?, ?)")).await?,
            stats: s.prepare(format!("INSERT INTO {index} ({key}, bucket, rows, first, last) VALUES ({marks}, ?, ?, ?, ?) USING TIMESTAMP ?")).await?,
            buckets: s.prepare(format!("SELECT bucket FROM {index} WHERE {where_key}")).await?,
            zone: s.prepare(format!("SELECT zone FROM {index} WHERE {where_key} LIMIT 1")).await?,
            series_of: s.prepare(format!("SELECT {series_of} FROM {index} WHERE symbol = ?")).await?,
            all: s.prepare(format!("SELECT {key}, zone, rows, first, last FROM {index}")).await?,
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
        .await
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
        if !self.series && !series.is_minute_unadjusted() {
            return Ok(None);
        }
        let tf = series.timeframe.to_string();
        let key = self.key(series, &tf);
        let mut zone = None;
        s.pages(
            || format!("looking up {series}"),
            &self.zone,
            Keyed {
                key: &key,
                rest: (),
            },
            |(z,): (Option<String>,)| {
                if zone.is_none() {
                    zone = z;
                }
            },
        )
        .await?;
        Ok(zone)
    }

    /// The indexed series of `symbol`, sorted.
    pub async fn series_of(&self, s: &Db, symbol: &str) -> Result<Vec<Series>> {
        let mut out = Vec::new();
        let mut bad = None;
        if self.series {
            s.pages(
                || format!("listing the series of {symbol}"),
                &self.series_of,
                (symbol,),
                |(tf, adj): (String, String)| match (tf.parse::<Timeframe>(), adj.parse()) {
                    (Ok(timeframe), Ok(adjustment)) => out.push(Series {
                        symbol: symbol.to_string(),
                        timeframe,
                        adjustment,
                    }),
                    _ => bad = Some(format!("{tf} {adj}")),
                },
            )
            .await?;
        } else {
            let mut any = false;
            s.pages(
                || format!("listing the months of {symbol}"),
                &self.series_of,
                (symbol,),
                |(_,): (String,)| any = true,
            )
            .await?;
            if any {
                out.push(Series::minute(symbol)?);
            }
        }
        if let Some(bad) = bad {
            return Err(s.target.schema_error(format!(
                "{symbol}: the index names an unknown series {bad:?}"
            )));
        }
        out.sort();
        out.dedup();
        Ok(out)
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
            zone: zone.unwrap_or_default(),
        });
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
