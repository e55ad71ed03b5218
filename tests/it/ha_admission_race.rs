//! A new HA node held at task cap 0 (`nodes.admit_with_task_cap_zero`) while an operator acts on it
//! from another terminal: the hold decides on the console's last listing, so whatever the operator
//! did since (set its cap, admitted it) must win over the automatic hold.

use crate::ha_scale::{setup, NODES_SET};
use crate::support::clients::octopus;
use std::time::Duration;

/// Scale the nodes' set out by one and wait for the new node: (nodes before, nodes after, new).
async fn scale_out_one(
    s: &crate::ha_scale::Setup,
) -> (Vec<scaleguard::model::Node>, Vec<scaleguard::model::Node>, scaleguard::model::Node) {
    let client = octopus(&s.sim, &s.profile);
    let before = client.nodes().await.unwrap();
    let index = s.sim.with_world(|w| w.set_index(NODES_SET).unwrap());
    s.sim.with_world_mut(|w| w.set_capacity(index, before.len() as u32 + 1));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let now = loop {
        let nodes = client.nodes().await.unwrap();
        if nodes.len() > before.len() {
            break nodes;
        }
        assert!(std::time::Instant::now() < deadline, "no new node");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let new = now.iter().find(|n| !before.iter().any(|b| b.id == n.id)).unwrap().clone();
    (before, now, new)
}

fn cap_of(s: &crate::ha_scale::Setup, id: &str) -> u32 {
    s.sim.with_world(|w| w.nodes.iter().find(|n| n.id == id).unwrap().max_concurrent_tasks)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cap_the_operator_set_after_the_listing_is_not_overwritten_by_the_hold() {
    let s = setup(|toml| toml).await;
    let runner = s.runner();
    let (before, listed, new) = scale_out_one(&s).await;
    assert_eq!(new.max_concurrent_tasks, 5);
    // The operator, on another terminal, gives it cap 2 after the console's listing.
    runner.nodes().set_task_cap(&new.name, 2, "half load while I watch it").await.unwrap();
    let held = runner.nodes().hold_new(Some(&before), &listed).await.unwrap();
    assert_eq!(cap_of(&s, &new.id), 2, "the operator's cap was overwritten by the hold: {held:?}");
    assert!(held.iter().all(|h| !h.held), "{held:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_admitted_after_the_listing_is_not_held() {
    let s = setup(|toml| toml).await;
    let runner = s.runner();
    let (before, listed, new) = scale_out_one(&s).await;
    runner.nodes().admit(&new.name, Some(5), "verified on the node").await.unwrap();
    let held = runner.nodes().hold_new(Some(&before), &listed).await.unwrap();
    assert_eq!(cap_of(&s, &new.id), 5, "an admitted node was held at 0: {held:?}");
}
