// No unwrap/expect in the binary either (see lib.rs).
#![deny(clippy::unwrap_used, clippy::expect_used)]

fn main() -> std::process::ExitCode {
    scaleguard::cli::main()
}
