//! Built-in simulator: Azure Resource Manager + Octopus REST on loopback, one port.
//!
//! ARM is served at the root (azure_mgmt_compute drops the endpoint's path), Octopus under `/api`,
//! the control endpoint under `/_sim/`, Amazon EC2 Auto Scaling and EC2 as query-protocol calls to
//! `/` (an `Action` parameter; see `aws`). Requests are routed by hand (not by axum's router)
//! because ARM paths are case-insensitive and every request must be counted and may carry a fault.

// A broken simulator answers 500 and says why; it does not panic: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod activity_log;
mod arm;
mod arm_insights;
mod arm_shapes;
pub mod autoscale;
pub mod aws;
mod control;
pub mod faults;
pub mod flexible;
mod flexible_arm;
pub mod hooks;
mod http;
mod octopus;
mod octopus_json;
mod octopus_model;
mod profile;
pub mod scenario;
mod tasks;
mod tenants;
pub mod world;

pub use control::ControlError;
pub use faults::{FaultSpec, Stats};
pub use hooks::RequestHook;
pub use scenario::EventAction;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use faults::{Api, FaultKind, FaultQueue};
use http::{Reply, Request};
use rand::RngExt;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use world::World;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("unknown scenario `{0}` (known: {known})", known = scenario::names().join(", "))]
    UnknownScenario(String),
    #[error(transparent)]
    Scenario(#[from] scenario::ScenarioError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub listen: SocketAddr,
    pub scenario: String,
    pub speed: f64,
    /// Time moves only when `RunningSim::advance` (or `/_sim/advance`) says so.
    pub manual_clock: bool,
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Most VMs per ARM page.
    pub arm_page_size: usize,
    /// Most items per Octopus page, whatever `take` asks for (the real server may do the same).
    pub octopus_page_size: usize,
    /// Wall-clock time of simulated t=0 with a manual clock (default 2026-01-05 09:00 UTC, a
    /// Monday, so runs repeat byte for byte); a real-time clock starts at the real time.
    pub epoch: Option<OffsetDateTime>,
}

impl SimOptions {
    pub fn new(scenario: &str) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            scenario: scenario.into(),
            speed: 1.0,
            manual_clock: false,
            seed: None,
            arm_page_size: 100,
            octopus_page_size: 100,
            epoch: None,
        }
    }
    /// With a manual clock: simulated t=0 is `epoch` (tests that run the real binary, whose clock
    /// is the real one, start the simulator a little in the past).
    pub fn epoch(mut self, epoch: OffsetDateTime) -> Self {
        self.epoch = Some(epoch);
        self
    }
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }
    pub fn speed(mut self, speed: f64) -> Self {
        self.speed = speed;
        self
    }
    pub fn manual_clock(mut self) -> Self {
        self.manual_clock = true;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    pub fn arm_page_size(mut self, size: usize) -> Self {
        self.arm_page_size = size.max(1);
        self
    }
    pub fn octopus_page_size(mut self, size: usize) -> Self {
        self.octopus_page_size = size.max(1);
        self
    }
}

enum Clock {
    Real { started: Instant, speed: f64 },
    Manual { elapsed: Mutex<f64> },
}

/// State shared by every request handler.
pub(crate) struct Shared {
    world: Mutex<World>,
    clock: Clock,
    /// Wall-clock time of simulated t=0.
    epoch: OffsetDateTime,
    faults: Mutex<FaultQueue>,
    hooks: Mutex<hooks::HookQueue>,
    stats: Mutex<Stats>,
    arm_page_size: AtomicUsize,
    octopus_page_size: AtomicUsize,
    api_key: String,
    read_only_api_key: String,
    arm_token: String,
    /// The AWS access key pair a client signs with (SigV4); the secret never leaves `env()`.
    aws_access_key_id: String,
    aws_secret_access_key: String,
    base_url: String,
    scenario: scenario::Scenario,
    speed: f64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking handler must not take the whole simulator down with a poisoned lock.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn now_secs(&self) -> f64 {
        match &self.clock {
            Clock::Real { started, speed } => started.elapsed().as_secs_f64() * speed,
            Clock::Manual { elapsed } => *lock(elapsed),
        }
    }

    /// The world, advanced to the clock's now; faults queued by chaos move to the fault queue.
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        let now = self.now_secs();
        let mut world = lock(&self.world);
        world.advance_to(now);
        for effect in std::mem::take(&mut world.effects) {
            let world::WorldEffect::Fault(spec) = effect;
            let _ = lock(&self.faults).push(spec);
        }
        world
    }

    /// Wall-clock time of a simulated instant.
    pub(crate) fn time_at(&self, sim_secs: f64) -> OffsetDateTime {
        self.epoch + time::Duration::seconds_f64(sim_secs)
    }

    pub(crate) fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    pub(crate) fn arm_page_size(&self) -> usize {
        self.arm_page_size.load(Ordering::Relaxed)
    }

    pub(crate) fn octopus_page_size(&self) -> usize {
        self.octopus_page_size.load(Ordering::Relaxed)
    }

    fn advance(&self, by: Duration) -> Result<(), ControlError> {
        match &self.clock {
            Clock::Manual { elapsed } => {
                *lock(elapsed) += by.as_secs_f64();
                drop(self.world());
                Ok(())
            }
            Clock::Real { .. } => Err(ControlError::NotManualClock),
        }
    }
}

pub struct RunningSim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSim {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// Octopus base URL (the client appends `/api`).
    pub fn octopus_url(&self) -> String {
        self.shared.base_url.clone()
    }
    pub fn arm_url(&self) -> String {
        self.shared.base_url.clone()
    }
    pub fn api_key(&self) -> String {
        self.shared.api_key.clone()
    }
    /// A key that may read but gets 403 on every write.
    pub fn read_only_api_key(&self) -> String {
        self.shared.read_only_api_key.clone()
    }
    pub fn arm_token(&self) -> String {
        self.shared.arm_token.clone()
    }
    /// The AWS endpoint (`endpoint_url`): the same origin, query-protocol calls to `/`.
    pub fn aws_url(&self) -> String {
        self.shared.base_url.clone()
    }
    pub fn aws_access_key_id(&self) -> String {
        self.shared.aws_access_key_id.clone()
    }
    pub fn aws_secret_access_key(&self) -> String {
        self.shared.aws_secret_access_key.clone()
    }
    pub fn aws_region(&self) -> String {
        self.shared.world().aws.region.clone()
    }
    /// The environment a client needs: `OCTOPUS_API_KEY` and `ARM_TOKEN`, and for a scenario
    /// with AWS groups the credentials and region the SDK's default chain reads, with that chain
    /// kept away from the user's own AWS setup (see [`aws::client_env`]).
    pub fn env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::from([
            ("OCTOPUS_API_KEY".to_string(), self.api_key()),
            ("ARM_TOKEN".to_string(), self.arm_token()),
        ]);
        if self.shared.scenario.aws.as_ref().is_some_and(|aws| !aws.groups.is_empty()) {
            env.extend(aws::client_env(
                &self.aws_access_key_id(),
                &self.aws_secret_access_key(),
                &self.aws_region(),
            ));
        }
        env
    }
    /// A complete config file: `default_profile = "sim"`, profile `sim` pointing here.
    pub fn profile_toml(&self) -> String {
        profile::profile_toml(&self.shared.scenario, &self.shared.base_url, self.shared.speed)
    }
    /// Move the manual clock forward (tests). Errors on a real-time clock.
    pub fn advance(&self, by: Duration) -> Result<(), ControlError> {
        self.shared.advance(by)
    }
    /// Seconds of simulated time since start.
    pub fn sim_time(&self) -> f64 {
        self.shared.world().now
    }
    /// The simulator's "now" as a wall-clock time, the scale its timestamps (`LastSeen`) use:
    /// a client deciding with a manual clock must use this, not the real clock.
    pub fn now(&self) -> OffsetDateTime {
        let now = self.shared.world().now;
        self.shared.time_at(now)
    }
    /// [`RunningSim::now`] as a shareable function, for clients that take a clock.
    pub fn clock(&self) -> Arc<dyn Fn() -> OffsetDateTime + Send + Sync> {
        let shared = self.shared.clone();
        Arc::new(move || {
            let now = shared.world().now;
            shared.time_at(now)
        })
    }
    /// [`RunningSim::advance`] as a shareable function, for a helper that runs commands for a
    /// test without borrowing the simulator.
    pub fn advancer(&self) -> Arc<dyn Fn(Duration) -> Result<(), ControlError> + Send + Sync> {
        let shared = self.shared.clone();
        Arc::new(move |by| shared.advance(by))
    }
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }
    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = Stats::default();
    }
    pub fn set_page_sizes(&self, arm: Option<usize>, octopus: Option<usize>) {
        if let Some(size) = arm {
            self.shared.arm_page_size.store(size.max(1), Ordering::Relaxed);
        }
        if let Some(size) = octopus {
            self.shared.octopus_page_size.store(size.max(1), Ordering::Relaxed);
        }
    }
    pub fn inject_fault(&self, spec: FaultSpec) -> Result<(), ControlError> {
        lock(&self.shared.faults).push(spec).map_err(|err| ControlError::Invalid(err.to_string()))
    }
    /// Apply an event now: set capacity, delete a VM out of band, stop/start a tentacle, kill a node.
    pub fn apply(&self, action: EventAction) -> Result<(), ControlError> {
        control::apply(&self.shared, action)
    }
    /// Apply `hook.action` right before the next matching request is served (once): "someone
    /// else" acting between a client's read and its write.
    pub fn before_next_request(&self, hook: RequestHook) {
        lock(&self.shared.hooks).push(hook);
    }
    /// Read the world (for assertions), advanced to now.
    pub fn with_world<T>(&self, read: impl FnOnce(&World) -> T) -> T {
        read(&self.shared.world())
    }
    /// Change the world directly (tests: build a 10,000-VM world with `add_existing_vm`).
    pub fn with_world_mut<T>(&self, change: impl FnOnce(&mut World) -> T) -> T {
        change(&mut self.shared.world())
    }
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

fn random_token(prefix: &str, len: usize) -> String {
    let mut rng = rand::rng();
    let body: String = (0..len)
        .map(|_| char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[rng.random_range(0..36)]))
        .collect();
    format!("{prefix}{body}")
}

pub async fn start(options: SimOptions) -> Result<RunningSim, SimError> {
    let scenario = scenario::load(&options.scenario).map_err(|err| match err {
        scenario::ScenarioError::Unknown { name, .. } => SimError::UnknownScenario(name),
        other => SimError::Scenario(other),
    })?;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| SimError::Listen { addr: options.listen, source })?;
    let addr = listener.local_addr().map_err(|source| SimError::Listen { addr: options.listen, source })?;
    let mut world = scenario.build(options.seed.unwrap_or(scenario.seed));
    let (clock, epoch) = if options.manual_clock {
        // A fixed epoch keeps manual-clock runs byte-for-byte repeatable.
        let epoch = options.epoch.unwrap_or(time::macros::datetime!(2026-01-05 09:00 UTC));
        (Clock::Manual { elapsed: Mutex::new(0.0) }, epoch)
    } else {
        (Clock::Real { started: Instant::now(), speed: options.speed }, OffsetDateTime::now_utc())
    };
    world.epoch = epoch;
    let shared = Arc::new(Shared {
        world: Mutex::new(world),
        clock,
        epoch,
        faults: Mutex::new(FaultQueue::default()),
        hooks: Mutex::new(hooks::HookQueue::default()),
        stats: Mutex::new(Stats::default()),
        arm_page_size: AtomicUsize::new(options.arm_page_size.max(1)),
        octopus_page_size: AtomicUsize::new(options.octopus_page_size.max(1)),
        api_key: random_token("API-", 26),
        read_only_api_key: random_token("API-", 26),
        arm_token: random_token("sim-arm-", 32),
        // AWS access key ids are 20 upper-case characters starting AKIA; secrets 40 characters.
        aws_access_key_id: random_token("AKIA", 16),
        aws_secret_access_key: random_token("", 40),
        base_url: format!("http://{addr}"),
        scenario,
        speed: options.speed,
    });
    let router = axum::Router::new().fallback(dispatch).with_state(shared.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningSim { addr, shared, shutdown: Some(tx), server: Some(server) })
}

async fn dispatch(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut request = Request {
        method,
        path: uri.path().to_string(),
        query: http::parse_query(uri.query()),
        headers,
        body,
        truncate_page: false,
        arm_shape: None,
        octopus_shape: None,
        lying_total: false,
        ignore_skip: false,
    };
    let segments: Vec<String> = request.segments().iter().map(|s| s.to_string()).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    if segments.first().is_some_and(|s| *s == "_sim") {
        return control::handle(&shared, &request, &segments[1..]).into_response(false);
    }
    let is_octopus = segments.first().is_some_and(|s| s.eq_ignore_ascii_case("api"));
    let aws_call = if is_octopus { None } else { aws::parse_call(&request) };
    if is_foreign_origin(&request) {
        return foreign_origin(&shared, &request, is_octopus, aws_call.as_ref()).into_response(false);
    }
    let (api, endpoint) = if is_octopus {
        (Api::Octopus, octopus::endpoint(&request.method, &segments[1..]))
    } else if let Some(call) = &aws_call {
        (Api::Aws, call.key())
    } else {
        (Api::Arm, arm::ArmRoute::parse(&segments).endpoint(&request.method))
    };
    lock(&shared.stats).count(api, &endpoint);
    // AWS calls all go to `/`: hooks and faults match them by name (`autoscaling.SetDesiredCapacity`).
    let matched = if aws_call.is_some() { endpoint.clone() } else { request.path.clone() };
    let hooked = lock(&shared.hooks).take(request.method.as_str(), &matched);
    if let Some(action) = hooked {
        if let Err(err) = control::apply(&shared, action) {
            tracing::warn!("simulator request hook failed: {err}");
        }
    }
    let fault = lock(&shared.faults).take(api, &matched);
    let authorization = request.header("authorization").map(str::to_string);
    let fault_reply = |kind: FaultKind| match &aws_call {
        Some(call) => aws::fault_reply(call, kind, authorization.as_deref()),
        None => fault_reply(api, kind),
    };
    let mut malformed = false;
    let mut slow_reply = None;
    let mut slow_body = None;
    let mut acted_then: Option<FaultKind> = None;
    match fault {
        Some(FaultKind::Delay { ms }) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Some(FaultKind::SlowReply { ms }) => slow_reply = Some(Duration::from_millis(ms)),
        Some(FaultKind::SlowBody { ms }) => slow_body = Some(Duration::from_millis(ms)),
        Some(FaultKind::EchoSecret) => return fault_reply_echo(api, &request, &fault_reply),
        Some(FaultKind::TruncatedPage) => request.truncate_page = true,
        Some(FaultKind::MalformedJson) => malformed = true,
        Some(FaultKind::Arm(shape)) => request.arm_shape = Some(shape),
        Some(FaultKind::Octopus(shape)) => request.octopus_shape = Some(shape),
        Some(FaultKind::LyingTotal) => request.lying_total = true,
        Some(FaultKind::IgnoreSkip) => request.ignore_skip = true,
        Some(FaultKind::ActThen503) => acted_then = Some(FaultKind::Unavailable),
        Some(FaultKind::ActThen429 { retry_after_secs }) => {
            acted_then = Some(FaultKind::TooManyRequests { retry_after_secs })
        }
        Some(FaultKind::OkNoop) => {
            let reply = match &aws_call {
                Some(call) => aws::empty_reply(call),
                None => Reply::ok(serde_json::json!({})),
            };
            return reply.into_response(false);
        }
        Some(FaultKind::Redirect) => return redirect_reply(&shared, &uri).into_response(false),
        Some(FaultKind::HookTimeout) => {
            if let Some(call) = &aws_call {
                aws::time_out_hooks(&shared, call);
            }
        }
        Some(kind) => return fault_reply(kind).into_response(false),
        None => {}
    }
    let reply = match (&aws_call, api) {
        (Some(call), _) => aws::handle(&shared, &request, call),
        (None, Api::Octopus) => octopus::handle(&shared, &request, &segments[1..]),
        (None, _) => arm::handle(&shared, &request, arm::ArmRoute::parse(&segments)),
    };
    let reply = match request.octopus_shape {
        Some(shape) => octopus::reshape(reply, shape),
        None => reply,
    };
    if let Some(wait) = slow_reply {
        tokio::time::sleep(wait).await;
    }
    if let Some(kind) = acted_then {
        return fault_reply(kind).into_response(false);
    }
    let response = reply.into_response(malformed);
    match slow_body {
        Some(wait) => http::delay_body(response, wait),
        None => response,
    }
}

/// An `echo_secret` fault: AWS calls answer in their own error shape (`fault_reply`).
fn fault_reply_echo(api: Api, request: &Request, aws_reply: &dyn Fn(FaultKind) -> Reply) -> Response {
    match api {
        Api::Aws => aws_reply(FaultKind::EchoSecret).into_response(false),
        _ => echo_secret_reply(api, request).into_response(false),
    }
}

/// A 401 whose message quotes the credential the request carried, as a careless server might.
fn echo_secret_reply(api: Api, request: &Request) -> Reply {
    use axum::http::StatusCode;
    match api {
        Api::Arm => {
            let credential = request.header("authorization").unwrap_or_default();
            let message = format!("The access token '{credential}' is invalid.");
            arm::error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", &message)
        }
        Api::Octopus | Api::Aws => {
            let key = request.header("x-octopus-apikey").unwrap_or_default();
            octopus::error(
                StatusCode::UNAUTHORIZED,
                &format!("The API key '{key}' you provided was not valid."),
            )
        }
    }
}

/// A `redirect` fault: the same path and query on `localhost` (another origin, same listener).
fn redirect_reply(shared: &Shared, uri: &Uri) -> Reply {
    let port = shared.base_url.rsplit(':').next().unwrap_or_default();
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    Reply::empty(axum::http::StatusCode::FOUND)
        .header("Location", format!("http://localhost:{port}{path_and_query}"))
}

/// Requests addressed to `localhost` stand for "another origin" (see `FaultKind::Redirect`).
fn is_foreign_origin(request: &Request) -> bool {
    request.header("host").is_some_and(|host| {
        let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
        name.eq_ignore_ascii_case("localhost")
    })
}

/// The other origin answers every listing with an empty collection (what let a redirected
/// listing pass for a complete one) and counts the credentials that reached it.
fn foreign_origin(
    shared: &Shared,
    request: &Request,
    is_octopus: bool,
    aws_call: Option<&aws::AwsCall>,
) -> Reply {
    let credential =
        request.header("x-octopus-apikey").is_some() || request.header("authorization").is_some();
    {
        let mut stats = lock(&shared.stats);
        stats.count_foreign(credential);
    }
    if let Some(call) = aws_call {
        aws::empty_reply(call)
    } else if is_octopus {
        Reply::ok(
            serde_json::json!({"ItemType": "DeploymentTarget", "TotalResults": 0, "ItemsPerPage": 30, "Items": [], "Links": {}}),
        )
    } else {
        Reply::ok(serde_json::json!({"value": []}))
    }
}

fn fault_reply(api: Api, kind: FaultKind) -> Reply {
    use axum::http::StatusCode;
    let (status, code, message) = match kind {
        FaultKind::TooManyRequests { .. } => {
            (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "The request is being throttled.")
        }
        FaultKind::ServerError => {
            (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "An internal error occurred.")
        }
        FaultKind::Unavailable => {
            (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "The service is unavailable.")
        }
        FaultKind::Unauthorized => {
            (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "The access token is invalid.")
        }
        FaultKind::Forbidden => (
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            "You do not have permission to perform this action.",
        ),
        FaultKind::ExpiredToken => (
            StatusCode::UNAUTHORIZED,
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
        ),
        FaultKind::Delay { .. }
        | FaultKind::SlowReply { .. }
        | FaultKind::SlowBody { .. }
        | FaultKind::EchoSecret
        | FaultKind::TruncatedPage
        | FaultKind::MalformedJson
        | FaultKind::Arm(_)
        | FaultKind::Octopus(_)
        | FaultKind::Redirect
        | FaultKind::LyingTotal
        | FaultKind::IgnoreSkip
        | FaultKind::ActThen503
        | FaultKind::ActThen429 { .. }
        | FaultKind::HookTimeout
        | FaultKind::OkNoop => {
            (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "unreachable fault")
        }
    };
    let reply = match api {
        Api::Arm => arm::error(status, code, message),
        // AWS faults are answered by `aws::fault_reply`; this is only reached with no AWS call.
        Api::Octopus | Api::Aws => octopus::error(status, message),
    };
    match kind {
        FaultKind::TooManyRequests { retry_after_secs } => {
            reply.header("Retry-After", retry_after_secs.to_string())
        }
        _ => reply,
    }
}

#[cfg(test)]
mod world_tests;
