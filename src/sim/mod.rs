//! Built-in simulator: Azure Resource Manager + Octopus REST on loopback. (contract stub; being built)

use std::collections::BTreeMap;
use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("unknown scenario `{0}`")]
    UnknownScenario(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub listen: SocketAddr,
    pub scenario: String,
    pub speed: f64,
}

impl SimOptions {
    pub fn new(scenario: &str) -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], 0)), scenario: scenario.into(), speed: 1.0 }
    }
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }
    pub fn speed(mut self, speed: f64) -> Self {
        self.speed = speed;
        self
    }
}

pub struct RunningSim {
    addr: SocketAddr,
}

impl RunningSim {
    pub fn octopus_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn arm_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn env(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    pub fn profile_toml(&self) -> String {
        String::new()
    }
    pub async fn shutdown(self) {}
}

pub async fn start(options: SimOptions) -> Result<RunningSim, SimError> {
    Err(SimError::UnknownScenario(options.scenario))
}
