//! p11-core against real modules: SoftHSM (the token `cargo xtask test` makes) and NSS's
//! softoken.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod asymmetric;
mod dual;
mod keygen;
mod messages;
mod module;
mod nss;
mod objects;
mod post_quantum;
mod random;
mod sessions;
mod streams;
mod stress;
mod symmetric;
mod threads;
mod tokens;
mod wrap_derive;
