//! The `lockbox` binary: everything lives in the library; see `lockbox::cli`.

/// mimalloc instead of glibc's malloc (issue 20): serving a page is mostly
/// short-lived strings and buffers on many threads, and glibc's malloc,
/// free and their helpers were about a quarter of this process's CPU
/// samples over an Audit page turn (`perf`; libpq's share of them stays
/// with glibc, which C libraries still allocate through). With mimalloc a
/// page costs this process 11–12 % fewer instructions
/// (`scripts/callgrind-page`: the Audit page 1.05–1.06 → 0.94 million, the
/// request list 1.72–1.73 → 1.53 million). How it gives memory back is set
/// in `startup::memory`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    lockbox::cli::main()
}
