//! seibi (整備, "upkeep"): declarative configuration management for a city's ward offices and
//! their terminals.
//!
//! # Architecture tour
//! ```text
//! inventory/*.yml ─┐                      ┌─ plan document (text, json, markdown)
//! playbooks/*.yml ─┼─ load + validate ─ plan: task graph per terminal
//! secrets/*.age ───┘   (pure, sync)
//! ```
//! Loading, validation, templating and graph building are plain synchronous functions over data.
//! Dependencies point one way: `cli` -> `plan` -> {`playbook`, `inventory`, `template`} -> `source`.
//!
//! [`transport`] reaches terminals over SSH (russh on tokio) for the apply stage: the `Transport`
//! trait, strict `known_hosts` checking, and a scripted fake for tests.

pub mod transport;
