//! Freed memory goes back to the operating system.
//!
//! The binary allocates through mimalloc (`src/main.rs`), set here to hand
//! a page back as soon as it is empty ([`purge_freed_pages_at_once`]). What
//! C libraries allocate (libpq's results, OpenSSL) still comes from glibc's
//! malloc; the rest of this module is about that one: large blocks mapped
//! on their own, the rest trimmed every 30 s ([`trim_every`]).
//!
//! glibc's malloc serves a block of 128 KiB or more with its own `mmap` at
//! first, but each time such a block is freed it raises that threshold to
//! the block's size. While the binary allocated through glibc, argon2's
//! 19 MiB blocks (one per password checked) came from the heap from then
//! on, and a burst of sign-ins left the heap hundreds of megabytes high,
//! held by small allocations made in between (measured: 25 MB idle,
//! 245–440 MB after bursts of 100 concurrent sign-ins, never returned). A
//! fixed threshold keeps every block of 1 MiB or more in its own mapping,
//! unmapped when freed (33 MB after three such bursts), whoever allocates
//! it through glibc.

/// mimalloc's `mi_option_purge_delay`, which libmimalloc-sys names no
/// constant for: the entry of mimalloc's option enum right before
/// `use_numa_nodes`, in mimalloc 2 and 3 alike. A test pins it by the
/// option's documented default.
const MI_PURGE_DELAY: libmimalloc_sys::mi_option_t = libmimalloc_sys::mi_option_use_numa_nodes - 1;

/// Sets mimalloc to purge (`MADV_DONTNEED`) a page the moment it is empty.
/// By default it waits a second, and purges only when the allocator is
/// next called, so an idle server kept a burst's high mark (`lockbox bench
/// web`, 100 concurrent sign-ins: 50 MB idle and 74 MB 30 s after the
/// sign-ins with the default, 47 and 74 MB with 10 ms, 26 and 54 MB with
/// none). Under load the purges are rare (24 `madvise` calls in 6 s of
/// pages at 32 connections, `strace -c`). It is mimalloc's default only:
/// `MIMALLOC_PURGE_DELAY` (any spelling mimalloc reads) still decides.
/// Call first thing in `main`, before any other thread exists.
#[allow(unsafe_code)]
pub fn purge_freed_pages_at_once() {
    // SAFETY: mimalloc's options are plain values, neither locked nor
    // atomic; this is called before any other thread exists, so nothing
    // reads the option meanwhile.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_PURGE_DELAY, 0) }
}

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

/// Hands glibc's free pages back to the operating system every `every`,
/// for as long as the server runs. A burst of work leaves freed memory
/// inside glibc's heaps and per-thread arenas (now only what C libraries
/// allocate: libpq's results, OpenSSL), which malloc only gives back from
/// a heap's top; `malloc_trim` also releases the free pages in between.
/// Measured with `lockbox bench web` while the binary allocated through
/// glibc: the process stayed at the load's peak (78 MB) a minute after the
/// load without it. A round walks each arena once, holding that arena's
/// lock meanwhile, on the blocking pool: no request waits for it but an
/// allocation on the arena being walked, and that only once every 30 s.
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

#[cfg(test)]
mod tests {
    /// The enum entry taken for the purge delay is the purge delay: it
    /// reads mimalloc 3's documented default of 1000 ms (10 ms in mimalloc
    /// 2), which no neighbouring option has; and setting the default takes
    /// effect when the environment names no delay.
    #[test]
    #[allow(unsafe_code)]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads one of mimalloc's options. Test binaries keep the
        // system allocator, so no other thread reads or writes mimalloc's
        // options while this test sets one.
        let read = || unsafe { libmimalloc_sys::mi_option_get(super::MI_PURGE_DELAY) };
        assert_eq!(read(), 1000);
        super::purge_freed_pages_at_once();
        assert_eq!(read(), 0);
    }
}
