//! seibi (整備, "upkeep"): declarative configuration management for a city's ward offices and
//! their terminals.
//!
//! # Architecture tour
//! ```text
//! inventory/*.yml ─┐                      ┌─ plan document (text, json, markdown) ─ approval
//! playbooks/*.yml ─┼─ load + validate ─ plan: task graph per terminal, jobs batched into visits,
//! secrets/*.age ───┘   (pure, sync)        visits scheduled into office-hour windows (pure, sync)
//!                                                    │
//!                           apply (tokio): coordinator ─ workers over SSH ─ events ─ journal
//! ```
//! Loading, validation, templating, graph building, batching and scheduling are plain
//! synchronous functions over data, testable without a network; tokio exists only in the
//! transport (and, later, inside `apply`). Dependencies point one way:
//! `cli` -> {`plan`, `schedule`, `transport`, `lab`} -> {`project`, `playbook`, `inventory`,
//! `template`, `calendar`, `language`, `columns`} -> `source`.
//!
//! # Modules
//! - [`source`]: files, places in them, diagnostics; the only module naming a YAML crate.
//! - [`inventory`]: sites, terminals, groups, variables and their precedence; selectors;
//!   Ansible inventories (YAML, INI, `group_vars/`, `host_vars/`) read as Ansible reads them.
//! - [`playbook`]: jobs, tasks, actions and their arguments; recurring duties and their
//!   occurrences.
//! - [`template`]: minijinja, strict about undefined variables; secrets as placeholders.
//! - [`language`]: Japanese or English, for everything written for people.
//! - [`columns`]: plain-text tables whose columns line up, kanji counted as two columns.
//! - [`project`]: inventory and jobs loaded and cross-checked together (`seibi check`).
//! - [`plan`]: the task graph (petgraph inside), the plan document and its digest.
//! - [`calendar`]: Japanese holidays, office hours, business-day arithmetic.
//! - [`schedule`]: batching jobs into visits; placing visits into office-hour windows; crews
//!   (who goes where, travel, and the proof that every site of a round finishes in time).
//! - [`secrets`]: `Secret<T>`, the age-encrypted store, crash-safe password rotation state.
//! - [`journal`]: the hash-chained, signed execution log; verification; resume.
//! - [`roster`]: operators and approvers (従事者名簿) with keys and validity dates.
//! - [`approval`]: approvers' signatures on a plan's digest; what `apply` accepts.
//! - [`documents`]: 作業手順書, 作業報告書, 月次報告書 and セキュリティ保全状況報告書 as Markdown
//!   and `.xlsx`.
//! - [`transport`]: SSH (russh on tokio), strict `known_hosts`, a scripted fake for tests.
//! - [`action`]: what each task does on a terminal: query first, then apply only if needed.
//! - [`lab`]: a fleet of isolated OpenSSH servers on loopback (tests, `seibi lab`).
//! - [`run`]: the coordinator of `apply`: workers per terminal, limits, skips, outcomes.
//! - [`report`]: progress bars (indicatif), plain lines, the recap table.
//! - [`audit`]: read-only queries for auditors: password rotations and overdue terminals,
//!   recurring duties done, due and missed.
//! - [`cli`]: one file per subcommand.

pub mod action;
pub mod approval;
pub mod audit;
pub mod calendar;
pub mod cli;
pub mod columns;
pub mod documents;
pub mod inventory;
pub mod journal;
pub mod lab;
pub mod language;
pub mod plan;
pub mod playbook;
pub mod project;
pub mod report;
pub mod roster;
pub mod run;
pub mod schedule;
pub mod secrets;
pub mod source;
pub mod template;
pub mod transport;
