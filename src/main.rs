//! The `lockbox` binary: everything lives in the library; see `lockbox::cli`.

fn main() -> std::process::ExitCode {
    lockbox::cli::main()
}
