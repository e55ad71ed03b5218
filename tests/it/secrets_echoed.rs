//! Secrets a server echoes in another shape, against the real binary and
//! the simulator behind a rewriting proxy.

use crate::support::bench::{files_under, Bench};
use crate::support::rewriting_proxy::behind_proxy;
use scaleguard::sim::{FaultSpec, SimOptions};

/// Every 12-character piece of `secret` that `haystack` holds (in any ASCII case).
fn pieces_in(secret: &str, haystack: &str) -> Vec<String> {
    let haystack = haystack.to_ascii_lowercase();
    let secret: Vec<char> = secret.to_ascii_lowercase().chars().collect();
    secret
        .windows(12)
        .map(|w| w.iter().collect::<String>())
        .filter(|piece| haystack.contains(piece.as_str()))
        .collect()
}

/// An Octopus 401 quoting the API key with a line break inside it, the key starting near the
/// 300th character of the message: the client caps the message at 300 characters before the
/// control characters are taken out and the scrub runs again (src/octopus/client.rs, `truncate`
/// of a scrub that the line break defeats; `untrusted::server_text` then sees only a prefix of
/// the key, which no scrub can recognise), so all but the key's last character is shown.
#[tokio::test(flavor = "multi_thread")]
async fn an_api_key_echoed_with_a_line_break_near_the_length_cap_is_not_shown_in_part() {
    let bench = Bench::start(SimOptions::new("steady").manual_clock(), |toml| toml).await;
    let key = bench.sim.api_key();
    assert_eq!(key.len(), 30, "API- and 26 characters");
    bench
        .sim
        .inject_fault(FaultSpec {
            target: "octopus".into(),
            kind: "echo_secret".into(),
            count: 10_000,
            retry_after_secs: None,
            delay_ms: None,
        })
        .unwrap();
    let proxy = behind_proxy(&bench).await;
    // `The API key '<key>'…` becomes `xxx…xxx The API key 'API-…(20)\n…(10)'…`, the key from the
    // 271st character on (JSON escapes the line break).
    let split = format!("{}\\n{}", &key[..20], &key[20..]);
    proxy.lie_where(
        &["/api"],
        &format!("The API key '{key}'"),
        &format!("{} The API key '{split}'", "x".repeat(256)),
    );
    let run = bench.run(&["inventory"]).await;
    run.assert_no_panic("inventory");
    let mut shown = format!("{}\n{}", run.stdout, run.stderr);
    for (_, text) in files_under(&bench.data) {
        shown.push_str(&text);
    }
    assert!(shown.contains("The API key"), "the server's words arrive: {shown}");
    let leaked = pieces_in(&key, &shown);
    assert!(leaked.is_empty(), "pieces of the API key were shown ({leaked:?}):\n{shown}");
}
