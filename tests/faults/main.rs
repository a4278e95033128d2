//! p11-core in front of a hostile module: the fault-injecting pass-through module
//! (`tests/fault-module`) before SoftHSM, told per test what to do. Each case asserts a
//! typed error naming the function, a session usable afterwards, and every session p11
//! opened closed again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cases;
mod churn;
mod control;
mod messages;
mod pool;
mod quirks;
