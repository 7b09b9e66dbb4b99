//! The `lockbox` binary: everything lives in the library; see `lockbox::cli`.

/// mimalloc hands freed memory back to the system within moments, where
/// glibc's malloc keeps it in per-thread arenas: after a burst of sign-ins
/// (argon2 takes a 19 MiB block per hash) the server's memory returns to
/// what it was (see `lockbox bench web`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    lockbox::cli::main()
}
