//! The load progress bar: bytes read drive the bar and the ETA; files and rows are
//! shown beside it.

use barstore::load::{FileOutcome, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

pub struct Bar {
    bar: ProgressBar,
    files: AtomicU64,
    total_files: AtomicU64,
    rows: AtomicU64,
    started: Instant,
}

impl Bar {
    /// A bar drawn on stderr, or a hidden one.
    pub fn new(show: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if show {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {percent:>3}% {binary_bytes}/{binary_total_bytes} {msg} ETA {eta}",
            )
            .expect("valid template"),
        );
        Bar {
            bar,
            files: AtomicU64::new(0),
            total_files: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    fn refresh(&self) {
        let rows = self.rows.load(Ordering::Relaxed);
        let rate = rows as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        self.bar.set_message(format!(
            "files {}/{} rows {} ({:.1}M rows/s)",
            self.files.load(Ordering::Relaxed),
            self.total_files.load(Ordering::Relaxed),
            rows,
            rate / 1e6
        ));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn start(&self, files: u64, bytes: u64) {
        self.total_files.store(files, Ordering::Relaxed);
        self.bar.set_length(bytes);
        self.refresh();
    }

    fn advance(&self, bytes: u64, rows: u64) {
        self.rows.fetch_add(rows, Ordering::Relaxed);
        self.bar.inc(bytes);
        self.refresh();
    }

    fn file_done(&self, _source: &str, _outcome: &FileOutcome) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.refresh();
    }
}
