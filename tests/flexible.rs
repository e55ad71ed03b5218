//! Azure Flexible orchestration end to end: real spec examples through the models and conversions
//! the provider uses, the provider against the simulator's Flexible sets over HTTP on 127.0.0.1
//! (listing, paging, hostile answers, deletes, protection), the CLI flows (inventory, plan, apply,
//! scale, doctor) on Flexible and mixed profiles, requests per inventory, and the console at 80×24.

mod static_token;

mod flexible {
    pub mod client;
    pub mod console;
    pub mod fixtures;
    pub mod flows;
    pub mod kit;
}
