//! Reading bars: one series in runs of up to [`MONTHS_PER_REQUEST`] months per
//! request, many series a month of up to [`GROUP_READ`] symbols per request.

use super::*;
use crate::zone::DAY;

/// Requests of a read at once.
pub(super) const READ_CONCURRENCY: usize = 16;

/// Months one request of a read asks for, at most. The node's work per request
/// outweighs its work per month: reading 87 months of minute bars 6 to a request took
/// it 40% less CPU than a request a month, and 15 to a request little less again.
pub(super) const MONTHS_PER_REQUEST: usize = 12;

/// Symbols whose month one request of a many-symbol read reads, at most.
pub(super) const GROUP_READ: usize = 50;

impl Cql {
    pub(super) async fn scan_async(&self, series: &Series, start: i64, end: i64) -> Result<Bars> {
        let layout = self.layout().await?;
        let zone = match layout.zone(&self.db, series).await? {
            Some(z) => Zone::new(&z)?,
            None => return Ok(Bars::default()),
        };
        let (first, last) = month_bounds(&zone, start, end);
        let months = layout.months(&self.db, series, first, last).await?;
        self.scan_months(series, &zone, months, start, end, 0).await
    }

    /// The bars of `series` in `months` with `start <= ts <= end`: runs of months
    /// fetched concurrently (as few requests as keep [`READ_CONCURRENCY`] of them busy)
    /// and appended in order to one output with room for `bars` (the index's count of
    /// the months' bars; pages beyond what is written are never touched, so a count
    /// above the bars in range costs nothing).
    pub(super) async fn scan_months(
        &self,
        series: &Series,
        zone: &Zone,
        months: Vec<Month>,
        start: i64,
        end: i64,
        bars: usize,
    ) -> Result<Bars> {
        let layout = self.layout().await?;
        // a count no month of the series' timeframe can hold is not trusted
        let most = months.len() * (32 * DAY / series.timeframe.seconds()) as usize;
        let mut out = Bars::with_capacity(bars.min(most));
        let run = months
            .len()
            .div_ceil(READ_CONCURRENCY)
            .clamp(1, MONTHS_PER_REQUEST);
        let mut fetched = futures::stream::iter(months.chunks(run))
            .map(|run| layout.fetch(&self.db, series, zone, run, start, end))
            .buffered(READ_CONCURRENCY);
        while let Some(append) = fetched.try_next().await? {
            append(&mut out)?;
        }
        Ok(out)
    }

    pub(super) fn scan_group(&self, scans: &[(&Found, i64, i64)]) -> Result<Vec<Bars>> {
        // the months to read, grouped by what one request reads together: one month of
        // one timeframe and adjustment, the same bounds, many symbols
        type Group = (String, String, String, Month, i64, i64);
        let mut groups: BTreeMap<Group, Vec<usize>> = BTreeMap::new();
        let mut singles = Vec::new();
        // a zone per name: a market shares a few
        let mut zones: HashMap<&str, Zone> = HashMap::new();
        for (i, (found, start, end)) in scans.iter().enumerate() {
            symbol::validate(&found.series.symbol)?;
            let Some(months) = &found.months else {
                singles.push(i);
                continue;
            };
            let zone = match zones.entry(&found.zone) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(Zone::new(&found.zone)?),
            };
            let (first, last) = month_bounds(zone, *start, *end);
            let s = &found.series;
            for (m, _) in months.iter().filter(|(m, _)| m.within(first, last)) {
                let key = (
                    s.timeframe.to_string(),
                    s.adjustment.to_string(),
                    found.zone.clone(),
                    *m,
                    *start,
                    *end,
                );
                groups.entry(key).or_default().push(i);
            }
        }
        let mut parts: Vec<Vec<(Month, Bars)>> = vec![Vec::new(); scans.len()];
        let mut whole: Vec<(usize, Bars)> = self.block_on(
            futures::stream::iter(&singles)
                .map(|&i| async move {
                    let (found, start, end) = scans[i];
                    Ok::<_, Error>((i, self.scan_async(&found.series, start, end).await?))
                })
                .buffer_unordered(READ_CONCURRENCY)
                .try_collect(),
        )?;
        let read: Vec<(Month, &[usize], Vec<Bars>)> = self.block_on(async {
            let layout = self.layout().await?;
            // requests enough to keep the node busy, as large as that leaves them
            let jobs = groups.iter().flat_map(|(key, all)| {
                let size = (all.len() / READ_CONCURRENCY).clamp(1, GROUP_READ);
                all.chunks(size).map(move |c| (key, c))
            });
            futures::stream::iter(jobs)
                .map(|((_, _, zone, month, start, end), idx)| async move {
                    let series: Vec<&Series> = idx.iter().map(|&i| &scans[i].0.series).collect();
                    let zone = Zone::new(zone)?;
                    let bars = layout
                        .read_group(&self.db, &series, &zone, *month, *start, *end)
                        .await?;
                    Ok::<_, Error>((*month, idx, bars))
                })
                .buffer_unordered(READ_CONCURRENCY)
                .try_collect()
                .await
        })?;
        for (month, idx, bars) in read {
            for (&i, b) in idx.iter().zip(bars) {
                parts[i].push((month, b));
            }
        }
        let mut out = Vec::with_capacity(scans.len());
        whole.sort_by_key(|(i, _)| std::cmp::Reverse(*i));
        for (i, mut months) in parts.into_iter().enumerate() {
            if whole.last().is_some_and(|(w, _)| *w == i) {
                out.push(whole.pop().expect("just seen").1);
                continue;
            }
            months.sort_by_key(|(m, _)| *m);
            // the first month's bars become the symbol's (a read of one month, the usual
            // many-symbol read, copies nothing); later months are appended to them
            let total = months.iter().map(|(_, b)| b.len()).sum::<usize>();
            let mut parts = months.into_iter().map(|(_, b)| b);
            let mut bars = parts.next().unwrap_or_default();
            bars.reserve(total - bars.len());
            for mut b in parts {
                bars.append(&mut b);
            }
            out.push(bars);
        }
        Ok(out)
    }

    pub(super) fn scan_looked_up(&self, found: &Found, start: i64, end: i64) -> Result<Bars> {
        let Some(months) = &found.months else {
            return self.scan(&found.series, start, end);
        };
        symbol::validate(&found.series.symbol)?;
        let zone = Zone::new(&found.zone)?;
        let (first, last) = month_bounds(&zone, start, end);
        let (months, bars): (Vec<Month>, Vec<u64>) = months
            .iter()
            .filter(|(m, _)| m.within(first, last))
            .copied()
            .unzip();
        let bars = bars.iter().sum::<u64>() as usize;
        self.block_on(self.scan_months(&found.series, &zone, months, start, end, bars))
    }
}

/// The exchange months of `zone` that `start..=end` (UTC ms) touches; open bounds stay
/// open.
pub(super) fn month_bounds(zone: &Zone, start: i64, end: i64) -> (Option<Month>, Option<Month>) {
    let mut z = zone.clone();
    let first = (start != i64::MIN).then(|| Month::of_local(z.utc_ms_to_local(start)));
    let last = (end != i64::MAX).then(|| Month::of_local(z.utc_ms_to_local(end)));
    (first, last)
}
