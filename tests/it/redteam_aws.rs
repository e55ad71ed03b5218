//! Hostile and broken answers on the AWS path (red-team review): the real binary against the
//! simulator, with a rewriting reverse proxy on 127.0.0.1 between them where the answer must lie
//! while the simulated world stays true. Each test states the safety promise it holds the binary
//! to; the world (the simulator's state) is the judge of what really runs.

use crate::support::bench::Bench;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use scaleguard::sim::SimOptions;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A reverse proxy in front of the simulator's AWS endpoint: forwards every request as sent (the
/// simulator checks the SigV4 signature, so the Host header goes along), and in the answers to
/// each lie's action (`DescribeAutoScalingGroups`, EC2 `DescribeInstances`) replaces its `from`
/// with its `to` once the lie is set.
#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    lies: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl Proxy {
    async fn start(upstream: &str) -> (Proxy, String) {
        let proxy = Proxy {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            lies: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(forward).with_state(proxy.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (proxy, url)
    }

    fn lie(&self, action: &str, from: &str, to: &str) {
        self.lies.lock().unwrap().push((format!("Action={action}&"), from.to_string(), to.to_string()));
    }
}

async fn forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = proxy.http.request(method, format!("{}{path}", proxy.upstream)).body(body.to_vec());
    for (name, value) in &headers {
        if name != header::CONTENT_LENGTH && name != header::CONNECTION && name != header::TRANSFER_ENCODING {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.expect("the simulator answers");
    let status = answer.status();
    let content_type = answer
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/xml")
        .to_string();
    let mut text = answer.text().await.expect("an answer body");
    let form = String::from_utf8_lossy(&body);
    for (action, from, to) in proxy.lies.lock().unwrap().iter() {
        if form.contains(action.as_str()) {
            text = text.replace(from.as_str(), to);
        }
    }
    (status, [(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// The value of the first `key = "..."` line of a TOML text.
fn toml_value(toml: &str, key: &str) -> String {
    toml.lines()
        .find_map(|line| {
            line.trim().strip_prefix(&format!("{key} = \""))?.strip_suffix('"').map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no `{key}` in the profile"))
}

/// Put the proxy between the profile and the simulator's AWS endpoint (Octopus stays direct).
async fn behind_proxy(bench: &Bench) -> Proxy {
    let profile = std::fs::read_to_string(&bench.config).unwrap();
    let endpoint = toml_value(&profile, "endpoint_url");
    let (proxy, proxy_url) = Proxy::start(&endpoint).await;
    std::fs::write(&bench.config, profile.replace(&endpoint, &proxy_url)).unwrap();
    proxy
}

/// Invariant 1 on AWS: an instance the group's listing carries that is not one of the group's
/// own (here `i-0feedfacefeedface0`, which no group of the world holds) must not stand in for an
/// instance lost from the answer. The lost instance keeps running in the world, so its target
/// must stay. DescribeAutoScalingGroups names no group per instance: only the count of distinct
/// instances against DesiredCapacity proves the listing, and a stand-in keeps the count right.
#[tokio::test(flavor = "multi_thread")]
async fn an_instance_of_no_group_standing_in_for_a_lost_one_never_gets_its_target_deleted() {
    let bench = Bench::start(SimOptions::new("aws-scale-in").manual_clock(), Bench::apply_profile)
        .await
        .with_sim_clock();
    // A steady group of 5: the scenario's scripted scale-in is taken out.
    bench.sim.with_world_mut(|w| w.events.clear());
    let proxy = behind_proxy(&bench).await;
    let profile = std::fs::read_to_string(&bench.config).unwrap();
    let profile = crate::support::bench::set_toml(&profile, "absent_observations", "2");
    std::fs::write(&bench.config, profile).unwrap();

    let honest = bench.run(&["plan"]).await;
    assert_eq!(
        honest.code, 0,
        "nothing to do while the answers are true: {}{}",
        honest.stdout, honest.stderr
    );
    let victim = bench.sim.with_world(|w| w.aws.groups[0].instances[2].instance_id.clone());
    let target = |bench: &Bench| {
        bench.sim.with_world(|w| w.machines.iter().find(|m| m.name == victim).map(|m| m.id.clone()))
    };
    let target_id = target(&bench).expect("the victim's target is registered");

    // From now on the answer lists another instance in the victim's place.
    proxy.lie(
        "DescribeAutoScalingGroups",
        &format!("<InstanceId>{victim}</InstanceId>"),
        "<InstanceId>i-0feedfacefeedface0</InstanceId>",
    );
    let mut outputs = Vec::new();
    for _ in 0..3 {
        bench.sim.advance(Duration::from_secs(5)).unwrap();
        let plan = bench.run(&["plan"]).await;
        plan.assert_no_panic("plan");
        outputs.push(plan.stdout);
    }
    bench.sim.advance(Duration::from_secs(5)).unwrap();
    let apply = bench.run(&["apply", "--yes"]).await;
    apply.assert_no_panic("apply");

    let running = bench.sim.with_world(|w| {
        w.aws.groups[0]
            .instances
            .iter()
            .any(|i| i.instance_id == victim && i.lifecycle.as_str() == "InService")
    });
    assert!(running, "the victim instance {victim} still runs in the world");
    assert_eq!(
        target(&bench).as_deref(),
        Some(target_id.as_str()),
        "the target of {victim}, whose instance still runs, was deleted on a listing that held an instance of \
         no group in its place.\nplans:\n{}\napply (exit {}):\n{}{}",
        outputs.join("\n"),
        apply.code,
        apply.stdout,
        apply.stderr
    );
}

/// `node hooks` and the plan on an AWS nodes' group: an instance in Terminating:Wait that *may*
/// host an HA node is only extended, never let go at once. A node registered under a name that is
/// not its instance's private DNS host part (Windows on EC2 names itself `EC2AMAZ-…` unless told
/// otherwise; a node name can also be set at install) pairs with no instance: while such a node
/// exists, an instance whose name no node answers to may be its host. Here the busy node
/// IP-10-0-0-4 (a 600 s task) is registered as `EC2AMAZ-7QK2M1B`; Auto Scaling terminates its
/// instance at 30 s. While its task runs the instance must stay in Terminating:Wait.
#[tokio::test(flavor = "multi_thread")]
async fn a_busy_node_registered_under_another_name_keeps_its_instance_waiting_on_the_hook() {
    const NODE_ID: &str = "OctopusServerNodes-IP-10-0-0-4";
    let bench =
        Bench::start(SimOptions::new("ha-scale-aws").manual_clock(), |toml| toml).await.with_sim_clock();
    // The scenario starts the node's 600 s task at 1 s (by its name): let it start, then give the
    // node the name it would have on a default Windows AMI.
    bench.sim.advance(Duration::from_secs(2)).unwrap();
    bench.sim.with_world_mut(|w| {
        w.nodes.iter_mut().find(|n| n.id == NODE_ID).expect("the busy node").name = "EC2AMAZ-7QK2M1B".into()
    });
    bench.sim.advance(Duration::from_secs(38)).unwrap();
    let (instance, state) = bench.sim.with_world(|w| {
        let region = w.aws.region.clone();
        let i = w
            .aws
            .groups
            .iter()
            .flat_map(|g| &g.instances)
            .find(|i| i.computer_name(&region) == "IP-10-0-0-4")
            .expect("the busy node's instance");
        (i.instance_id.clone(), i.lifecycle.as_str().to_string())
    });
    assert_eq!(state, "Terminating:Wait", "the scripted scale-in picked the busy node's instance");
    let busy = |bench: &Bench| {
        bench.sim.with_world(|w| {
            w.tasks.iter().any(|t| {
                t.node_id.as_deref() == Some(NODE_ID)
                    && t.start_time.is_some_and(|at| at >= 0.0)
                    && t.state.as_str() == "Executing"
            })
        })
    };
    assert!(busy(&bench), "the node still runs its task");

    let hooks = bench.run(&["node", "hooks"]).await;
    hooks.assert_no_panic("node hooks");
    let apply = bench.run(&["apply", "--yes"]).await;
    apply.assert_no_panic("apply");

    let state_now = bench.sim.with_world(|w| {
        w.aws
            .groups
            .iter()
            .flat_map(|g| &g.instances)
            .find(|i| i.instance_id == instance)
            .map(|i| i.lifecycle.as_str().to_string())
    });
    assert!(busy(&bench), "the node still runs its task after the passes");
    assert_eq!(
        state_now.as_deref(),
        Some("Terminating:Wait"),
        "instance {instance} hosts the busy node (registered as EC2AMAZ-7QK2M1B, unpaired) but its terminating \
         hook was completed while the node runs its task.\nnode hooks (exit {}):\n{}{}\napply (exit {}):\n{}{}",
        hooks.code,
        hooks.stdout,
        hooks.stderr,
        apply.code,
        apply.stdout,
        apply.stderr
    );
}

/// The same promise when EC2 contradicts itself: DescribeInstances lists the busy node's instance
/// twice, the second record with a private DNS name no node has. Two records of one instance that
/// disagree on its name leave its name unknown (it may host a node); the binary keeps the last one
/// read, so the instance of the busy node IP-10-0-0-4 (its node correctly named) reads as hosting
/// none, and its hook is completed while the node runs its task.
#[tokio::test(flavor = "multi_thread")]
async fn an_instance_ec2_lists_twice_under_two_names_keeps_its_hook_while_its_node_is_busy() {
    const NODE_ID: &str = "OctopusServerNodes-IP-10-0-0-4";
    let bench =
        Bench::start(SimOptions::new("ha-scale-aws").manual_clock(), |toml| toml).await.with_sim_clock();
    let proxy = behind_proxy(&bench).await;
    bench.sim.advance(Duration::from_secs(40)).unwrap();
    let busy_instance = |bench: &Bench| {
        bench.sim.with_world(|w| {
            let region = w.aws.region.clone();
            w.aws
                .groups
                .iter()
                .flat_map(|g| &g.instances)
                .find(|i| i.computer_name(&region) == "IP-10-0-0-4")
                .map(|i| (i.instance_id.clone(), i.lifecycle.as_str().to_string()))
        })
    };
    let (instance, state) = busy_instance(&bench).expect("the busy node's instance");
    assert_eq!(state, "Terminating:Wait", "the scripted scale-in picked the busy node's instance");
    let busy = |bench: &Bench| {
        bench.sim.with_world(|w| {
            w.tasks.iter().any(|t| {
                t.node_id.as_deref() == Some(NODE_ID)
                    && t.start_time.is_some_and(|at| at >= 0.0)
                    && t.state.as_str() == "Executing"
            })
        })
    };
    assert!(busy(&bench), "the node runs its task");
    let second = format!(
        "<item><instanceId>{instance}</instanceId><instanceState><code>16</code><name>running</name>\
         </instanceState><privateDnsName>ip-10-0-9-99.eu-west-1.compute.internal</privateDnsName></item>"
    );
    proxy.lie("DescribeInstances", "</instancesSet>", &format!("{second}</instancesSet>"));

    let hooks = bench.run(&["node", "hooks"]).await;
    hooks.assert_no_panic("node hooks");
    let apply = bench.run(&["apply", "--yes"]).await;
    apply.assert_no_panic("apply");

    assert!(busy(&bench), "the node still runs its task after the passes");
    assert_eq!(
        busy_instance(&bench).map(|(_, state)| state).as_deref(),
        Some("Terminating:Wait"),
        "EC2 listed {instance} twice (ip-10-0-0-4 and ip-10-0-9-99); its hook was completed while its node \
         IP-10-0-0-4 runs its task.\nnode hooks (exit {}):\n{}{}\napply (exit {}):\n{}{}",
        hooks.code,
        hooks.stdout,
        hooks.stderr,
        apply.code,
        apply.stdout,
        apply.stderr
    );
}
