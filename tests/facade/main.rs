//! The p11 facade against SoftHSM: python-pkcs11's defaults per key type, the secure
//! templates, and portable signing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod certificates;
mod defaults;
mod held;
mod messages;
mod pool;
mod post_quantum;
mod rustcrypto;
mod rustcrypto_pq;
mod tls;
mod util;
