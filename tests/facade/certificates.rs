//! Certificates and requests signed by token keys (`p11::rcgen`), checked by OpenSSL: a
//! CSR passes `openssl req -verify`, a self-signed certificate is read by `openssl x509`
//! and verifies against itself, and a CA whose key is on the token issues a certificate
//! for another token key that `openssl verify -CAfile` accepts.

use crate::defaults::session;
use p11::rcgen::{rcgen, TokenKeyPair};
use p11::{KeyType, MechanismType as M};
use std::path::{Path, PathBuf};
use std::process::Command;

/// OpenSSL's answer to `args`: its exit status and what it printed (both streams).
fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn write(dir: &Path, name: &str, pem: &str) -> String {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    path.to_string_lossy().into_owned()
}

/// Parameters for a certificate on `key` for `name` (its common name, and its DNS
/// name unless it is a CA's), its serial drawn from the token.
fn params(key: &TokenKeyPair, name: &str) -> rcgen::CertificateParams {
    let names = if name.ends_with(" CA") {
        vec![]
    } else {
        vec![name.to_owned()]
    };
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.serial_number = Some(key.random_serial().unwrap());
    params
}

#[test]
fn csrs_and_certificates_from_token_keys_pass_openssl() {
    let f = session();
    if Command::new("openssl").arg("version").output().is_err() {
        println!("skipped: no `openssl` command");
        return;
    }
    let dir = std::env::temp_dir().join(format!("p11-rcgen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kinds = [
        (
            "P-256",
            KeyType::EC,
            256,
            M::ECDSA_SHA256,
            "ecdsa-with-SHA256",
        ),
        (
            "P-384",
            KeyType::EC,
            384,
            M::ECDSA_SHA384,
            "ecdsa-with-SHA384",
        ),
        (
            "RSA",
            KeyType::RSA,
            2048,
            M::SHA256_RSA_PKCS,
            "sha256WithRSAEncryption",
        ),
        ("Ed25519", KeyType::EC_EDWARDS, 255, M::EDDSA, "ED25519"),
    ];
    let mut checked = 0;
    for (name, key_type, bits, mechanism, algorithm) in kinds {
        // The mechanism or the raw one p11 composes it from.
        let raw = match mechanism {
            M::ECDSA_SHA256 | M::ECDSA_SHA384 => M::ECDSA,
            M::SHA256_RSA_PKCS => M::RSA_PKCS,
            other => other,
        };
        if !p11_tests::offers(&f.session, &[raw]) {
            println!("{name}: skipped, the token has no {raw}");
            continue;
        }
        let (public, private) = f
            .session
            .generate_keypair(key_type, bits, &f.options())
            .unwrap();
        let key = TokenKeyPair::new(private, &public).unwrap();

        // A request carries no serial number (rcgen refuses one): the CA chooses it.
        let request = rcgen::CertificateParams::new(vec!["csr.example".to_owned()]).unwrap();
        let csr = request.serialize_request(&key).unwrap();
        let csr = write(&dir, &format!("{name}.csr"), &csr.pem().unwrap());
        let (ok, text) = openssl(&["req", "-in", &csr, "-noout", "-verify", "-text"]);
        assert!(ok && text.contains("verify OK"), "{name} CSR: {text}");
        assert!(text.contains("csr.example"), "{name} CSR names: {text}");

        let own = params(&key, "self.example").self_signed(&key).unwrap();
        let own = write(&dir, &format!("{name}-self.pem"), &own.pem());
        let (ok, text) = openssl(&["x509", "-in", &own, "-noout", "-text"]);
        assert!(ok && text.contains(algorithm), "{name} certificate: {text}");
        let (ok, text) = openssl(&["verify", "-CAfile", &own, &own]);
        assert!(ok && text.contains(": OK"), "{name} self-signed: {text}");
        checked += 1;
    }
    if checked == 0 {
        println!("skipped: the token signs with none of ECDSA, RSA PKCS #1 v1.5, EdDSA");
        return;
    }

    // A CA on the token issues a certificate for another token key.
    if !p11_tests::offers(&f.session, &[M::ECDSA]) {
        return;
    }
    let pair = || {
        let (public, private) = f
            .session
            .generate_keypair(KeyType::EC, 256, &f.options())
            .unwrap();
        TokenKeyPair::new(private, &public).unwrap()
    };
    let ca_key = pair();
    let mut ca = params(&ca_key, "p11 test CA");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).unwrap();
    let leaf_key = pair();
    let leaf = params(&leaf_key, "leaf.example")
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let ca_pem = write(&dir, "ca.pem", &ca.pem());
    let leaf_pem = write(&dir, "leaf.pem", &leaf.pem());
    let (ok, text) = openssl(&["verify", "-CAfile", &ca_pem, &leaf_pem]);
    assert!(ok && text.contains("leaf.pem: OK"), "issued: {text}");
    // Another CA's certificate, of the same name, does not verify it: the check can fail.
    let other_key = pair();
    let mut other = params(&other_key, "p11 test CA");
    other.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other = rcgen::CertifiedIssuer::self_signed(other, other_key).unwrap();
    let other_pem = write(&dir, "other.pem", &other.pem());
    let (ok, text) = openssl(&["verify", "-CAfile", &other_pem, &leaf_pem]);
    assert!(!ok, "verified by a CA that did not issue it: {text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
