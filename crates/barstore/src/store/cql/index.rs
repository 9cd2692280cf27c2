//! The `_symbols` index beside a bars table: one row per stored month of each series,
//! with the series' zone and the month's row count and first and last bar. Reads find a
//! series' months here instead of scanning the bars table; `symbols` lists it.
//!
//! Listing every series from the index is a scan of one partition per symbol, which
//! costs the node about 10 ms per 1,000 symbols. So the index has a catalog beside it, `_catalog`: the same rows in [`SHARDS`] partitions (a symbol's
//! shard is a hash of it), written in the same batch as the index's, so that a listing
//! reads a few partitions whatever the number of symbols.

use super::catalog::{shard, Catalog, Listing, SHARDS};
use super::db::{columns, Db, Keyed, MonthStats, NO_STATS};
use crate::bucket::Month;
use crate::error::Result;
use crate::series::{Series, Timeframe};
use crate::store::{Found, MonthBars, SeriesInfo};
use futures::{StreamExt, TryStreamExt};
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

/// Prepared statements on the index of one bars table.
pub struct Index {
    put: PreparedStatement,
    stats: PreparedStatement,
    buckets: PreparedStatement,
    lookup: PreparedStatement,
    all: PreparedStatement,
    catalog: Option<Catalog>,
    /// Months seen in the index, with their stats as last seen: index rows are never
    /// removed, so a write skips indexing these again (a daily update then writes no
    /// index row but the stats), and may start from the stats (see [`Index::seen`]).
    indexed: Mutex<HashMap<(Series, Month), Option<Stamped>>>,
    /// Symbols looked up: a month of theirs not in `indexed` had no bars then.
    looked_up: Mutex<HashSet<String>>,
}

/// A month's stats and their write time, which for the chunked layout is the version of
/// the month they describe.
pub type Stamped = (MonthStats, i64);

/// A row of the index: symbol, timeframe, adjustment, zone and stats.
type SeriesRow = (
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
);
/// A lookup's row: symbol, timeframe, adjustment, bucket, zone, stats and their write time.
type LookupRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
    Option<i64>,
);

impl Index {
    /// Prepares the statements on `{keyspace}.{table}_symbols`.
    pub async fn prepare(s: &Db) -> Result<Index> {
        let index = format!("{}.{}_symbols", s.target.keyspace, s.target.table);
        let lookup =
            "symbol, timeframe, adjustment, bucket, zone, rows, first, last, WRITETIME(rows)";
        let put = s
            .prepare(format!(
                "INSERT INTO {index} ({KEY}, bucket, zone) VALUES ({MARKS}, ?, ?)"
            ))
            .await?;
        let stats = s.prepare(format!("INSERT INTO {index} ({KEY}, bucket, rows, first, last) VALUES ({MARKS}, ?, ?, ?, ?) USING TIMESTAMP ?")).await?;
        let (ks, tb) = (&s.target.keyspace, &s.target.table);
        let catalog = if !columns(s, ks, &format!("{tb}_catalog")).await?.is_empty() {
            let catalog = format!("{ks}.{tb}_catalog");
            let pair = |index: &PreparedStatement, other: PreparedStatement| {
                let mut b = Batch::new(BatchType::Unlogged);
                b.append_statement(index.clone());
                b.append_statement(other);
                b.set_is_idempotent(true);
                b
            };
            Some(Catalog {
                put: pair(&put, s.prepare(format!("INSERT INTO {catalog} (shard, {KEY}, bucket, zone) VALUES (?, {MARKS}, ?, ?)")).await?),
                stats: pair(&stats, s.prepare(format!("INSERT INTO {catalog} (shard, {KEY}, bucket, rows, first, last) VALUES (?, {MARKS}, ?, ?, ?, ?) USING TIMESTAMP ?")).await?),
                shard: s.prepare(format!("SELECT {KEY}, zone, rows, first, last FROM {catalog} WHERE shard = ?")).await?,
            })
        } else {
            None
        };
        Ok(Index {
            put,
            stats,
            catalog,
            buckets: s
                .prepare(format!("SELECT bucket FROM {index} WHERE {WHERE_KEY}"))
                .await?,
            lookup: s
                .prepare(format!("SELECT {lookup} FROM {index} WHERE symbol IN ?"))
                .await?,
            all: s
                .prepare(format!(
                    "SELECT {KEY}, zone, rows, first, last FROM {index}"
                ))
                .await?,
            indexed: Mutex::default(),
            looked_up: Mutex::default(),
        })
    }

    /// The leading key values of `series` in statements on a table keyed like the index.
    pub fn key<'a>(&self, series: &'a Series, timeframe: &'a str) -> Vec<&'a str> {
        vec![&series.symbol, timeframe, series.adjustment.as_str()]
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
        if self.known().contains_key(&known) {
            return Ok(());
        }
        let (tf, bucket) = (series.timeframe.to_string(), month.to_string());
        let key = self.key(series, &tf);
        let what = || format!("indexing {series} {bucket}");
        let row = Keyed {
            key: &key,
            rest: (&bucket, zone),
        };
        match &self.catalog {
            Some(c) => {
                let (sym, adj) = (series.symbol.as_str(), series.adjustment.as_str());
                let listed = (shard(sym), sym, &tf, adj, &bucket, zone);
                s.batch(what, &c.put, (row, listed)).await?
            }
            None => s.exec(what, &self.put, row).await?,
        }
        self.known().entry(known).or_insert(None);
        Ok(())
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<(Series, Month), Option<Stamped>>> {
        self.indexed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The stats of `month` of `series` and their write time as this process last saw
    /// them (a lookup, or its own write), `(no stats, None)` when a lookup found no such
    /// month: a writer holding them can skip reading the month, since its fenced write
    /// fails if the month changed since.
    pub fn seen(&self, series: &Series, month: Month) -> Option<(MonthStats, Option<i64>)> {
        match self.known().get(&(series.clone(), month)) {
            Some(Some((stats, at))) => Some((*stats, Some(*at))),
            Some(None) => None,
            None => self
                .looked_up
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&series.symbol)
                .then_some((NO_STATS, None)),
        }
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
        let what = || format!("indexing {series} {bucket}");
        let values = || Keyed {
            key: &key,
            rest: (&bucket, rows, CqlTimestamp(first), CqlTimestamp(last), at),
        };
        match &self.catalog {
            Some(c) => {
                let (sym, adj) = (series.symbol.as_str(), series.adjustment.as_str());
                let (lo, hi) = (CqlTimestamp(first), CqlTimestamp(last));
                let listed = (shard(sym), sym, &tf, adj, &bucket, rows, lo, hi, at);
                s.batch(what, &c.stats, (values(), listed)).await?
            }
            None => s.exec(what, &self.stats, values()).await?,
        }
        self.known()
            .insert((series.clone(), month), Some(((rows, first, last), at)));
        Ok(())
    }

    /// The indexed months of `series`, sorted.
    pub async fn months(&self, s: &Db, series: &Series) -> Result<Vec<Month>> {
        let mut months = Vec::new();
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
        type Months = BTreeMap<(String, String, String), (Option<String>, Vec<(Month, u64)>)>;
        let mut found: Months = BTreeMap::new();
        let mut add = |sym: String,
                       tf: String,
                       adj: String,
                       bucket: &str,
                       zone: Option<String>,
                       bars: Option<i64>| {
            let e = found.entry((sym, tf, adj)).or_default();
            e.0 = e.0.take().or(zone);
            let bars = bars.map_or(0, |n| n.max(0) as u64);
            e.1.extend(Month::parse(bucket).map(|m| (m, bars)));
        };
        let what = || match symbols {
            [one] => format!("looking up {one}"),
            _ => format!("looking up {} symbols", symbols.len()),
        };
        let mut stamped = Vec::new();
        s.pages(
            what,
            &self.lookup,
            (symbols,),
            |(sym, tf, adj, bucket, zone, n, lo, hi, at): LookupRow| {
                if let (Some(n), Some(lo), Some(hi), Some(at), Some(m)) =
                    (n, lo, hi, at, Month::parse(&bucket))
                {
                    stamped.push((
                        (sym.clone(), tf.clone(), adj.clone(), m),
                        ((n, lo.0, hi.0), at),
                    ));
                }
                add(sym, tf, adj, &bucket, zone, n)
            },
        )
        .await?;
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
                for (m, _) in &months {
                    known.entry((series.clone(), *m)).or_insert(None);
                }
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
        let mut known = self.known();
        for ((sym, tf, adj, month), state) in stamped {
            if let (Ok(timeframe), Ok(adjustment)) = (tf.parse(), adj.parse()) {
                let series = Series {
                    symbol: sym,
                    timeframe,
                    adjustment,
                };
                known.insert((series, month), Some(state));
            }
        }
        drop(known);
        self.looked_up
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(symbols.iter().map(|s| s.to_string()));
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
        let add = |by_series: &mut Listing, (sym, tf, adj, z, n, lo, hi): SeriesRow| {
            if let Ok(series) = tf
                .parse()
                .and_then(|tf| Series::new(&sym, tf, adj.parse()?))
            {
                by_series.add(series, z, n, lo, hi);
            }
        };
        if let Some(c) = &self.catalog {
            let shards: Vec<Vec<SeriesRow>> = futures::stream::iter(0..SHARDS)
                .map(|i| async move {
                    let mut rows = Vec::new();
                    s.pages(what, &c.shard, (i,), |r: SeriesRow| rows.push(r))
                        .await
                        .map(|()| rows)
                })
                .buffer_unordered(SHARDS as usize)
                .try_collect()
                .await?;
            for row in shards.into_iter().flatten() {
                add(&mut by_series, row);
            }
        } else {
            s.pages(what, &self.all, (), |row: SeriesRow| {
                add(&mut by_series, row)
            })
            .await?;
        }
        Ok(by_series.finish())
    }
}

/// The columns that key a series in the index and the typed table.
pub const KEY: &str = "symbol, timeframe, adjustment";
/// Bind markers of [`KEY`].
pub const MARKS: &str = "?, ?, ?";
/// The `WHERE` clause on [`KEY`].
pub const WHERE_KEY: &str = "symbol = ? AND timeframe = ? AND adjustment = ?";
