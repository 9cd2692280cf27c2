//! The catalog beside the index: the index's rows in [`SHARDS`] partitions (by a hash of
//! the symbol), so that listing every series reads a few partitions instead of the
//! whole index; and [`Listing`], the sum of month rows per series.

use super::db::Db;
use crate::error::Result;
use crate::series::Series;
use crate::store::SeriesInfo;
use futures::{StreamExt, TryStreamExt};
use scylla::statement::batch::Batch;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;
use std::collections::BTreeMap;

/// Partitions of the catalog.
pub const SHARDS: i32 = 16;

/// The catalog shard of `symbol`.
pub(super) fn shard(symbol: &str) -> i32 {
    (xxhash_rust::xxh3::xxh3_64(symbol.as_bytes()) % SHARDS as u64) as i32
}

/// The DDL of the catalog of an index keyed by series.
pub fn create_catalog(keyspace: &str, table: &str) -> String {
    format!("CREATE TABLE IF NOT EXISTS {keyspace}.{table}_catalog (shard int, symbol text, timeframe text, adjustment text, bucket text, zone text, rows bigint, first timestamp, last timestamp, PRIMARY KEY (shard, symbol, timeframe, adjustment, bucket))")
}

/// Copies an index made before its catalog into the catalog, each value with the write
/// time it has in the index (so that a load writing meanwhile keeps its newer stats).
pub async fn fill_catalog(s: &Db) -> Result<()> {
    let (ks, tb) = (&s.target.keyspace, &s.target.table);
    let read = s.prepare(format!("SELECT symbol, timeframe, adjustment, bucket, zone, rows, first, last, WRITETIME(zone), WRITETIME(rows) FROM {ks}.{tb}_symbols")).await?;
    let write = s.prepare(format!("INSERT INTO {ks}.{tb}_catalog (shard, symbol, timeframe, adjustment, bucket, zone, rows, first, last) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")).await?;
    type Row = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<i64>,
        Option<CqlTimestamp>,
        Option<CqlTimestamp>,
        Option<i64>,
        Option<i64>,
    );
    let mut rows: Vec<Row> = Vec::new();
    s.pages(
        || "reading the index".to_string(),
        &read,
        (),
        |r: Row| rows.push(r),
    )
    .await?;
    futures::stream::iter(&rows)
        .map(
            |(sym, tf, adj, bucket, zone, n, lo, hi, at_zone, at_rows)| {
                let at = at_zone.max(at_rows).unwrap_or_else(super::db::now_micros);
                let values = (shard(sym), sym, tf, adj, bucket, zone, n, lo, hi, at);
                s.exec(move || format!("cataloguing {sym}"), &write, values)
            },
        )
        .buffer_unordered(s.opts.concurrency.max(1))
        .try_collect::<()>()
        .await
}

/// Statements on the catalog (of an index keyed by series): the index's writes batched
/// with the catalog's, and the listing of one shard.
pub(super) struct Catalog {
    pub(super) put: Batch,
    pub(super) stats: Batch,
    pub(super) shard: PreparedStatement,
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
