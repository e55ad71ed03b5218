//! The integration tests in one binary (one link instead of one per file): one module per area,
//! each against the simulator or a fake server on 127.0.0.1. The pseudo-terminal and latency tests
//! (`tests/terminal`) and the 10,000-VM load test (`tests/load`, which measures this process's
//! memory) have binaries of their own.

#[path = "../support/mod.rs"]
mod support;

mod apply_cli;
mod arm_paging;
mod autoscale_cli;
mod autoscale_sim;
mod aws;
mod aws_ambiguous_writes;
mod aws_flows;
mod aws_hostile;
mod azure_lro;
mod clients_azure;
mod clients_octopus;
mod clients_sim;
mod console_nodes;
mod console_scale;
mod console_worker;
mod core_flow;
mod crash_safety;
mod deploy_safety;
mod doctor;
mod error_messages;
mod executor_deploy_race;
mod executor_race;
mod fault_suite;
mod flexible;
mod fuzz_parsers;
mod ha_admission_race;
mod ha_cli;
mod ha_hooks_aws;
mod ha_scale;
mod ha_scale_crash;
mod ha_scale_kills;
mod history_race;
mod hostile_world;
mod inventory_cli;
mod node_cli;
mod node_drain;
mod octopus_hostile;
mod plan_cli;
mod reconcile_props;
mod scale_apply;
mod secrets;
mod secrets_echoed;
mod server_ids;
mod sim_arm_shapes;
mod sim_azure_client;
mod sim_binary;
mod sim_contract;
mod sim_faults;
mod sim_fidelity;
mod sim_http;
mod tenant_props;
mod tenants_cli;
mod tenants_hostile;
mod wire_fixtures;
