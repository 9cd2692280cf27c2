//! Long calls on a thread of their own, so that the calling thread can wait with the
//! GIL released and still look for Ctrl-C (and report a load's progress) every tick.
//! Python runs its signal handlers only on the main thread and only between bytecodes:
//! a call that waited in Rust for its result would see Ctrl-C only once it ended,
//! however long a CQL retry made it.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// How often a waiting call looks for Ctrl-C and reports a load's progress.
const TICK: Duration = Duration::from_millis(100);

/// What a call does once it stops being waited for (Ctrl-C, or a progress callback that
/// raised).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnStop {
    /// Returns at once: the work (a read, which writes nothing) ends at its next cancel
    /// point and its result is dropped.
    Abandon,
    /// Waits until the work has ended, so that nothing of it is still writing when the
    /// call returns (a load).
    Drain,
}

/// Runs `work` on its own thread with `cancel` as its cancel flag, waiting for its
/// result. Each tick looks for Ctrl-C and calls `tick` (a load's progress report);
/// either failing sets `cancel` and ends the wait as `on_stop` says, with that error.
pub(crate) fn run<T: Send + 'static>(
    py: Python<'_>,
    cancel: Arc<AtomicBool>,
    on_stop: OnStop,
    work: impl FnOnce() -> T + Send + 'static,
    mut tick: impl FnMut(Python<'_>) -> PyResult<()>,
) -> PyResult<T> {
    // the work sends its result when it ends: the wait ends then, not at the next tick
    let (send, receive) = mpsc::channel();
    {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            // fails only when the caller is gone (it abandoned the work)
            let _ = send.send(barstore::cancel::scoped(&cancel, work));
        });
    }
    let mut stopped: Option<PyErr> = None;
    let mut waiting = receive;
    loop {
        // a receiver is not shared between threads: it goes into the wait and back
        let (ended, back) = py.detach(move || (waiting.recv_timeout(TICK), waiting));
        waiting = back;
        match ended {
            Ok(result) => return stopped.map_or(Ok(result), Err),
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err("the worker thread panicked"));
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        if stopped.is_some() {
            continue;
        }
        if let Err(e) = py.check_signals().and_then(|()| tick(py)) {
            cancel.store(true, Ordering::Relaxed);
            if on_stop == OnStop::Abandon {
                return Err(e);
            }
            stopped = Some(e);
        }
    }
}
