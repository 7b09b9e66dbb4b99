//! Freed memory goes back to the operating system: large blocks at once,
//! the rest every 30 s ([`trim_every`]).
//!
//! glibc's malloc serves a block of 128 KiB or more with its own `mmap` at
//! first, but each time such a block is freed it raises that threshold to
//! the block's size: from then on argon2's 19 MiB blocks (one per password
//! checked) come from the heap, and a burst of sign-ins leaves the heap
//! hundreds of megabytes high, held by small allocations made in between
//! (measured: 25 MB idle, 245–440 MB after bursts of 100 concurrent
//! sign-ins, never returned). A fixed threshold keeps every block of
//! 1 MiB or more in its own mapping, unmapped when freed (33 MB after
//! three such bursts). The cost is one `mmap`/`munmap` pair per large
//! block, small beside a password hash.

/// Blocks of this size or more are mapped on their own.
const MMAP_THRESHOLD_BYTES: i32 = 1 << 20;

/// Fixes glibc's mmap threshold, unless `MALLOC_MMAP_THRESHOLD_` in the
/// environment already chose one. Call first thing in `main`, before any
/// other thread exists.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn return_large_blocks() {
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some() {
        return;
    }
    // SAFETY: `mallopt` only sets a parameter of the allocator; it is
    // called before any other thread exists, so no allocation races it.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    }
}

/// Other allocators keep their own policy.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_large_blocks() {}

/// How often [`trim_every`] hands free memory back.
pub const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Hands the allocator's free pages back to the operating system every
/// `every`, for as long as the server runs. A burst of work (page loads
/// over many connections, a bulk of sign-ins) leaves freed memory inside
/// glibc's heaps and per-thread arenas, which malloc only gives back from
/// a heap's top; `malloc_trim` also releases the free pages in between.
/// Measured with `lockbox bench web`: the process stayed at the load's
/// peak (78 MB) a minute after the load without it. A round walks each
/// arena once, holding that arena's lock meanwhile, on the blocking pool:
/// no request waits for it but an allocation on the arena being walked,
/// and that only once every 30 s.
pub async fn trim_every(every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let _ = tokio::task::spawn_blocking(give_back_free_pages).await;
    }
}

/// One round of [`trim_every`].
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn give_back_free_pages() {
    // SAFETY: `malloc_trim` takes each arena's lock itself; it frees
    // nothing in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators return memory by their own rules.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back_free_pages() {}
