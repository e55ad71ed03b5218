//! Ids as a server may spell them, against the real binary and the simulator: an Octopus id in
//! another case is the same id, and an ARM id read back from a listing that would lead a write
//! elsewhere is refused.

use scaleguard::sim::{self, RunningSim, SimOptions};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const SET: &str = "vmss-web";

struct Setup {
    sim: RunningSim,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    async fn autoscale(edit: impl FnOnce(String) -> String) -> Self {
        let sim = sim::start(SimOptions::new("autoscale").manual_clock()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sim.toml");
        std::fs::write(&config, edit(sim.profile_toml())).unwrap();
        Self { sim, dir, config }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_scaleguard"));
        command
            .arg("--config")
            .arg(&self.config)
            .arg("--sim-clock")
            .args(args)
            .env("SCALEGUARD_DATA_DIR", self.dir.path().join("data"))
            .env("USER", "bob")
            .envs(self.sim.env())
            .stdin(Stdio::null());
        command
    }

    async fn run(&self, args: &[&str]) -> Output {
        crate::support::sim_harness::output_advancing(self.command(args), &self.sim, 0).await
    }

    fn puts(&self) -> u64 {
        self.sim.stats().get("arm.put_autoscale_setting")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Octopus ids name one document in any ASCII case: a server spelling the machine ids of its
/// deployments in another case (`machines-1`) leaves every target a successful deployment reached
/// with the release, and `apply` deploys nothing (README invariant 3: never twice per release and
/// target; it used to deploy to all of them again).
#[tokio::test]
async fn a_release_is_not_redeployed_when_the_server_spells_machine_ids_in_another_case() {
    let sim = sim::start(SimOptions::new("steady").manual_clock()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.toml");
    std::fs::write(&config, sim.profile_toml()).unwrap();
    let setup = Setup { sim, dir, config };
    // The honest server first: nothing to do.
    let honest = setup.run(&["plan"]).await;
    assert_eq!(honest.status.code(), Some(0), "{}", text(&honest.stdout));
    let before = setup.sim.with_world_mut(|world| {
        for deployment in &mut world.deployments {
            for id in &mut deployment.deployed_to_machine_ids {
                *id = id.to_ascii_lowercase();
            }
        }
        world.deployments.len()
    });
    let out = setup.run(&["apply", "--yes"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let after = setup.sim.with_world(|w| w.deployments.len());
    assert_eq!(
        (out.status.code(), after),
        (Some(0), before),
        "the targets a successful deployment reached (ids in another case) got the release again:\n{stdout}\n{stderr}"
    );
}

/// An autoscale setting listed with an id that is not that setting's own (here one whose `../`
/// segments lead to rg-prod's `prod-autoscale`) is refused before any PUT: the write, with the
/// bearer token, goes only to the setting's own id, as encoded segments (README invariant 8; the
/// PUT used to land on rg-prod's setting and report `done`).
#[tokio::test]
async fn an_autoscale_put_never_goes_to_a_path_other_than_the_settings_own() {
    let setup = Setup::autoscale(|toml| toml).await;
    let evil = "/subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/resourceGroups/rg-web/providers/\
                microsoft.insights/autoscalesettings/vmss-web-autoscale/../../../../../rg-prod/providers/\
                microsoft.insights/autoscalesettings/prod-autoscale";
    setup.sim.with_world_mut(|world| world.autoscale[0].resource["id"] = json!(evil));
    let out = setup.run(&["autoscale", SET, "--maximum", "7", "--reason", "sale", "--yes"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        (out.status.code(), setup.puts()),
        (Some(1), 0),
        "a setting whose id is not a plain autoscale-setting id of the set's resource group must be \
         refused before any PUT (the PUT went to rg-prod's prod-autoscale):\n{stdout}\n{stderr}"
    );
}
