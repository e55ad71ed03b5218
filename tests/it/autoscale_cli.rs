//! Issue 17's "done when", against the real binary and the simulator's `autoscale` scenario
//! (manual clock): Azure Autoscale setting `vmss-web-autoscale` holds the set (capacity 4) in its
//! profile "default", 2..6; at 300 s ops@contoso.com scales it out to 9 in the portal and
//! Autoscale scales it back.
//!
//! The binary decides with the simulator's clock (`--sim-clock`), which the tests move by hand.

use scaleguard::journal::{read_all, JournalAction, Outcome, RecordKind};
use scaleguard::sim::{self, EventAction, FaultSpec, RequestHook, RunningSim, SimOptions};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const SET: &str = "vmss-web";
/// The Activity Log (`GET …/eventtypes/management/values`) of the scenario's subscription.
const ACTIVITY_LOG: &str =
    "/subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/providers/microsoft.insights/eventtypes";

struct Setup {
    sim: RunningSim,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    async fn new() -> Self {
        Self::with_toml(|toml| toml).await
    }

    async fn with_toml(edit: impl FnOnce(String) -> String) -> Self {
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

    /// Run the binary while the simulated clock moves `step_secs` every 100 ms (a scale waits
    /// for Azure's operation, which needs simulated time to pass).
    async fn run_advancing(&self, args: &[&str], step_secs: u64) -> Output {
        crate::support::sim_harness::output_advancing(self.command(args), &self.sim, step_secs).await
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.run_advancing(args, 0).await
    }

    /// Every Activity Log read answers 500 from now on: who changed the set lately is unknown.
    fn activity_log_fails(&self) {
        let fault = FaultSpec {
            target: ACTIVITY_LOG.into(),
            kind: "500".into(),
            count: 100,
            retry_after_secs: None,
            delay_ms: None,
        };
        self.sim.inject_fault(fault).unwrap();
    }

    fn capacity(&self) -> u32 {
        self.sim.with_world(|w| w.scale_sets[0].capacity)
    }

    fn advance_to(&self, secs: f64) {
        let now = self.sim.sim_time();
        assert!(now <= secs, "the simulated clock is already at {now} s, past {secs} s");
        self.sim.advance(Duration::from_secs_f64(secs - now)).unwrap();
    }

    fn journal(&self) -> Vec<scaleguard::journal::Record> {
        read_all(&self.dir.path().join("data").join("journal.jsonl")).unwrap().0
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn a_scale_outside_the_active_profile_is_refused_naming_the_setting_and_the_range() {
    let setup = Setup::new().await;
    let out = setup.run(&["scale", SET, "--capacity", "8", "--reason", "sale", "--yes"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "Azure Autoscale setting vmss-web-autoscale would scale it back to 6 within about a minute: its profile \
             \"default\" allows 2..6"
        ),
        "{stderr}"
    );
    assert!(stdout.contains("Autoscale    on · profile \"default\" 2..6 (default 4)"), "{stdout}");
    assert_eq!(setup.sim.stats().get("arm.patch_scale_set"), 0, "nothing was sent");
    assert_eq!(setup.capacity(), 4);
}

#[tokio::test]
async fn a_scale_inside_the_active_profile_succeeds_with_the_warning() {
    let setup = Setup::new().await;
    let out = setup.run_advancing(&["scale", SET, "--capacity", "5", "--reason", "sale", "--yes"], 5).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains(
            "  ! Azure Autoscale setting vmss-web-autoscale is on (profile \"default\", 2..6): its rules may still move \
             the capacity"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("done: capacity changed from 4 to 5"), "{stdout}");
    assert_eq!(setup.capacity(), 5);
}

#[tokio::test]
async fn raising_the_maximum_then_scaling_to_it_succeeds_and_stays() {
    let setup = Setup::new().await;
    let out =
        setup.run(&["autoscale", SET, "--maximum", "8", "--reason", "Black Friday load test", "--yes"]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("Now          enabled, 2..6 (default 4)"), "{stdout}");
    assert!(stdout.contains("After        enabled, 2..8 (default 4)"), "{stdout}");
    assert!(
        stdout.contains("done: Azure Autoscale setting vmss-web-autoscale is now enabled, 2..8 (default 4)"),
        "{stdout}"
    );
    let stored =
        setup.sim.with_world(|w| w.autoscale[0].resource["properties"]["profiles"][0]["capacity"].clone());
    assert_eq!(stored, serde_json::json!({"minimum": "2", "maximum": "8", "default": "4"}));

    let out = setup
        .run_advancing(&["scale", SET, "--capacity", "8", "--reason", "Black Friday load test", "--yes"], 5)
        .await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(setup.capacity(), 8);
    let scaled_at = setup.sim.sim_time();
    // At least two evaluations (every 30-60 s) before the scenario's own event at 300 s.
    assert!(scaled_at + 120.0 < 290.0, "the scale took until {scaled_at} s");
    setup.advance_to(290.0);
    assert_eq!(setup.capacity(), 8, "Autoscale did not scale it back: 8 is within the new range");

    let journal = setup.journal();
    let change = journal
        .iter()
        .find(|r| r.kind == RecordKind::Result && matches!(r.action, JournalAction::Autoscale { .. }))
        .expect("the autoscale change is journaled");
    assert_eq!(change.outcome, Some(Outcome::Done));
    assert_eq!(change.reason, "Black Friday load test");
    let JournalAction::Autoscale { setting, concurrency, before, after, .. } = &change.action else {
        unreachable!()
    };
    assert_eq!(setting, "vmss-web-autoscale");
    assert_eq!((before.capacity.unwrap().maximum, after.capacity.unwrap().maximum), (6, 8));
    assert!(
        concurrency.contains("no ETag") && concurrency.contains("compared right before the PUT"),
        "{concurrency}"
    );
}

#[tokio::test]
async fn the_cooldown_holds_after_a_change_by_someone_else_and_names_who() {
    let setup = Setup::new().await;
    setup.advance_to(300.0);
    assert_eq!(setup.capacity(), 9, "ops@contoso.com scaled out in the portal");
    setup.advance_to(400.0);
    assert_eq!(setup.capacity(), 6, "Autoscale scaled it back");

    let out = setup.run(&["scale", SET, "--capacity", "5", "--reason", "calm down", "--yes"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let reasons: Vec<&str> = stderr.lines().filter(|l| l.starts_with("  - ")).collect();
    assert_eq!(reasons.len(), 1, "only the cooldown: {stderr}");
    assert!(
        reasons[0].contains("by autoscale (setting vmss-web-autoscale); the cooldown ends in"),
        "{stderr}"
    );
    assert!(
        stdout.contains("ops@contoso.com via portal"),
        "the proposal lists the portal change too: {stdout}"
    );
    assert!(setup.journal().is_empty(), "scaleguard changed nothing itself");
}

#[tokio::test]
async fn an_autoscale_change_is_refused_with_every_reason_and_on_a_read_only_profile() {
    let setup = Setup::new().await;
    let out = setup.run(&["autoscale", SET, "--minimum", "7", "--maximum", "3", "--yes"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("a reason is required for an autoscale change"), "{stderr}");
    assert!(stderr.contains("minimum 7, maximum 3, default 4 is not a valid range"), "{stderr}");
    assert_eq!(setup.sim.stats().get("arm.put_autoscale_setting"), 0);

    let read_only = Setup::with_toml(|toml| toml.replace("read_only = false", "read_only = true")).await;
    let out = read_only.run(&["autoscale", SET, "--maximum", "8", "--reason", "r", "--yes"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is read-only (read_only = true)"), "{}", text(&out.stderr));
    assert_eq!(read_only.sim.stats().get("arm.list_autoscale_settings"), 0, "refused before any read");
}

#[tokio::test]
async fn a_setting_changed_between_the_read_and_the_write_is_not_overwritten() {
    let setup = Setup::new().await;
    // Someone edits the setting in the portal while the proposal is being made (right before
    // the Activity Log read that follows the setting's).
    setup.sim.before_next_request(RequestHook {
        method: Some("GET".into()),
        path_prefix:
            "/subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/providers/microsoft.insights/eventtypes"
                .into(),
        action: EventAction::EditAutoscale {
            setting: "vmss-web-autoscale".into(),
            profile: "default".into(),
            minimum: None,
            maximum: Some(5),
            enabled: None,
        },
    });
    let out = setup.run(&["autoscale", SET, "--maximum", "8", "--reason", "sale", "--yes"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("changed since it was read (compared right before the write: it has no ETag)"),
        "{stderr}"
    );
    assert!(stdout.contains("Now:") && stdout.contains("Now          enabled, 2..5 (default 4)"), "{stdout}");
    assert_eq!(setup.sim.stats().get("arm.put_autoscale_setting"), 0, "nothing was written");
    let maximum = setup
        .sim
        .with_world(|w| w.autoscale[0].resource["properties"]["profiles"][0]["capacity"]["maximum"].clone());
    assert_eq!(maximum, "5", "the portal's edit stands");
}

#[tokio::test]
async fn inventory_json_gives_each_scale_set_its_autoscale_or_null() {
    let setup = Setup::new().await;
    let out = setup.run(&["inventory", "--format", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["scale_sets"][0]["autoscale"],
        serde_json::json!({
            "name": "vmss-web-autoscale",
            "enabled": true,
            "state": "on",
            "active_profile": {"name": "default", "minimum": 2, "maximum": 6, "default": 4},
            "next_change": "2027-11-26T05:00:00Z",
            "why": null,
        })
    );
    let table = setup.run(&["inventory"]).await;
    assert!(text(&table.stdout).contains("on: default 2..6"), "{}", text(&table.stdout));

    let steady = sim::start(SimOptions::new("steady").manual_clock()).await.unwrap();
    let config = setup.dir.path().join("steady.toml");
    std::fs::write(&config, steady.profile_toml()).unwrap();
    let mut command = setup.command(&["inventory", "--format", "json"]);
    command.arg("--config").arg(&config).envs(steady.env());
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["scale_sets"][0]["autoscale"], serde_json::Value::Null, "no setting targets it");
}

#[tokio::test]
async fn doctor_warns_of_autoscale_scaling_in_with_no_reconcile_until_one_has_run() {
    let setup = Setup::new().await;
    let ids = |out: &Output| -> Vec<String> {
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("doctor JSON ({e}): {}\n{}", text(&out.stdout), text(&out.stderr)));
        report["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_string()).collect()
    };
    let before = setup.run(&["doctor", "--format", "json"]).await;
    assert!(ids(&before).contains(&"autoscale.scale-in-without-reconcile".to_string()), "{:?}", ids(&before));
    let plan = setup.run(&["plan"]).await;
    assert_ne!(plan.status.code(), Some(1), "{}", text(&plan.stderr));
    let after = setup.run(&["doctor", "--format", "json"]).await;
    assert!(
        !ids(&after).iter().any(|id| id.starts_with("autoscale.")),
        "a plan just observed the sets: {:?}",
        ids(&after)
    );
}

/// The `autoscale` scenario's setting made disabled, its default profile (the one Azure applies
/// now: "black-friday" is a fixed date in 2027) 1..2 while the set holds 4 VMs, and
/// "black-friday"'s time zone `zone`. The guard's minimum is 3, so Autoscale's move 4 → 2 breaks it.
async fn disabled_setting_whose_default_would_scale_in(zone: &str) -> Setup {
    let setup = Setup::with_toml(|toml| toml.replace("min_capacity = 1", "min_capacity = 3")).await;
    setup.sim.with_world_mut(|world| {
        let resource = &mut world.autoscale[0].resource;
        resource["properties"]["enabled"] = json!(false);
        resource["properties"]["profiles"][0]["capacity"] =
            json!({"minimum": "1", "maximum": "2", "default": "2"});
        resource["properties"]["profiles"][1]["fixedDate"]["timeZone"] = json!(zone);
    });
    assert_eq!(setup.capacity(), 4);
    setup
}

/// Turning Autoscale on meets the guard like a manual scale: with every time zone known, Autoscale
/// would then scale in 4 → 2, below the guard's min_capacity 3, so it is refused.
#[tokio::test]
async fn enabling_autoscale_that_would_scale_below_the_guard_is_refused() {
    let setup = disabled_setting_whose_default_would_scale_in("Eastern Standard Time").await;
    let out = setup.run(&["autoscale", SET, "--enable", "--reason", "back on", "--yes"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("Autoscale would then move the capacity from 4 to 2"), "{stdout}");
    assert_eq!(setup.sim.stats().get("arm.put_autoscale_setting"), 0, "nothing written");
}

/// A profile whose time zone scaleguard cannot resolve (a Windows zone newer than the built-in
/// CLDR mapping, or a typo Azure accepted) makes the active profile unknown, so nobody can say
/// what Autoscale does once on (here Azure would apply the default profile and scale 4 → 2, below
/// the guard's minimum). Turning it on is refused naming the profile and its time zone, as a
/// manual scale under an unknown Autoscale state is; `--force` lets it through, saying what was
/// forced (on a terminal the set's name is then typed).
#[tokio::test]
async fn enabling_autoscale_whose_active_profile_is_unknown_is_refused() {
    let setup = disabled_setting_whose_default_would_scale_in("Mars Standard Time").await;
    let out = setup.run(&["autoscale", SET, "--enable", "--reason", "back on", "--yes"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let enabled = || setup.sim.with_world(|w| w.autoscale[0].resource["properties"]["enabled"].clone());
    assert_eq!(
        (out.status.code(), setup.sim.stats().get("arm.put_autoscale_setting"), enabled()),
        (Some(1), 0, json!(false)),
        "enabling a setting whose active profile cannot be worked out must be refused (unless forced), \
         as the guard refuses a manual scale under an unknown Autoscale state:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains(
            "turning autoscale setting vmss-web-autoscale on lets it act with a profile that cannot be worked out \
             (profile \"black-friday\" names time zone \"Mars Standard Time\""
        ) && stderr.contains("force it to go ahead"),
        "{stderr}"
    );

    let out = setup.run(&["autoscale", SET, "--enable", "--force", "--reason", "back on", "--yes"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("  ! forced past an unknown active profile: profile \"black-friday\""),
        "{stdout}"
    );
    assert!(stdout.contains("Capacity     4 (what Autoscale then does with it is unknown"), "{stdout}");
    assert_eq!(enabled(), json!(true));
}

/// A terminal prompt can take minutes: the guard is asked again right before the write. Here
/// ops@contoso.com scales the set out to 9 right after the proposal's reads, so turning Autoscale
/// on, confirmed as moving nothing (4 is inside 2..6), would now have it scale 9 → 6 straight
/// after someone else's change: refused at the write, nothing written.
#[tokio::test]
async fn turning_autoscale_on_is_checked_again_right_before_the_write() {
    let setup = Setup::new().await;
    setup.sim.with_world_mut(|world| world.autoscale[0].resource["properties"]["enabled"] = json!(false));
    // The proposal's last read is the Activity Log's: the portal change lands just before it.
    setup.sim.before_next_request(RequestHook {
        method: Some("GET".into()),
        path_prefix:
            "/subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/providers/microsoft.insights/eventtypes"
                .into(),
        action: EventAction::ScaleBy {
            set: SET.into(),
            capacity: 9,
            caller: "ops@contoso.com".into(),
            app: "portal".into(),
        },
    });
    let out = setup.run(&["autoscale", SET, "--enable", "--reason", "back on", "--yes"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains("Capacity     4 (within the new range"), "confirmed over 4: {stdout}");
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("refused, nothing was written: Autoscale would then move the capacity from 9 to 6"),
        "{stderr}"
    );
    assert_eq!(setup.sim.stats().get("arm.put_autoscale_setting"), 0, "nothing was written");
    assert_eq!(setup.capacity(), 9);
}

/// The Activity Log answers 500: who changed the set lately is unknown, so is the cooldown. A
/// maximum (and default) below the capacity (4) makes Autoscale scale in 4 → 3 within a minute: that move meets
/// the cooldown like a manual scale, so an unknown cooldown refuses it unless forced (`scale`
/// refuses the same way), and nothing is written. Forced, it goes ahead saying what was forced.
#[tokio::test]
async fn a_maximum_below_the_capacity_with_an_unreadable_activity_log_is_refused_unless_forced() {
    let setup = Setup::new().await;
    setup.activity_log_fails();
    let out =
        setup.run(&["autoscale", SET, "--maximum", "3", "--default", "3", "--reason", "r", "--yes"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        (out.status.code(), setup.sim.stats().get("arm.put_autoscale_setting")),
        (Some(1), 0),
        "Autoscale would scale in 4 -> 3 with the cooldown unknown: refused, nothing written:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("Autoscale would then move the capacity from 4 to 3 within about a minute, and the cooldown is unknown: the Activity Log could not be read (")
            && stderr.contains("force it to go ahead"),
        "{stderr}"
    );
    // The same unknown cooldown refuses the manual scale too.
    let scale = setup.run(&["scale", SET, "--capacity", "3", "--reason", "r", "--yes"]).await;
    assert_eq!(scale.status.code(), Some(1), "{}", text(&scale.stderr));
    assert!(text(&scale.stderr).contains("the cooldown is unknown"), "{}", text(&scale.stderr));

    let out = setup
        .run(&["autoscale", SET, "--maximum", "3", "--default", "3", "--force", "--reason", "r", "--yes"])
        .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("  ! forced past an unknown cooldown: the Activity Log could not be read ("),
        "{stdout}"
    );
    assert!(stdout.contains("Capacity     4, which Autoscale will then move to 3"), "{stdout}");
    assert_eq!(setup.sim.stats().get("arm.put_autoscale_setting"), 1);
    let stored =
        setup.sim.with_world(|w| w.autoscale[0].resource["properties"]["profiles"][0]["capacity"].clone());
    assert_eq!(stored, json!({"minimum": "2", "maximum": "3", "default": "3"}));
}

/// A change that moves nothing needs no cooldown: with the Activity Log unreadable, raising the
/// maximum (4 stays inside 2..8) and turning Autoscale off still go ahead, unforced.
#[tokio::test]
async fn a_change_that_moves_nothing_needs_no_readable_activity_log() {
    let setup = Setup::new().await;
    setup.activity_log_fails();
    let out = setup.run(&["autoscale", SET, "--maximum", "8", "--reason", "r", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let out = setup.run(&["autoscale", SET, "--disable", "--reason", "r", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(setup.sim.stats().get("arm.put_autoscale_setting"), 2);
}

/// Turning Autoscale on forced past an unknown active profile is refused while the guard's
/// cooldown runs (whatever Autoscale then does may be a move at once). Here the
/// proposal is made while no cooldown runs, and ops@contoso.com scales the set 4 -> 5 after the
/// proposal's reads, before the re-check right before the write: the re-check must meet that
/// cooldown as the proposal would have, and write nothing.
#[tokio::test]
async fn a_forced_turn_on_past_an_unknown_profile_meets_a_cooldown_begun_after_the_proposal() {
    let setup = disabled_setting_whose_default_would_scale_in("Mars Standard Time").await;
    let set_path = "/subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/resourceGroups/rg-web/providers/\
                    Microsoft.Compute/virtualMachineScaleSets/vmss-web";
    // The proposal's read of the set: nothing happens (a load change Autoscale, off, ignores).
    setup.sim.before_next_request(RequestHook {
        method: Some("GET".into()),
        path_prefix: set_path.into(),
        action: EventAction::SetLoad { percent: 50.0 },
    });
    // The re-check's read of the set: someone scaled it just before.
    setup.sim.before_next_request(RequestHook {
        method: Some("GET".into()),
        path_prefix: set_path.into(),
        action: EventAction::ScaleBy {
            set: SET.into(),
            capacity: 5,
            caller: "ops@contoso.com".into(),
            app: "portal".into(),
        },
    });
    let out = setup.run(&["autoscale", SET, "--enable", "--force", "--reason", "back on", "--yes"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains("forced past an unknown active profile"), "confirmed forced: {stdout}\n{stderr}");
    assert_eq!(setup.capacity(), 5, "the scale by ops landed before the re-check:\n{stdout}\n{stderr}");
    assert_eq!(
        (out.status.code(), setup.sim.stats().get("arm.put_autoscale_setting")),
        (Some(1), 0),
        "a cooldown begun between the proposal and the write must refuse the forced turn-on at the re-check \
         (UnknownMoveInCooldown), as it does at the proposal:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains(
            "refused, nothing was written: turning autoscale setting vmss-web-autoscale on may let it move \
                         the capacity at once"
        ),
        "{stderr}"
    );
}
