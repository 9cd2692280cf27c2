//! Reading one input: its layout, its blocks parsed in parallel, rows checked and
//! bucketed by month, months handed to a sink (the store when loading, a collector
//! when verifying) once enough are buffered.

use super::*;

/// Bars of one file waiting for the store, by month, with their line numbers.
#[derive(Default)]
pub(crate) struct Pending {
    months: BTreeMap<Month, (Bars, Vec<u64>)>,
    rows: usize,
}

impl Pending {
    pub(crate) fn absorb(&mut self, p: &mut Parsed, base: u64) {
        let n = p.bars.len();
        let mut i = 0;
        while i < n {
            let month = p.months[i];
            let mut j = i + 1;
            while j < n && p.months[j] == month {
                j += 1;
            }
            let (bars, lines) = self.months.entry(month).or_default();
            for k in i..j {
                bars.push(p.bars.row(k));
                lines.push(base + p.lines[k] as u64);
            }
            i = j;
        }
        self.rows += n;
    }

    /// Takes the months before the latest one (all of them when `all`, or when the
    /// latest is the only one).
    pub(crate) fn take(&mut self, all: bool) -> Vec<(Month, Bars, Vec<u64>)> {
        let keep = if all || self.months.len() < 2 {
            BTreeMap::new()
        } else {
            let last = *self.months.keys().next_back().expect("non-empty");
            self.months.split_off(&last)
        };
        let taken = std::mem::replace(&mut self.months, keep);
        self.rows = self.months.values().map(|(b, _)| b.len()).sum();
        taken.into_iter().map(|(m, (b, l))| (m, b, l)).collect()
    }
}

/// Where parsed months go: the store when loading, a collector when verifying.
pub(crate) type Sink<'a> = dyn Fn(&Series, Vec<MonthBars>) -> Result<()> + Sync + 'a;

/// Says whether a file's series may go to the sink (a load refuses a series stored with
/// another zone, or that the table cannot hold); `None`: every series may.
pub(crate) type Admit<'a> = dyn Fn(&str, &Series) -> Result<()> + Sync + 'a;

/// Everything a file read needs besides the file.
pub(crate) struct ReadContext<'a> {
    /// How the files are read (layout, zone, epoch unit, years) and the cancel flag.
    pub input: &'a InputOptions,
    pub log: Option<&'a ErrorLog>,
    pub progress: &'a dyn Progress,
    /// Called once a file's series is known, before any of its bars reach the sink.
    pub admit: Option<&'a Admit<'a>>,
    pub sink: &'a Sink<'a>,
}

/// Reads one input into the sink; returns its counts, content hash and series.
pub(crate) fn read_source(
    source: &Source,
    hint: &Hint,
    ctx: &ReadContext<'_>,
) -> Result<(FileStats, String, Option<Series>)> {
    let id = source.id();
    let read_bytes = AtomicU64::new(0);
    source.with_reader(&read_bytes, |reader| {
        let mut blocks = Blocks::new(reader);
        let io = |e| source.block_error(e);
        let mut stats = FileStats::default();
        let Some(mut first) = blocks.next_block(BLOCK).map_err(io)? else {
            return Ok((stats, blocks.hash(), None));
        };
        let input = ctx.input;
        let mut layout = detect(
            &first.bytes[..first.bytes.len().min(64 * 1024)],
            &input.format,
            &id,
        )?;
        if let Some(unit) = input.epoch_unit {
            layout = layout.with_epoch_unit(unit);
        }
        let mut base = 0u64;
        if layout.header {
            let cut = memchr::memchr(b'\n', &first.bytes).map_or(first.bytes.len(), |i| i + 1);
            first.bytes.drain(..cut);
            for long in &mut first.long_lines {
                long.at -= cut;
            }
            base = 1;
        }
        let parser = Parser::new(layout, input.zone.clone()).with_years(input.years);
        let mut pending = Pending::default();
        let mut batch = vec![first];
        let mut reported = 0u64;
        let mut series: Option<Series> = None;
        let flush = |pending: &mut Pending,
                     all: bool,
                     stats: &mut FileStats,
                     series: &Series|
         -> Result<()> {
            let mut months = Vec::new();
            let mut warnings = Vec::new();
            for (month, mut bars, lines) in pending.take(all) {
                for (dropped, winner) in bars.sort_dedup_last() {
                    warnings.push(Reject {
                        line: lines[dropped],
                        raw: String::new(),
                        reason: format!("duplicate timestamp: replaced by line {}", lines[winner]),
                        severity: Severity::Warning,
                    });
                }
                stats.rows += bars.len() as u64;
                months.push(MonthBars { month, bars });
            }
            stats.warnings += warnings.len() as u64;
            if let Some(log) = ctx.log {
                log.write(&id, &warnings)?;
            }
            if months.is_empty() {
                return Ok(());
            }
            (ctx.sink)(series, months)
        };
        loop {
            while batch.len() < BATCH {
                match blocks.next_block(BLOCK).map_err(io)? {
                    Some(b) => batch.push(b),
                    None => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            let mut parsed: Vec<Parsed> = batch
                .par_iter()
                .map(|b| {
                    let mut p = parser.clone().parse_chunk(&b.bytes);
                    if !b.long_lines.is_empty() {
                        p.rejects.extend(long_line_rejects(b));
                        p.rejects.sort_by_key(|r| r.line);
                    }
                    p
                })
                .collect();
            batch.clear();
            let series = match &series {
                Some(s) => s,
                None => {
                    let s = hint.resolve(&id, parser.layout(), &parsed, base)?;
                    if let Some(admit) = ctx.admit {
                        admit(&id, &s)?;
                    }
                    series.insert(s)
                }
            };
            let mut rows = 0;
            for p in &mut parsed {
                for r in &mut p.rejects {
                    r.line += base;
                    match r.severity {
                        Severity::Rejected => stats.rejected += 1,
                        Severity::Warning => stats.warnings += 1,
                    }
                }
                if let Some(log) = ctx.log {
                    log.write(&id, &p.rejects)?;
                }
                pending.absorb(p, base);
                base += p.line_count;
                rows += p.bars.len() as u64;
            }
            let now = read_bytes.load(Ordering::Relaxed);
            ctx.progress.advance(now - reported, rows);
            reported = now;
            if input.cancel.load(Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            if pending.rows >= FLUSH_ROWS {
                flush(&mut pending, false, &mut stats, series)?;
            }
        }
        if let Some(series) = &series {
            flush(&mut pending, true, &mut stats, series)?;
        }
        Ok((stats, blocks.hash(), series))
    })
}

/// The rejects of the lines a block cut out for their length, numbered within the block.
fn long_line_rejects(block: &Block) -> impl Iterator<Item = Reject> + '_ {
    let mut line = 1;
    let mut from = 0;
    block.long_lines.iter().map(move |long| {
        line += memchr::memchr_iter(b'\n', &block.bytes[from..long.at]).count() as u64;
        from = long.at;
        Reject {
            line,
            raw: raw_text(&long.head),
            reason: too_long(long.len),
            severity: Severity::Rejected,
        }
    })
}

/// Each input with what its name and the options say of its series.
pub(crate) fn with_hints(
    sources: Vec<Source>,
    opts: &InputOptions,
) -> Vec<(Source, Result<Hint, FileError>)> {
    let pattern = opts.pattern.as_deref();
    sources
        .into_iter()
        .map(|s| {
            let name = s.file_name();
            let hint = symbol::from_file_name(&name, pattern)
                .ok_or_else(|| FileError::Pattern {
                    file: s.id(),
                    pattern: pattern.unwrap_or("{symbol}_...").to_string(),
                })
                .and_then(|sym| match symbol::validate(&sym) {
                    Ok(()) => Ok(sym),
                    Err(source) => Err(FileError::Name {
                        file: s.id(),
                        source,
                    }),
                })
                .map(|symbol| {
                    let (tf, adj) = series::from_file_name(&name, &symbol);
                    Hint {
                        timeframe: match opts.timeframe {
                            Some(tf) => Some((tf, "as given")),
                            None => tf.map(|tf| (tf, "from the file name")),
                        },
                        adjustment: opts
                            .adjustment
                            .clone()
                            .or(adj)
                            .unwrap_or_else(Adjustment::none),
                        symbol,
                    }
                });
            (s, hint)
        })
        .collect()
}
