//! Load: a simulated world of 10,000 VMs in ten scale sets of 1,000 (the most a scale set holds)
//! and their 10,000 targets, refreshed back to back with one `inventory::Collector` (as the
//! console's refresh worker does) for a bounded time. Memory stays flat and the request count per
//! refresh is the page count plus a fixed overhead per set and per refresh, every time.
//!
//! The soak is the same loop for longer:
//! `SCALEGUARD_SOAK_SECS=600 cargo test --release --test load -- --ignored --nocapture`.
//! Its own test binary because it measures memory: nothing else may run beside it (its tests take
//! turns).

#[path = "../support/mod.rs"]
mod support;

/// Peak memory of the real binary at scale (the console, `inventory --format json`).
mod memory;

/// Every test here measures memory and runs a large simulator in this process: one at a time, so
/// no test's figure includes another's world.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

use scaleguard::inventory;
use scaleguard::sim::RunningSim;
use std::time::{Duration, Instant};
use support::{clients, estate};

const SETS: u32 = 10;
const PER_SET: u32 = estate::PER_SET;
const VMS: u32 = SETS * PER_SET;
const PAGE: usize = 1_000;

/// Resident set size of this process (test + simulator), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

async fn big_world() -> (RunningSim, scaleguard::config::Profile) {
    let (running, more_sets) = estate::start_apart(SETS, PAGE).await;
    let (_, profile) = clients::profile(&running, |toml| toml + &more_sets);
    (running, profile)
}

struct Refresh {
    rss_kib: u64,
    requests: u64,
    /// Requests for the two paged listings.
    page_requests: u64,
    took: Duration,
}

/// Refresh for `budget` (at least `min_refreshes` times), checking every snapshot is complete.
async fn refresh_for(budget: Duration, min_refreshes: usize) -> Vec<Refresh> {
    let _alone = ALONE.lock().await;
    let (running, profile) = big_world().await;
    let collector = clients::collector(&running, &profile);
    let started = Instant::now();
    let mut refreshes = Vec::new();
    while started.elapsed() < budget || refreshes.len() < min_refreshes {
        running.reset_stats();
        let began = Instant::now();
        let snapshot = collector.collect().await;
        let took = began.elapsed();
        let report = inventory::report(&snapshot).unwrap_or_else(|failures| panic!("{failures:?}"));
        assert_eq!(report.instances.len(), VMS as usize);
        assert!(report.targets.len() >= VMS as usize);
        drop((report, snapshot));
        let stats = running.stats();
        if refreshes.is_empty() {
            eprintln!("load: requests of one refresh: {:?}", stats.by_endpoint);
        }
        let page_requests = stats.get("arm.list_vms") + stats.get("octopus.machines");
        refreshes.push(Refresh { rss_kib: rss_kib(), requests: stats.total, page_requests, took });
    }
    running.shutdown().await;
    refreshes
}

fn check(refreshes: &[Refresh]) {
    let n = refreshes.len();
    // Pages per refresh: each set's VM list (PAGE per page) and the targets list (the client's
    // page size).
    let octopus_page = (PAGE as u64).min(u64::from(scaleguard::octopus::DEFAULT_PAGE_SIZE));
    let pages =
        u64::from(SETS) * u64::from(PER_SET).div_ceil(PAGE as u64) + (VMS as u64).div_ceil(octopus_page);
    // Everything else is per set (the set read before and after its pages, its resource group's
    // autoscale settings, its Activity Log) or per refresh, not per VM: space, environment,
    // project and its document (tenanted mode), its releases/deployments/tasks, nodes, version.
    const OVERHEAD: u64 = 4 * SETS as u64 + 11; // 50 measured (40 per set, 10 fixed)
    for (i, r) in refreshes.iter().enumerate() {
        assert_eq!(r.page_requests, pages, "refresh {i}: one request per page");
        assert!(r.requests <= pages + OVERHEAD, "refresh {i}: {} requests for {pages} pages", r.requests);
    }
    let requests: Vec<u64> = refreshes.iter().map(|r| r.requests).collect();
    assert!(requests.iter().all(|r| *r == requests[0]), "the same work every refresh: {requests:?}");

    // Memory: after two warm-up refreshes, the last three average within 20% of the first three.
    assert!(n >= 8, "too few refreshes to judge memory ({n})");
    let mean = |rs: &[Refresh]| rs.iter().map(|r| r.rss_kib).sum::<u64>() / rs.len() as u64;
    let early = mean(&refreshes[2..5]);
    let late = mean(&refreshes[n - 3..]);
    let took: Vec<u128> = refreshes.iter().map(|r| r.took.as_millis()).collect();
    eprintln!(
        "load: {n} refreshes of {VMS} VMs + targets; {} requests each ({pages} pages); RSS {early} KiB early, {late} KiB late ({:+.1}%); refresh ms: {took:?}",
        requests[0],
        (late as f64 - early as f64) * 100.0 / early as f64
    );
    // A leak keeps setting new highs to the end; the allocator's arenas (this test process sets no
    // arena limit, unlike the binary) may instead grow early and then level off. So more than 20%
    // growth fails only if the last three refreshes still sit above every earlier one after warm-up.
    let plateau = refreshes[2..n - 3].iter().map(|r| r.rss_kib).max().unwrap_or(early);
    assert!(
        late * 100 <= early * 120 || late <= plateau,
        "memory grew from {early} KiB to {late} KiB and still rose at the end (earlier high {plateau} KiB)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_vms_refreshed_continuously_keep_memory_flat_and_requests_per_page() {
    check(&refresh_for(Duration::from_secs(20), 8).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak: set SCALEGUARD_SOAK_SECS (default 600); run with --release"]
async fn soak_ten_thousand_vms() {
    let secs = std::env::var("SCALEGUARD_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(600);
    check(&refresh_for(Duration::from_secs(secs), 8).await);
}
