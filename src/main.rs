fn main() -> std::process::ExitCode {
    scaleguard::cli::main()
}
