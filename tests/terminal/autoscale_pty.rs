//! `scaleguard autoscale` on a real terminal (a pseudo-terminal): turning Autoscale on past an
//! active profile that cannot be worked out (`--force`) needs the scale set's name typed; `yes`
//! is not enough.

use crate::support::pty::Console;
use scaleguard::sim::{self, SimOptions};
use serde_json::json;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn a_forced_turn_on_with_an_unknown_active_profile_needs_the_sets_name_typed() {
    let _shared = crate::ALONE.read().await;
    let sim = sim::start(SimOptions::new("autoscale").manual_clock()).await.unwrap();
    // Disabled, and its fixed-date profile's time zone one scaleguard cannot resolve.
    sim.with_world_mut(|world| {
        let resource = &mut world.autoscale[0].resource;
        resource["properties"]["enabled"] = json!(false);
        resource["properties"]["profiles"][1]["fixedDate"]["timeZone"] = json!("Mars Standard Time");
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.toml");
    std::fs::write(&config, sim.profile_toml()).unwrap();
    let mut envs: Vec<(String, String)> = sim.env().into_iter().collect();
    envs.push(("SCALEGUARD_DATA_DIR".into(), dir.path().join("data").display().to_string()));
    let config = config.display().to_string();
    let args = [
        "--config",
        &config,
        "--sim-clock",
        "autoscale",
        "vmss-web",
        "--enable",
        "--force",
        "--reason",
        "on",
    ];
    let run = |answer: &'static str, ends_with: &'static str| {
        let (args, envs) = (args.map(str::to_string), envs.clone());
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let console = Console::start(&args, &envs);
            let asked = console
                .wait_for("the typed confirmation", WITHIN, |s| s.contains("Type `vmss-web` to go ahead"));
            console.send(answer);
            console.send("\r");
            let ended = console.wait_for(ends_with, WITHIN, |s| s.contains(ends_with));
            (asked, ended)
        })
    };
    let put = || sim.stats().get("arm.put_autoscale_setting");

    let (asked, ended) = run("yes", "cancelled; nothing was changed").await.unwrap();
    assert!(asked.contains("forced past an unknown active profile"), "{asked}");
    assert_eq!(put(), 0, "a yes is not the name: {ended}");

    let (_, ended) = run("vmss-web", "done: Azure Autoscale setting").await.unwrap();
    assert_eq!(put(), 1, "{ended}");
    assert_eq!(sim.with_world(|w| w.autoscale[0].resource["properties"]["enabled"].clone()), json!(true));
}
