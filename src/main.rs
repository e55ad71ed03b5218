// No unwrap/expect in the binary either (see lib.rs).
#![deny(clippy::unwrap_used, clippy::expect_used)]

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    scaleguard::cli::main()
}

/// glibc gives each thread that allocates its own heap ("arena", up to 8 per core), and memory
/// freed in one arena is not reused by another: the runtime's threads each keep a refresh's worth
/// of pages. Two arenas hold the console at 10,000 VMs about a quarter lower (VmHWM) for no
/// measurable time. Set before any thread starts; other C libraries have no such setting.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only sets an allocator parameter; called first thing, before any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
