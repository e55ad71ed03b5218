// No unwrap/expect in the binary either (see lib.rs).
#![deny(clippy::unwrap_used, clippy::expect_used)]

fn main() -> std::process::ExitCode {
    tune_malloc();
    scaleguard::cli::main()
}

/// glibc gives each thread that allocates its own heap ("arena", up to 8 per core), and memory
/// freed in one arena is not reused by another: the runtime's threads each keep a refresh's worth
/// of pages. Two arenas hold the console at 10,000 VMs about a quarter lower (VmHWM) for no
/// measurable time.
///
/// glibc also raises its mmap threshold to the size of each large block freed (up to 32 MB), so
/// after the first refresh the megabytes of a page body or of a listing's `Vec` come from the
/// arenas, where they leave holes that later refreshes cannot always fill. A fixed threshold (the
/// default starting value, 128 KiB) keeps every such block in its own mapping, returned whole
/// when freed: the console at 10,000 VMs peaks 15–20 MB lower.
///
/// Set before any thread starts; other C libraries have no such settings.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    // SAFETY: mallopt only sets allocator parameters; called first thing, before any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}
