//! Test-only helpers shared by integration tests.

pub mod sshd;
