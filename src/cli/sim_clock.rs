//! The hidden `--sim-clock` flag: the headless commands take "now" from the built-in simulator
//! the profile points at, instead of the wall clock. Tests of the real binary use it to let time
//! pass by advancing the simulator's manual clock, never by sleeping.
//!
//! It cannot move the clock of a real estate: it is honoured only when the profile's Octopus URL
//! and ARM URL are one plain-HTTP origin on a loopback address (where the simulator serves both
//! APIs on one port) and that origin answers the simulator's `GET /_sim/clock`. Anything else
//! stops the command with one sentence before it reads or changes anything. No credential is
//! sent with the clock request.

use crate::clock::Clock;
use crate::config::Profile;
use anyhow::{bail, Context};
use std::net::IpAddr;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use url::{Host, Url};

/// The clock a headless command decides with: the wall clock, or with `--sim-clock` the
/// simulator's time when the command starts, moving at the simulator's speed while it runs.
pub(super) fn clock(sim_clock: bool, profile: &Profile) -> anyhow::Result<Clock> {
    if !sim_clock {
        return Ok(Clock::system());
    }
    // A profile of AWS groups only has no ARM to check; its AWS endpoint must be the simulator's.
    let has_azure = profile.scale_sets.iter().any(|set| set.provider == "azure");
    let arm_url = if has_azure { profile.azure.arm_url.as_str() } else { profile.octopus.url.as_str() };
    let origin = simulator_origin(&profile.octopus.url, arm_url)?;
    if let Some(aws) = &profile.aws {
        let endpoint = aws.endpoint_url.as_deref().unwrap_or("(the public AWS endpoints)");
        let same = Url::parse(endpoint).is_ok_and(|url| url.origin() == origin.origin());
        if !same {
            bail!(
                "--sim-clock is honoured only against the built-in simulator, which serves Octopus and AWS \
                 on one origin; octopus.url is {} but aws.endpoint_url is {endpoint}",
                profile.octopus.url
            );
        }
    }
    let url = origin.join("/_sim/clock").context("--sim-clock: cannot build the clock URL")?;
    // The command's own runtime may not exist yet (or may be running): ask on a thread of its own.
    let reading = std::thread::scope(|scope| {
        scope.spawn(|| read_clock(&url)).join().unwrap_or_else(|_| bail!("the clock request panicked"))
    })
    .with_context(|| format!("--sim-clock: cannot read the simulator's clock at {url}"))?;
    // A manual clock moves only when the test advances it; during the command it moves at the
    // wall clock's pace, so the command's own reads stay ordered as they are in production (a
    // refresh not newer than the last one observed adds nothing to the history).
    let (at, speed, started) = (reading.now, reading.speed.unwrap_or(1.0), Instant::now());
    Ok(Clock::new(move || {
        let passed = time::Duration::checked_seconds_f64(started.elapsed().as_secs_f64() * speed);
        passed.map_or(at, |passed| at.saturating_add(passed))
    }))
}

/// The one loopback origin serving both APIs, or why `--sim-clock` is refused.
fn simulator_origin(octopus_url: &str, arm_url: &str) -> anyhow::Result<Url> {
    let parse = |key: &str, value: &str| {
        Url::parse(value).with_context(|| format!("--sim-clock: {key} `{value}` is not a URL"))
    };
    let octopus = parse("octopus.url", octopus_url)?;
    let arm = parse("azure.arm_url", arm_url)?;
    let loopback = match octopus.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        _ => false,
    };
    if octopus.scheme() != "http" || !loopback {
        bail!(
            "--sim-clock is honoured only against the built-in simulator on a loopback address; \
             octopus.url is {octopus_url}"
        );
    }
    if octopus.origin() != arm.origin() {
        bail!(
            "--sim-clock is honoured only against the built-in simulator, which serves Octopus and ARM \
             on one origin; octopus.url is {octopus_url} but azure.arm_url is {arm_url}"
        );
    }
    Ok(octopus)
}

struct Reading {
    now: OffsetDateTime,
    /// Simulated seconds per real second; None for a manual clock.
    speed: Option<f64>,
}

#[derive(serde::Deserialize)]
struct ClockBody {
    #[serde(with = "time::serde::rfc3339")]
    now: OffsetDateTime,
    speed: Option<f64>,
}

fn read_clock(url: &Url) -> anyhow::Result<Reading> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let body: ClockBody = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()?;
        let response = client.get(url.clone()).send().await?.error_for_status()?;
        anyhow::Ok(response.json::<ClockBody>().await?)
    })?;
    if body.speed.is_some_and(|speed| !speed.is_finite() || speed < 0.0) {
        bail!("the simulator answered a speed that is not a non-negative number");
    }
    Ok(Reading { now: body.now, speed: body.speed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_loopback_http_origin_serving_both_apis_is_accepted() {
        assert!(simulator_origin("http://127.0.0.1:4000", "http://127.0.0.1:4000").is_ok());
        assert!(simulator_origin("http://[::1]:4000/", "http://[::1]:4000").is_ok());
        for (octopus, arm, says) in [
            ("https://octopus.example.com", "https://management.azure.com", "loopback"),
            ("http://10.0.0.5:4000", "http://10.0.0.5:4000", "loopback"),
            ("http://localhost:4000", "http://localhost:4000", "loopback"),
            ("https://127.0.0.1:4000", "https://127.0.0.1:4000", "loopback"),
            ("http://127.0.0.1:4000", "https://management.azure.com", "one origin"),
            ("http://127.0.0.1:4000", "http://127.0.0.1:4001", "one origin"),
        ] {
            let err = simulator_origin(octopus, arm).unwrap_err().to_string();
            assert!(err.contains(says), "{octopus} / {arm}: {err}");
        }
    }
}
