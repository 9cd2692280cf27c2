//! Transparent huge pages: kept, except for loads into CQL.
//!
//! mimalloc asks Linux for huge pages. Where the kernel compacts memory to find one on a
//! page fault (its default, `defrag=madvise`), a CQL load, whose workers wait on the
//! database between faulting in fresh month buffers, spent more time in the kernel than
//! in its own code: a load of 1.8M bars took 0.75-1.0 s of system CPU beside 0.35-0.5 s
//! of its own, and 0.15-0.3 s without huge pages. Reads and embedded loads run faster
//! with them (an embedded load of the same file: 0.28 s with, 0.36 s without).

/// Turns transparent huge pages off for the rest of this process (Linux; elsewhere a
/// no-op).
pub fn off() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag on this process's memory map.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
