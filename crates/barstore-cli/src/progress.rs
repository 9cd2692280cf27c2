//! The load progress bar: bytes read drive the bar and the ETA; files and rows are
//! shown beside it, and for a while after a CQL request was retried, that retry.
//!
//! Log lines (warnings, retries) go to stderr above the bar, never through it.

use barstore::load::{FileOutcome, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer};

/// How long a retry stays on the bar after it was reported.
const RETRY_SHOWN_FOR: Duration = Duration::from_secs(10);

/// The latest retry the library reported, and when.
static RETRY: Mutex<Option<(Instant, String)>> = Mutex::new(None);
/// The bar on screen, if any: log lines are printed above it.
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Keeps the library's retry warnings (target `barstore::retry`) for the bar.
pub struct Retries;

impl<S: tracing::Subscriber> Layer<S> for Retries {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "barstore::retry" {
            return;
        }
        struct Message(String);
        impl Visit for Message {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        *RETRY.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), message.0));
    }
}

/// Where log lines go: stderr, above the bar while one is drawn.
pub struct Stderr;

/// One log line, written out whole when dropped.
pub struct Line(Vec<u8>);

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let out = || {
            let _ = std::io::stderr().write_all(&self.0);
        };
        match SHOWN.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(bar) => bar.suspend(out),
            None => out(),
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Stderr {
    type Writer = Line;
    fn make_writer(&'a self) -> Line {
        Line(Vec::new())
    }
}

/// The retry to show beside the counts, if one was reported lately.
fn recent_retry() -> Option<String> {
    RETRY
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .filter(|(at, _)| at.elapsed() < RETRY_SHOWN_FOR)
        .map(|(_, message)| message.clone())
}

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
        if show {
            *SHOWN.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar.clone());
        }
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
        let mut message = format!(
            "files {}/{} rows {} ({:.1}M rows/s)",
            self.files.load(Ordering::Relaxed),
            self.total_files.load(Ordering::Relaxed),
            rows,
            rate / 1e6
        );
        if let Some(retry) = recent_retry() {
            message.push_str(" | ");
            message.push_str(&retry);
        }
        self.bar.set_message(message);
    }

    pub fn finish(&self) {
        *SHOWN.lock().unwrap_or_else(|p| p.into_inner()) = None;
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
