//! Clients for a simulator's profile with its credentials handed in, never through the process
//! environment (the tests of a binary run in parallel threads of one process), and deciding with
//! the simulator's clock.

use super::static_token::StaticToken;
use scaleguard::clock::Clock;
use scaleguard::config::{ConfigFile, Profile};
use scaleguard::executor::Executor;
use scaleguard::inventory::Collector;
use scaleguard::journal::Journal;
use scaleguard::octopus::OctopusClient;
use scaleguard::providers::azure::AzureProvider;
use scaleguard::secret::Secret;
use scaleguard::sim::RunningSim;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// The simulator's own profile (`edit` may change its TOML first).
pub fn profile(sim: &RunningSim, edit: impl FnOnce(String) -> String) -> (String, Profile) {
    let config = ConfigFile::parse(&edit(sim.profile_toml()), Path::new("sim.toml")).expect("sim profile");
    let (name, profile) = config.profile(None).expect("the sim profile");
    (name, profile.clone())
}

/// The simulator's time plus the real time since this clock was made: a manual clock's jumps
/// (`advance`) and, between them, steps of its own, so reads in a row never share a timestamp (as
/// in production, where a refresh not newer than the last one observed adds nothing to the
/// history).
pub fn moving_clock(sim: &RunningSim) -> Clock {
    let sim_now = sim.clock();
    let started = Instant::now();
    Clock::new(move || sim_now() + started.elapsed())
}

/// An Octopus client with the simulator's API key.
pub fn octopus(sim: &RunningSim, profile: &Profile) -> OctopusClient {
    OctopusClient::new(&profile.octopus, Secret::new(sim.api_key())).expect("Octopus client")
}

/// A collector with the simulator's API key and ARM token, stamping snapshots with `clock`.
pub fn collector_with_clock(sim: &RunningSim, profile: &Profile, clock: Clock) -> Collector {
    let token = Arc::new(StaticToken(sim.arm_token()));
    let provider = AzureProvider::with_credential(&profile.azure, token).expect("Azure provider");
    Collector::with_octopus(profile, Ok(octopus(sim, profile)))
        .with_provider(Arc::new(provider))
        .with_clock(clock)
}

/// [`collector_with_clock`] on the simulator's [`moving_clock`].
pub fn collector(sim: &RunningSim, profile: &Profile) -> Collector {
    collector_with_clock(sim, profile, moving_clock(sim))
}

/// An executor with the simulator's credentials and clock, journaling to `journal`.
pub fn executor(sim: &RunningSim, name: &str, profile: &Profile, journal: Journal) -> Executor {
    Executor::with_clients(name, profile, journal, octopus(sim, profile), collector(sim, profile))
}
