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

pub mod calendar;
pub mod cli;
pub mod inventory;
pub mod journal;
pub mod lab;
pub mod plan;
pub mod playbook;
pub mod project;
pub mod roster;
pub mod source;
pub mod template;
