//! The `tracing` feature: a span per C call with its function, return value and duration,
//! nested in the operation's span with its mechanism; never a PIN or data. A test binary
//! of its own: `tracing` caches per call site whether anyone listens, which other tests'
//! threads (with no subscriber) would decide first.
#![allow(clippy::unwrap_used)]

use p11_core::{Access, Mechanism, MechanismType as M, UserType};
use p11_tests::shared;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn each_call_is_a_span_with_function_return_value_and_mechanism_but_no_secrets() {
    let f = shared();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let secret_data = b"do not log this data";
    tracing::subscriber::with_default(subscriber, || {
        let session = f.token.open(Access::ReadOnly).unwrap();
        let _ = session.login(UserType::USER, "wrong-pin-1234567");
        session.login(UserType::USER, f.env.pin.as_str()).unwrap();
        session
            .digest(&Mechanism::new(M::SHA256), secret_data)
            .unwrap();
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("function=\"C_DigestInit\""), "{log}");
    assert!(log.contains("rv=CKR_OK"), "{log}");
    assert!(log.contains("mechanism=CKM_SHA256"), "{log}");
    assert!(log.contains("micros="), "{log}");
    // The wrong PIN's call is there with its verdict, the PIN is not.
    assert!(log.contains("rv=CKR_PIN_INCORRECT"), "{log}");
    assert!(!log.contains("wrong-pin-1234567"), "a PIN was logged");
    assert!(!log.contains("do not log"), "data was logged");
}
