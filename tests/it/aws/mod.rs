//! The simulator's AWS side over real HTTP on 127.0.0.1: the Auto Scaling and EC2 query
//! protocols, paging, errors, authentication refusals, lifecycle hooks and faults.

mod faults;
mod kit;
mod lifecycle;
mod protocol;
