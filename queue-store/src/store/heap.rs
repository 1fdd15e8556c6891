//! The C heap under a store that runs for months: how glibc's `malloc` is
//! set up for it, and how the daily maintenance hands freed memory back.
//!
//! sled allocates and frees a great deal under writes, from several threads.
//! With glibc's defaults every such thread gets an arena of its own (up to
//! 8 per core) and blocks of up to 32 MiB stay in the heap after they are
//! freed; the live data, scattered over those pages, keeps them resident.
//! Measured with `perf -- year` (4 simulated days, right after a
//! [`super::Store::maintain`]): 44 MB resident with the defaults, 19 MB with
//! two arenas and blocks above 64 KiB mapped on their own, so that freeing
//! one returns it to the system at once.
//!
//! This module owns the only `unsafe` calls of the store. It does not
//! decide when to run: the kiosk calls [`tune`] first thing in `main`, and
//! [`super::Store::maintain`] calls [`release_free`].

/// Arenas glibc may create (one per thread by default, up to 8 per core).
pub const ARENAS: i32 = 2;

/// Blocks from this size on get their own mapping, returned when freed.
pub const MMAP_THRESHOLD: i32 = 64 * 1024;

/// Set glibc's allocator up for a long-running store ([`ARENAS`] arenas,
/// [`MMAP_THRESHOLD`]). Call it at the start of `main`, before threads
/// exist; false where the C library is not glibc or refused a setting.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // mallopt, with its SAFETY comment.
pub fn tune() -> bool {
    // SAFETY: mallopt only changes glibc's own allocator parameters under
    // its lock; it takes no pointer, and both settings are documented as
    // safe to change at any time (they apply to later allocations).
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS) == 1
            && libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    }
}

/// Without glibc there is nothing to set.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() -> bool {
    false
}

/// Hand the C heap's free pages back to the system; true when some were.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // malloc_trim, with its SAFETY comment.
pub fn release_free() -> bool {
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks and
    // releases free pages; it takes no pointer from us and is documented as
    // safe to call at any time from any thread.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Without glibc there is nothing to trim.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free() -> bool {
    false
}
