//! Table layouts: how a CQL table holds bars. Each layout is one module behind
//! [`TableLayout`]; the store resolves which one a table has once, when it connects, and
//! no code outside the layouts asks which it is.
//!
//! - [`typed`]: a CQL row per bar (`ts timestamp`, `double` prices), for readers that
//!   want to query bars with plain CQL.
//! - [`text`]: the earlier notebook's table (`timestamp text`, `float` prices).
//! - [`chunked`]: a CQL row per exchange day of a series, one compressed blob per column
//!   ([`crate::chunk`]): the layout barstore creates, since the database then does per-day
//!   rather than per-bar work.

pub mod chunked;
pub mod text;
pub mod typed;

use super::db::{Db, Keyed};
use super::index::Index;
pub use super::target::Kind;
use super::target::Target;
use crate::bars::Bars;
use crate::bucket::Month;
use crate::error::Result;
use crate::series::Series;
use crate::store::{Found, MonthBars, SeriesInfo};
use crate::zone::Zone;
use futures::future::LocalBoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;

/// Months' bars as [`TableLayout::fetch`] gets them: appending them to an output
/// decodes them.
pub type Fetched<'a> = Box<dyn FnOnce(&mut Bars) -> Result<()> + 'a>;

/// The statements that create the tables of layout `kind` (besides the manifest), when
/// barstore creates them; `auto` means chunked.
pub fn create(kind: Kind, t: &Target, compaction: &str) -> Vec<String> {
    match kind {
        Kind::Typed => typed::create(t, compaction),
        Kind::Text => text::create(t, compaction),
        Kind::Chunked | Kind::Auto => chunked::create(t, compaction),
    }
}

/// Prepares the statements of layout `kind` on an existing table.
pub async fn open(kind: Kind, db: &Db) -> Result<Box<dyn TableLayout>> {
    Ok(match kind {
        Kind::Typed => Box::new(typed::Typed::open(db).await?),
        Kind::Text => Box::new(text::Text::open(db).await?),
        Kind::Chunked | Kind::Auto => Box::new(chunked::Chunked::open(db).await?),
    })
}

/// What the store needs from a table layout. Months are the exchange-local months every
/// store partitions by; a layout may store finer units inside them.
pub trait TableLayout: Send + Sync {
    /// The layout's URL name, for messages.
    fn kind(&self) -> Kind;

    /// The `_symbols` index beside the table, on layouts that have one.
    fn index(&self) -> Option<&Index>;

    /// Whether the table keeps prices and volumes as 32-bit floats (the notebook's).
    fn single_precision(&self) -> bool {
        false
    }

    /// Refuses a series the table cannot keep apart from others; a table keyed by
    /// series keeps any apart.
    fn accepts(&self, _db: &Db, _series: &Series) -> Result<()> {
        Ok(())
    }

    /// Writes months of a series (its exchange zone is `zone`): bars at stored instants
    /// replace them, others are kept; the index, where there is one, records the months
    /// first and their stats last.
    fn write<'a>(
        &'a self,
        db: &'a Db,
        series: &'a Series,
        zone: &'a Zone,
        months: &'a [MonthBars],
    ) -> LocalBoxFuture<'a, Result<()>>;

    /// The bars of one month of a series (in exchange zone `zone`) with
    /// `start <= ts <= end`, sorted.
    fn read<'a>(
        &'a self,
        db: &'a Db,
        series: &'a Series,
        zone: &'a Zone,
        month: Month,
        start: i64,
        end: i64,
    ) -> LocalBoxFuture<'a, Result<Bars>>;

    /// [`TableLayout::read`] of a run of `months` (consecutive months of a read,
    /// sorted), fetched but not yet decoded: the returned step appends their bars to the
    /// read's output. A read fetches its runs concurrently and appends them in order to
    /// one output sized by the index's counts, so that no month's bars are decoded into
    /// memory of their own and copied again. Layouts that can read a run in one request
    /// do; the others read its months one after another.
    fn fetch<'a>(
        &'a self,
        db: &'a Db,
        series: &'a Series,
        zone: &'a Zone,
        months: &'a [Month],
        start: i64,
        end: i64,
    ) -> LocalBoxFuture<'a, Result<Fetched<'a>>> {
        async move {
            let mut parts = Vec::with_capacity(months.len());
            for &m in months {
                parts.push(self.read(db, series, zone, m, start, end).await?);
            }
            let append: Fetched<'a> = Box::new(move |out: &mut Bars| {
                for mut p in parts {
                    out.append(&mut p);
                }
                Ok(())
            });
            Ok(append)
        }
        .boxed_local()
    }

    /// [`TableLayout::read`] of one month of each of `series` (all of one timeframe and
    /// adjustment, in zone `zone`); layouts that can read them in one request do.
    fn read_group<'a>(
        &'a self,
        db: &'a Db,
        series: &'a [&'a Series],
        zone: &'a Zone,
        month: Month,
        start: i64,
        end: i64,
    ) -> LocalBoxFuture<'a, Result<Vec<Bars>>> {
        async move {
            let mut out = Vec::with_capacity(series.len());
            for s in series {
                out.push(self.read(db, s, zone, month, start, end).await?);
            }
            Ok(out)
        }
        .boxed_local()
    }

    /// The stored months of `series` between `first` and `last` (each bound optional).
    fn months<'a>(
        &'a self,
        db: &'a Db,
        series: &'a Series,
        first: Option<Month>,
        last: Option<Month>,
    ) -> LocalBoxFuture<'a, Result<Vec<Month>>> {
        async move {
            let Some(index) = self.index() else {
                return Ok(Vec::new());
            };
            Ok(index
                .months(db, series)
                .await?
                .into_iter()
                .filter(|m| m.within(first, last))
                .collect())
        }
        .boxed_local()
    }

    /// The zone `series` was loaded with, or `None` when it is not stored.
    fn zone<'a>(
        &'a self,
        db: &'a Db,
        series: &'a Series,
    ) -> LocalBoxFuture<'a, Result<Option<String>>> {
        async move {
            match self.index() {
                Some(index) => index.zone(db, series).await,
                None => Ok(None),
            }
        }
        .boxed_local()
    }

    /// The stored series of `symbol`.
    fn series_of<'a>(
        &'a self,
        db: &'a Db,
        symbol: &'a str,
    ) -> LocalBoxFuture<'a, Result<Vec<Series>>> {
        async move {
            match self.index() {
                Some(index) => index.series_of(db, symbol).await,
                None => Ok(Vec::new()),
            }
        }
        .boxed_local()
    }

    /// The stored series of each of `symbols` with their zones, and their months where
    /// the index gives them in the same request.
    fn lookup_many<'a>(
        &'a self,
        db: &'a Db,
        symbols: &'a [&'a str],
    ) -> LocalBoxFuture<'a, Result<Vec<Vec<Found>>>> {
        async move {
            if let Some(index) = self.index() {
                return index.lookup_many(db, symbols).await;
            }
            let mut out = Vec::with_capacity(symbols.len());
            for symbol in symbols {
                let mut found = Vec::new();
                for series in self.series_of(db, symbol).await? {
                    if let Some(zone) = self.zone(db, &series).await? {
                        found.push(Found {
                            series,
                            zone,
                            months: None,
                        });
                    }
                }
                out.push(found);
            }
            Ok(out)
        }
        .boxed_local()
    }

    /// Every stored series with its counts.
    fn series<'a>(&'a self, db: &'a Db) -> LocalBoxFuture<'a, Result<Vec<SeriesInfo>>> {
        async move {
            match self.index() {
                Some(index) => index.all(db).await,
                None => Ok(Vec::new()),
            }
        }
        .boxed_local()
    }
}

/// Writes every bar of `months` through `insert` as unlogged batches of one partition
/// each (`key` and the month's bucket lead each row, `row(month, i)` gives the rest),
/// with the store's batch size and at most its concurrency of batches in flight in all.
pub(super) async fn write_rows<R, F>(
    db: &Db,
    insert: &PreparedStatement,
    series: &Series,
    key: &[&str],
    months: &[MonthBars],
    row: F,
) -> Result<()>
where
    R: SerializeRow,
    F: Fn(&MonthBars, usize) -> R,
{
    let step = db.opts.batch_rows;
    let buckets: Vec<String> = months.iter().map(|m| m.month.to_string()).collect();
    let keys: Vec<Vec<&str>> = buckets
        .iter()
        .map(|b| key.iter().copied().chain([b.as_str()]).collect())
        .collect();
    let batches = months.iter().zip(&keys).flat_map(|(m, k)| {
        (0..m.bars.len())
            .step_by(step)
            .map(move |s| (m, k, s..(s + step).min(m.bars.len())))
    });
    futures::stream::iter(batches)
        .map(|(m, k, r)| {
            let mut batch = Batch::new(BatchType::Unlogged);
            for _ in r.clone() {
                batch.append_statement(insert.clone());
            }
            batch.set_is_idempotent(true);
            let rows: Vec<_> = r
                .map(|i| Keyed {
                    key: k,
                    rest: row(m, i),
                })
                .collect();
            async move {
                db.batch(|| format!("writing {series} {}", m.month), &batch, rows)
                    .await
            }
        })
        .buffer_unordered(db.opts.concurrency)
        .try_collect::<()>()
        .await
}
