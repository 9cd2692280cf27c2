//! Cancelling a call from another thread. A load stops at its next batch once its
//! [`InputOptions::cancel`](crate::ingest::InputOptions::cancel) is set; what waits
//! instead of working (a CQL request's backoff before its next attempt, up to seconds
//! each) must see the flag too, or a cancelled call would sleep out every attempt. The
//! caller names its flag for the calls it makes on a thread with [`scoped`]; a wait
//! reads it with [`sleep`]. The CQL store polls its requests on the calling thread
//! (the runtime's `block_on`), so a request sees the flag of the thread that made it.

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often a cancellable wait looks at its flag: a cancel ends it within this.
const POLL: Duration = Duration::from_millis(50);

thread_local! {
    static FLAG: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Runs `f` with `flag` as this thread's cancel flag; the thread's previous flag (if
/// any) is its flag again afterwards, even if `f` panics.
pub fn scoped<R>(flag: &Arc<AtomicBool>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<AtomicBool>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            FLAG.with(|current| *current.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(FLAG.with(|current| current.replace(Some(flag.clone()))));
    f()
}

/// Sleeps for `wait`, or ends early with [`Error::Cancelled`] once the calling thread's
/// flag is set (within [`POLL`]).
pub(crate) async fn sleep(wait: Duration) -> Result<()> {
    let Some(flag) = FLAG.with(|current| current.borrow().clone()) else {
        tokio::time::sleep(wait).await;
        return Ok(());
    };
    let end = tokio::time::Instant::now() + wait;
    loop {
        if flag.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        tokio::time::sleep(left.min(POLL)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn a_set_flag_ends_the_sleep_of_its_thread_only() {
        let rt = runtime();
        let flag = Arc::new(AtomicBool::new(true));
        let started = std::time::Instant::now();
        let cancelled = scoped(&flag, || rt.block_on(sleep(Duration::from_secs(60))));
        assert!(matches!(cancelled, Err(Error::Cancelled)), "{cancelled:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // outside the scope the thread has no flag: the sleep runs its course
        assert!(rt.block_on(sleep(Duration::from_millis(1))).is_ok());
    }

    #[test]
    fn a_clear_flag_sleeps_the_whole_wait_and_scopes_nest() {
        let rt = runtime();
        let (outer, inner) = (Arc::new(AtomicBool::new(true)), Arc::default());
        scoped(&outer, || {
            let started = std::time::Instant::now();
            let slept = scoped(&inner, || rt.block_on(sleep(Duration::from_millis(120))));
            assert!(slept.is_ok() && started.elapsed() >= Duration::from_millis(120));
            // the outer flag is the thread's again
            assert!(rt.block_on(sleep(Duration::from_secs(60))).is_err());
        });
    }
}
