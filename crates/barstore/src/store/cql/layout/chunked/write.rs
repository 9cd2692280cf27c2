//! Writing a month of a series into the chunked table, fenced by the month's version:
//! read what it holds, merge, and write in conditional batches until no other writer
//! changed it in between.

use super::*;

/// Attempts a write of one month makes while other writers keep changing it.
pub(super) const ATTEMPTS: u32 = 30;

/// Blob bytes per conditional batch. A batch of one partition is exempt from the
/// servers' batch size thresholds (Cassandra and ScyllaDB check only batches spanning
/// partitions), and each transaction costs the node a Paxos round whatever its size, so
/// a month of minute bars (a few hundred KB at most) goes in one; the bound keeps a batch
/// far below the largest mutation a node accepts (half a commit-log segment, 16 MiB by
/// default).
pub(super) const BATCH_BYTES: usize = 2 * 1024 * 1024;

/// Months written at once by one write.
pub(super) const MONTH_CONCURRENCY: usize = 4;

/// What a writer read of a month before merging into it: the version, the header of
/// every stored chunk, and the bars of the stored chunks it is about to rewrite.
pub(super) struct Stored {
    pub(super) version: Option<i64>,
    pub(super) headers: BTreeMap<i64, MonthStats>,
    pub(super) bars: BTreeMap<i64, Bars>,
    /// The stats of the stored chunks not in `headers` (none when it holds them all).
    pub(super) base: MonthStats,
}

impl Stored {
    /// The month's stats: `base` plus every header.
    pub(super) fn stats(&self) -> MonthStats {
        self.headers
            .values()
            .fold(self.base, |(n, lo, hi), (m, first, last)| {
                (n + m, lo.min(*first), hi.max(*last))
            })
    }
}

/// A stored chunk with the month's version, as the write path reads it.
pub(super) type Versioned = (
    CqlDate,
    i32,
    CqlTimestamp,
    CqlTimestamp,
    i32,
    i64,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    Option<i64>,
);

/// One statement of a conditional batch: the fence (the month's version moves from the
/// one read to the next) or a chunk.
pub(super) enum Statement<'a> {
    Fence {
        next: i64,
        key: [&'a str; 4],
        read: Option<i64>,
    },
    Chunk {
        key: [&'a str; 4],
        day: i64,
        chunk: &'a chunk::Chunk,
    },
}

impl SerializeRow for Statement<'_> {
    fn serialize(
        &self,
        ctx: &RowSerializationContext<'_>,
        writer: &mut RowWriter,
    ) -> Result<(), SerializationError> {
        match self {
            Statement::Fence { next, key, read } => {
                (next, key[0], key[1], key[2], key[3], read).serialize(ctx, writer)
            }
            Statement::Chunk { key, day, chunk: c } => Keyed {
                key,
                rest: (
                    cql_date(*day),
                    c.n as i32,
                    CqlTimestamp(c.first),
                    CqlTimestamp(c.last),
                    c.codec,
                    c.checksum,
                    &c.columns[0],
                    &c.columns[1],
                    &c.columns[2],
                    &c.columns[3],
                    &c.columns[4],
                    &c.columns[5],
                ),
            }
            .serialize(ctx, writer),
        }
    }

    fn is_empty(&self) -> bool {
        false
    }
}

/// The version after `read`: the time in microseconds, and always above `read`, so that
/// it orders the index's stats as a write time would.
pub(super) fn next_version(read: Option<i64>) -> i64 {
    let now = now_micros();
    read.map_or(now, |v| now.max(v + 1))
}

/// The statements only writes use, prepared on the first write: reading a table made
/// before versions existed needs none of them.
pub(super) struct Writes {
    insert: PreparedStatement,
    fence: PreparedStatement,
    headers: PreparedStatement,
    stored: PreparedStatement,
}

impl Writes {
    pub(super) async fn prepare(db: &Db) -> Result<Writes> {
        let (ks, tb) = (&db.target.keyspace, &db.target.table);
        let key = "symbol = ? AND timeframe = ? AND adjustment = ? AND bucket = ?";
        let mut fence = db
            .prepare(format!(
                "UPDATE {ks}.{tb} SET version = ? WHERE {key} IF version = ?"
            ))
            .await?;
        fence.set_is_idempotent(false);
        Ok(Writes {
            insert: db.prepare(format!("INSERT INTO {ks}.{tb} (symbol, timeframe, adjustment, bucket, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")).await?,
            fence,
            headers: db.prepare(format!("SELECT day, bars, first, last, version FROM {ks}.{tb} WHERE {key}")).await?,
            stored: db.prepare(format!("SELECT {COLUMNS}, version FROM {ks}.{tb} WHERE {key} AND day >= ? AND day <= ?")).await?,
        })
    }
}

impl Chunked {
    pub(super) async fn writes(&self, db: &Db) -> Result<&Writes> {
        self.writes.get_or_try_init(|| Writes::prepare(db)).await
    }

    /// Reads what a write of `days` merges into: the month's version and chunk headers,
    /// then the stored chunks of those days. `None` when the month changed between the
    /// two reads. A stored chunk among the days that cannot be decoded is an error naming
    /// the table, series and day: merging into it would replace every bar it holds with
    /// the few this write brings. With `overwrite_unreadable` it is left out instead (with
    /// a warning), and the write replaces it with the bars it brings.
    pub(super) async fn stored(
        &self,
        db: &Db,
        series: &Series,
        part: &Partition,
        days: &BTreeMap<i64, Range<usize>>,
    ) -> Result<Option<Stored>> {
        let w = self.writes(db).await?;
        let (key, bucket) = (part.key(series), &part.bucket);
        let what = || format!("reading {series} {bucket}");
        let mut version = None;
        let mut headers = BTreeMap::new();
        db.pages(
            what,
            &w.headers,
            Keyed {
                key: &key,
                rest: (),
            },
            |(day, n, first, last, v): (CqlDate, i32, CqlTimestamp, CqlTimestamp, Option<i64>)| {
                version = v;
                headers.insert(days_of(day), (i64::from(n), first.0, last.0));
            },
        )
        .await?;
        let mut stored = Stored {
            version,
            headers,
            bars: BTreeMap::new(),
            base: NO_STATS,
        };
        let touched: Vec<i64> = days
            .keys()
            .copied()
            .filter(|d| stored.headers.contains_key(d))
            .collect();
        let (Some(&lo), Some(&hi)) = (touched.first(), touched.last()) else {
            return Ok(Some(stored));
        };
        let mut changed = false;
        let mut unreadable = None;
        db.pages(
            what,
            &w.stored,
            Keyed {
                key: &key,
                rest: (cql_date(lo), cql_date(hi)),
            },
            |r: Versioned| {
                changed |= r.12 != version;
                let day = days_of(r.0);
                if changed || !days.contains_key(&day) {
                    return;
                }
                let held = r.1;
                let blobs = [&r.6[..], &r.7, &r.8, &r.9, &r.10, &r.11];
                let mut bars = Bars::default();
                match chunk::decode(held.max(0) as usize, r.4, r.5, blobs, &mut bars) {
                    Ok(()) => {
                        stored.bars.insert(day, bars);
                    }
                    Err(e) if db.opts.overwrite_unreadable => tracing::warn!(
                        "table {}.{}: {series} {}: {e}: replacing the day's {held} stored bars with the {} loaded now (--overwrite-unreadable)",
                        db.target.keyspace,
                        db.target.table,
                        format_date(day),
                        days[&day].len()
                    ),
                    Err(e) => {
                        let detail = format!(
                            "{series} {}: {e}: the stored day cannot be read, and merging the {} bars loaded now into it would replace its {held}; nothing of {series} {bucket} was written. To replace the day with the bars loaded now (the whole day when the file holds it), run the load again with --overwrite-unreadable",
                            format_date(day),
                            days[&day].len()
                        );
                        let table = format!("{}.{}", db.target.keyspace, db.target.table);
                        unreadable.get_or_insert(StoreError::Unreadable { table, detail });
                    }
                }
            },
        )
        .await?;
        if changed {
            return Ok(None);
        }
        match unreadable {
            Some(e) => Err(e.into()),
            None => Ok(Some(stored)),
        }
    }

    /// Writes the chunks of `days` (merged with `stored`) in conditional batches, each
    /// moving the month's version on from the one before. Days written are taken out of
    /// `days` and their headers put in `stored`; returns the final version, or `None`
    /// when another writer changed the month first.
    pub(super) async fn commit(
        &self,
        db: &Db,
        series: &Series,
        part: &Partition,
        bars: &Bars,
        days: &mut BTreeMap<i64, Range<usize>>,
        stored: &mut Stored,
    ) -> Result<Option<i64>> {
        let w = self.writes(db).await?;
        let key = part.key(series);
        let chunks: Vec<(i64, chunk::Chunk)> = days
            .iter()
            .map(|(day, r)| {
                let chunk = match stored.bars.remove(day) {
                    Some(before) => {
                        let merged = Bars::merge(&before, &bars.slice(r.clone()));
                        chunk::encode(&merged, 0..merged.len())
                    }
                    None => chunk::encode(bars, r.clone()),
                };
                (*day, chunk)
            })
            .collect();
        let mut version = stored.version;
        let mut rest = &chunks[..];
        while !rest.is_empty() {
            // at least one chunk per batch, then as many as fit in BATCH_BYTES
            let mut bytes = 0;
            let take = rest
                .iter()
                .position(|(_, c)| {
                    bytes += c.columns.iter().map(Vec::len).sum::<usize>();
                    bytes > BATCH_BYTES
                })
                .unwrap_or(rest.len())
                .max(1);
            let (group, after) = rest.split_at(take);
            let next = next_version(version);
            let mut batch = Batch::new(BatchType::Unlogged);
            batch.append_statement(w.fence.clone());
            let mut values = vec![Statement::Fence {
                next,
                key,
                read: version,
            }];
            for (day, chunk) in group {
                batch.append_statement(w.insert.clone());
                values.push(Statement::Chunk {
                    key,
                    day: *day,
                    chunk,
                });
            }
            let (first, last) = (
                format_date(group[0].0),
                format_date(group[group.len() - 1].0),
            );
            if !db
                .conditional(
                    || format!("writing {series} {first} to {last}"),
                    &batch,
                    &values,
                )
                .await?
            {
                return Ok(None);
            }
            for (day, c) in group {
                days.remove(day);
                stored
                    .headers
                    .insert(*day, (i64::from(c.n), c.first, c.last));
            }
            version = Some(next);
            rest = after;
        }
        Ok(version)
    }

    /// [`Chunked::commit`], then the month's stats to the index with the final version as
    /// their write time; false when another writer changed the month first: the fence
    /// refused the write, which is logged (target `barstore::fence`, level info) so that
    /// contention between loads can be seen and counted.
    async fn commit_recorded(
        &self,
        db: &Db,
        series: &Series,
        part: &Partition,
        m: &MonthBars,
        days: &mut BTreeMap<i64, Range<usize>>,
        stored: &mut Stored,
    ) -> Result<bool> {
        let Some(version) = self.commit(db, series, part, &m.bars, days, stored).await? else {
            tracing::info!(
                target: "barstore::fence",
                "fence refused a write of {series} {} on {}: another load changed the month first; merging again",
                part.bucket,
                db.target
            );
            return Ok(false);
        };
        self.index
            .set_stats(db, series, m.month, stored.stats(), version)
            .await?;
        Ok(true)
    }

    /// Writes one month, fenced by its version: reads, merges and writes until no other
    /// writer changed the month in between, then records the month's stats in the index
    /// with the version as their write time.
    pub(super) async fn write_month(
        &self,
        db: &Db,
        series: &Series,
        m: &MonthBars,
        zone: &mut Zone,
    ) -> Result<()> {
        let mut days = chunk_days(series, &m.bars, zone);
        let part = Partition::of(series, m.month);
        // days after every bar of a month this process has seen (a lookup or its own
        // write), or of a month a lookup did not find, are new: the write needs no read,
        // since its fence refuses it if the month changed since
        if let Some((base, version)) = self.index.seen(series, m.month) {
            let after = match version {
                Some(_) => chunk_day(series, zone.utc_ms_to_local(base.2)),
                None => i64::MIN,
            };
            if days.keys().next().is_some_and(|d| *d > after) {
                // the index names the month before any of its chunks is written
                self.index
                    .put_month(db, series, m.month, zone.name())
                    .await?;
                let mut stored = Stored {
                    version,
                    headers: BTreeMap::new(),
                    bars: BTreeMap::new(),
                    base,
                };
                if self
                    .commit_recorded(db, series, &part, m, &mut days, &mut stored)
                    .await?
                {
                    return Ok(());
                }
            }
        }
        let mut attempt = 0;
        loop {
            // the index names the month before any of its chunks is written
            let stored = if attempt == 0 {
                let (_, stored) = futures::try_join!(
                    self.index.put_month(db, series, m.month, zone.name()),
                    self.stored(db, series, &part, &days)
                )?;
                stored
            } else {
                self.stored(db, series, &part, &days).await?
            };
            if let Some(mut stored) = stored {
                if self
                    .commit_recorded(db, series, &part, m, &mut days, &mut stored)
                    .await?
                {
                    return Ok(());
                }
            }
            attempt += 1;
            if attempt == ATTEMPTS {
                return Err(StoreError::Busy {
                    context: format!("writing {series} {} on {}", part.bucket, db.target),
                    attempts: ATTEMPTS,
                }
                .into());
            }
            tokio::time::sleep(backoff(attempt.min(4))).await;
        }
    }
}
