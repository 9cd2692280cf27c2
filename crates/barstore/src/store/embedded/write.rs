//! Writing a series: each year directory gets a new part when the bars all come after
//! its last one, else a merge of its base, parts and the new bars.

use super::*;

/// What a write did to one year of a series.
pub(super) enum Written {
    /// Added a part of `rows` bars from `first` to `last` (UTC ms).
    Appended { rows: u64, first: i64, last: i64 },
    /// Rewrote the year's base.
    Merged,
}

/// The writes of one series under way through one store (two loads on two threads
/// write the same series at once), and whether one of them ended without its index
/// line.
#[derive(Debug, Default)]
pub(super) struct Writing {
    writers: usize,
    unrecorded: bool,
}

impl Embedded {
    /// What is being written of the series whose directory is `dir`.
    fn writing(&self, dir: &Path) -> Arc<Mutex<Writing>> {
        let mut map = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(dir.to_path_buf()).or_default().clone()
    }

    pub(super) fn partition_lock(&self, path: &Path) -> Arc<Mutex<()>> {
        let mut map = self.partitions.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(path.to_path_buf()).or_default().clone()
    }

    /// Writes `incoming` into the year directory `dir`: a new part when every bar comes
    /// after the year's last one, else a merge of the base, its parts and `incoming`.
    pub(super) fn write_year(
        &self,
        dir: &Path,
        zone: &Zone,
        incoming: &[MonthBars],
        force_merge: bool,
    ) -> Result<Written> {
        let year = Year::open(dir)?;
        let first_in = incoming
            .iter()
            .filter_map(|m| m.bars.ts.first().copied())
            .min();
        let last_in = incoming
            .iter()
            .filter_map(|m| m.bars.ts.last().copied())
            .max();
        let appendable = match (year.last(), first_in, last_in) {
            (Some(last), Some(first), Some(end)) => {
                (first > last && year.live().count() < MAX_PARTS && !force_merge)
                    .then_some((first, end))
            }
            _ => None,
        };
        if let Some((first, last)) = appendable {
            let months: BTreeMap<Month, Bars> =
                incoming.iter().map(|m| (m.month, m.bars.clone())).collect();
            let rows = months.values().map(|b| b.len() as u64).sum();
            let seq = year.files.next_seq(year.merged);
            let path = dir.join(parts::part_name(seq, first, last));
            write_file(&path, zone, &months, None)?;
            return Ok(Written::Appended { rows, first, last });
        }
        let mut months: BTreeMap<Month, Bars> = BTreeMap::new();
        let mut z = zone.clone();
        let stored = year.files.base.iter().chain(year.live().map(|p| &p.path));
        for path in stored {
            let old = read_file(path)?;
            let mut start = 0;
            while start < old.len() {
                let month = Month::of_local(z.utc_ms_to_local(old.ts[start]));
                let mut end = start + 1;
                while end < old.len() && Month::of_local(z.utc_ms_to_local(old.ts[end])) == month {
                    end += 1;
                }
                let part = old.slice(start..end);
                let merged = match months.get(&month) {
                    Some(before) => Bars::merge(before, &part),
                    None => part,
                };
                months.insert(month, merged);
                start = end;
            }
        }
        for m in incoming {
            let merged = match months.get(&m.month) {
                Some(old) => Bars::merge(old, &m.bars),
                None => m.bars.clone(),
            };
            months.insert(m.month, merged);
        }
        let holds = year.files.next_seq(year.merged) - 1;
        write_file(&dir.join(BASE), zone, &months, Some(holds))?;
        for part in &year.files.parts {
            fs::remove_file(&part.path).map_err(|e| StoreError::io(&part.path, e))?;
        }
        Ok(Written::Merged)
    }

    /// Writes months of a series, merging every year it touches when `force_merge`.
    ///
    /// The index line adds what the write appended to the series' totals, or counts
    /// the series' files after a merge; either is right only when no other write of the
    /// series is under way (one would count the other's appended part twice, or lose
    /// it). So the years are written in parallel, each under its own lock, and only the
    /// last of overlapping writes of a series writes the line, from the files when any
    /// write before it left none. What is under way is locked only to count and to
    /// write the line, never while waiting on the thread pool, where a waiting thread
    /// may run another file's write of another series meanwhile.
    pub(super) fn write_series(
        &self,
        series: &Series,
        zone: &Zone,
        months: Vec<MonthBars>,
        force_merge: bool,
    ) -> Result<()> {
        use rayon::prelude::*;
        let dir = self.series_dir(series)?;
        let mut by_year: BTreeMap<i32, Vec<MonthBars>> = BTreeMap::new();
        for m in months {
            by_year.entry(m.month.year).or_default().push(m);
        }
        let work: Vec<(i32, Vec<MonthBars>)> = by_year.into_iter().collect();
        let writing = self.writing(&dir);
        let lock = || writing.lock().unwrap_or_else(|p| p.into_inner());
        lock().writers += 1;
        let written: Result<Vec<Written>> = work
            .par_iter()
            .map(|(year, incoming)| {
                let year_dir = dir.join(format!("year={year}"));
                let lock = self.partition_lock(&year_dir);
                let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
                self.write_year(&year_dir, zone, incoming, force_merge)
            })
            .collect();
        let mut state = lock();
        state.writers -= 1;
        let written = match written {
            Ok(written) if state.writers == 0 => written,
            other => {
                // another write still under way writes the line, counting this one's
                // files; a failed write may have changed some years: the next write
                // counts them
                state.unrecorded = true;
                return other.map(|_| ());
            }
        };
        let counted = !std::mem::take(&mut state.unrecorded);
        let recorded = self.record_series(series, &written, counted);
        state.unrecorded = recorded.is_err();
        recorded
    }

    /// Writes the index line of `series` after a write of `written`: its totals plus
    /// what was appended when `counted` (the index counts every earlier write), else
    /// what its files hold.
    fn record_series(&self, series: &Series, written: &[Written], counted: bool) -> Result<()> {
        let before = self.info_of(series)?;
        let info = match before {
            Some(mut info)
                if counted
                    && written
                        .iter()
                        .all(|w| matches!(w, Written::Appended { .. })) =>
            {
                for w in written {
                    if let Written::Appended { rows, first, last } = *w {
                        info.rows += rows;
                        info.first = info.first.min(first);
                        info.last = info.last.max(last);
                    }
                }
                Some(info)
            }
            _ => self.info_from_files(series)?,
        };
        match info {
            Some(info) => self.index.put(&info),
            None => Ok(()),
        }
    }
}
