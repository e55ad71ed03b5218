//! `scaleguard node` on a real terminal (a pseudo-terminal): a delete needs the node's name
//! typed, and so does a drain (it ends in a delete); Enter alone or a wrong name changes nothing.

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use scaleguard::sim::{self, RunningSim, SimOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Run `scaleguard node <args>` in a pty; once `prompt` shows, type `answer`. Returns the exit
/// code and everything the terminal showed.
fn on_terminal(
    sim: &RunningSim,
    config: &Path,
    data: &Path,
    args: &[&str],
    prompt: &str,
    answer: &str,
) -> (u32, String) {
    let pair = native_pty_system()
        .openpty(PtySize { rows: 24, cols: 200, pixel_width: 0, pixel_height: 0 })
        .expect("open a pty");
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_scaleguard"));
    command.arg("--config");
    command.arg(config);
    command.arg("node");
    command.args(args);
    command.env("SCALEGUARD_DATA_DIR", data);
    for (key, value) in sim.env() {
        command.env(key, value);
    }
    let mut child = pair.slave.spawn_command(command).expect("spawn in the pty");
    drop(pair.slave);
    let screen = Arc::new(Mutex::new(String::new()));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let sink = screen.clone();
    let reading = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !screen.lock().unwrap().contains(prompt) {
        assert!(Instant::now() < deadline, "no prompt `{prompt}`: {}", screen.lock().unwrap());
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut writer = pair.master.take_writer().unwrap();
    write!(writer, "{answer}\r").unwrap();
    writer.flush().unwrap();
    let status = child.wait().unwrap();
    drop(writer);
    drop(pair.master);
    let _ = reading.join();
    let text = screen.lock().unwrap().clone();
    (status.exit_code(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_terminal_delete_or_drain_needs_the_typed_name() {
    let _shared = crate::ALONE.read().await;
    let sim = sim::start(SimOptions::new("ha-drain").speed(20.0)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.toml");
    std::fs::write(&config, sim.profile_toml()).unwrap();
    let data = dir.path().join("data");
    let sim = Arc::new(sim);

    let run = |args: &'static [&'static str], prompt: &'static str, answer: &'static str| {
        let (sim, config, data) = (sim.clone(), config.clone(), data.clone());
        tokio::task::spawn_blocking(move || on_terminal(&sim, &config, &data, args, prompt, answer))
    };
    let (code, screen) =
        run(&["delete", "OCTO-NODE-2", "--force"], "Type its name to confirm:", "OCTO-NODE-3").await.unwrap();
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("did not match"), "{screen}");
    assert_eq!(sim.stats().get("octopus.octopusservernodes.delete"), 0);

    // A drain ends in the node's delete: the one confirmation rule asks for its name too.
    let (code, screen) = run(&["drain", "OCTO-NODE-1"], "Type its name to confirm:", "y").await.unwrap();
    assert_eq!(code, 1, "a yes is not the name: {screen}");
    assert!(screen.contains("did not match"), "{screen}");
    assert_eq!(sim.stats().get("octopus.octopusservernodes.put"), 0);

    let (code, screen) =
        run(&["delete", "OCTO-NODE-2", "--force"], "Type its name to confirm:", "octo-node-2").await.unwrap();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("OCTO-NODE-2: removed"), "{screen}");
    assert_eq!(sim.stats().get("octopus.octopusservernodes.delete"), 1);
    assert!(sim.with_world(|w| w.nodes.iter().all(|n| n.name != "OCTO-NODE-2")));
    if let Ok(sim) = Arc::try_unwrap(sim) {
        sim.shutdown().await;
    }
}
