//! No private-key bytes left in freed memory: a global allocator that scans every block
//! as it is freed for the secrets of the keys under test, while p11-asn1 encodes and
//! decodes them (PKCS #1, RFC 5915, PKCS #8) and the facade turns them into templates,
//! and while a URI's `pin-value` is decoded.
//! One test in the binary, so that nothing else allocates meanwhile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::undocumented_unsafe_blocks)] // the allocator forwards to System

use p11::asn1::ec::{EcParameters, EcPrivateKey};
use p11::asn1::{PrivateKey, RsaPrivateKey};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use zeroize::Zeroizing;

/// Patterns of 16 bytes to look for; set before arming.
const MAX_PATTERNS: usize = 16;
static mut PATTERNS: [[u8; 16]; MAX_PATTERNS] = [[0; 16]; MAX_PATTERNS];
static PATTERN_COUNT: AtomicUsize = AtomicUsize::new(0);
static ARMED: AtomicBool = AtomicBool::new(false);
static HITS: AtomicUsize = AtomicUsize::new(0);

struct Scanning;

unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) {
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            let count = PATTERN_COUNT.load(Ordering::SeqCst);
            // SAFETY of the read: PATTERNS is written only while disarmed.
            let patterns = unsafe { &*std::ptr::addr_of!(PATTERNS) };
            for pattern in &patterns[..count] {
                HITS.fetch_add(
                    block.windows(16).filter(|w| w == pattern).count(),
                    Ordering::SeqCst,
                );
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    /// Through alloc and dealloc, so that the block a growth leaves is scanned too.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Scanning = Scanning;

/// Secret bytes no real data contains: `seed` spread over `len` bytes, high bit clear
/// in the first so that DER adds no zero byte.
fn secret(seed: u8, len: usize) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(
        (0..len)
            .map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed) | 0x01)
            .map(|b| b & 0x7f)
            .collect(),
    )
}

/// Counts the patterns found in blocks freed while `f` runs.
fn hits_during(secrets: &[&[u8]], f: impl FnOnce()) -> usize {
    assert!(secrets.len() <= MAX_PATTERNS);
    for (i, s) in secrets.iter().enumerate() {
        // SAFETY: disarmed; only this thread touches the patterns.
        unsafe { (*std::ptr::addr_of_mut!(PATTERNS))[i].copy_from_slice(&s[..16]) };
    }
    PATTERN_COUNT.store(secrets.len(), Ordering::SeqCst);
    HITS.store(0, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    f();
    ARMED.store(false, Ordering::SeqCst);
    HITS.load(Ordering::SeqCst)
}

#[test]
fn encoding_decoding_and_importing_private_keys_leave_no_copies_in_freed_memory() {
    // The scanner sees an ordinary Vec's copy of a secret: it can find what it looks for.
    let scalar = secret(0x11, 32);
    let found = hits_during(&[&scalar], || drop(scalar.to_vec()));
    assert!(found >= 1, "the scanner missed a freed copy");

    // EC: ECPrivateKey and PKCS #8, both ways, then the facade's template.
    let ec = EcPrivateKey {
        private_key: scalar.clone(),
        parameters: Some(EcParameters::named("secp256r1").unwrap()),
        public_key: Some(vec![4; 65]),
    };
    let found = hits_during(&[&scalar], || {
        let der = ec.to_der().unwrap();
        let back = EcPrivateKey::from_der(&der).unwrap();
        let pkcs8 = PrivateKey::Ec(back).to_pkcs8_der().unwrap();
        let imported = PrivateKey::from_pkcs8_der(&pkcs8).unwrap();
        let template = p11::util::decode_private_key(&imported, None).unwrap();
        assert_eq!(
            template.get(p11::AttributeType::VALUE).unwrap().as_bytes(),
            Some(&scalar[..])
        );
    });
    assert_eq!(found, 0, "EC private key bytes left in freed memory");

    // RSA: every secret field.
    let fields: Vec<Zeroizing<Vec<u8>>> = (0..6).map(|i| secret(0x20 + i * 16, 128)).collect();
    let rsa = RsaPrivateKey {
        modulus: vec![0xC5; 256],
        public_exponent: vec![1, 0, 1],
        private_exponent: fields[0].clone(),
        prime_1: fields[1].clone(),
        prime_2: fields[2].clone(),
        exponent_1: fields[3].clone(),
        exponent_2: fields[4].clone(),
        coefficient: fields[5].clone(),
    };
    let patterns: Vec<&[u8]> = fields.iter().map(|f| &f[..]).collect();
    let found = hits_during(&patterns, || {
        let der = rsa.to_der().unwrap();
        let back = RsaPrivateKey::from_der(&der).unwrap();
        let pkcs8 = PrivateKey::Rsa(back).to_pkcs8_der().unwrap();
        let imported = PrivateKey::from_pkcs8_der(&pkcs8).unwrap();
        drop(p11::util::decode_private_key(&imported, None).unwrap());
    });
    assert_eq!(found, 0, "RSA private key bytes left in freed memory");

    // Ed25519 through PKCS #8.
    let seed = secret(0x70, 32);
    let ed = PrivateKey::Ed25519(seed.clone());
    let found = hits_during(&[&seed], || {
        let pkcs8 = ed.to_pkcs8_der().unwrap();
        let imported = PrivateKey::from_pkcs8_der(&pkcs8).unwrap();
        drop(p11::util::decode_private_key(&imported, None).unwrap());
    });
    assert_eq!(found, 0, "Ed25519 seed bytes left in freed memory");

    // A PIN in a URI (`pin-value`), percent-encoded so that only decoding makes its
    // bytes: parsed, and refused when it is not UTF-8.
    let pin = b"correct-horse-42";
    let encoded: String = pin.iter().map(|b| format!("%{b:02X}")).collect();
    let uri = format!("pkcs11:token=t?pin-value={encoded}");
    let not_utf8 = format!("pkcs11:token=t?pin-value={encoded}%FF");
    let found = hits_during(&[pin], || {
        let parsed: p11::Uri = uri.parse().unwrap();
        assert_eq!(
            parsed.pin_value.as_ref().map(|p| p.as_bytes()),
            Some(&pin[..])
        );
        drop(parsed);
        assert!(not_utf8.parse::<p11::Uri>().is_err());
    });
    assert_eq!(found, 0, "PIN bytes from a URI left in freed memory");
}
