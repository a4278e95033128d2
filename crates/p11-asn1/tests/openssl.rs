//! Interoperability with OpenSSL: keys, parameters, certificates and signatures the
//! `openssl` command makes decode right, and what we encode it accepts. The fixtures are
//! made at run time; without `openssl` on the PATH each test says so and checks nothing
//! else (`cargo xtask test` installs it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use p11_asn1::dh::X942DhParameters;
use p11_asn1::dsa::{self, DsaParameters};
use p11_asn1::ec::{self, curve_by_name, EcParameters, EcPrivateKey};
use p11_asn1::{pem, CertificateInfo, PrivateKey, PublicKey, RsaPublicKey};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch folder for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Option<Scratch> {
        if Command::new("openssl").arg("version").output().is_err() {
            println!("skipped: no `openssl` command to make fixtures with");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("p11-asn1-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Some(Scratch(dir))
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    /// Runs openssl in the folder; panics with its stderr when it fails.
    fn run(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.0)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn read(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.path(file)).unwrap()
    }

    fn write(&self, file: &str, bytes: &[u8]) {
        std::fs::write(self.path(file), bytes).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn der_from_pem(path: &Path) -> Vec<u8> {
    pem::decode(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .1
}

#[test]
fn rsa_keys_from_openssl_decode_and_ours_parse() {
    let Some(s) = Scratch::new("rsa") else { return };
    s.run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
        "-out",
        "key.pem",
    ]);
    s.run(&[
        "pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-outform", "DER", "-out", "key.der",
    ]);
    s.run(&[
        "pkey", "-in", "key.pem", "-pubout", "-outform", "DER", "-out", "spki.der",
    ]);
    s.run(&[
        "rsa",
        "-in",
        "key.pem",
        "-RSAPublicKey_out",
        "-outform",
        "DER",
        "-out",
        "pkcs1.der",
    ]);
    s.run(&[
        "rsa",
        "-in",
        "key.pem",
        "-traditional",
        "-outform",
        "DER",
        "-out",
        "pkcs1-private.der",
    ]);

    let PrivateKey::Rsa(private) = PrivateKey::from_pkcs8_der(&s.read("key.der")).unwrap() else {
        panic!("an RSA key");
    };
    assert_eq!(private.modulus.len(), 128);
    // PKCS #1 and SPKI, the two encodings of the same public key.
    let public = RsaPublicKey::from_der(&s.read("pkcs1.der")).unwrap();
    assert_eq!(public, private.public_key());
    assert_eq!(
        PublicKey::from_spki_der(&s.read("spki.der")).unwrap(),
        PublicKey::Rsa(public.clone())
    );
    assert_eq!(public.to_der().unwrap(), s.read("pkcs1.der"));
    assert_eq!(
        PublicKey::Rsa(public).to_spki_der().unwrap(),
        s.read("spki.der")
    );
    // PKCS #1 private and PKCS #8, byte for byte.
    assert_eq!(*private.to_der().unwrap(), s.read("pkcs1-private.der"));
    assert_eq!(
        *PrivateKey::Rsa(private).to_pkcs8_der().unwrap(),
        s.read("key.der")
    );
}

const OPENSSL_CURVES: &[&str] = &[
    "prime192v1",
    "secp224r1",
    "prime256v1",
    "secp384r1",
    "secp521r1",
    "secp256k1",
    "brainpoolP160r1",
    "brainpoolP192r1",
    "brainpoolP224r1",
    "brainpoolP256r1",
    "brainpoolP320r1",
    "brainpoolP384r1",
    "brainpoolP512r1",
];

#[test]
fn ec_keys_on_every_named_curve_openssl_knows() {
    let Some(s) = Scratch::new("ec") else { return };
    for name in OPENSSL_CURVES {
        s.run(&[
            "ecparam",
            "-name",
            name,
            "-outform",
            "DER",
            "-out",
            "params.der",
        ]);
        s.run(&[
            "ecparam", "-name", name, "-genkey", "-noout", "-outform", "DER", "-out", "key.der",
        ]);
        s.run(&[
            "ec", "-inform", "DER", "-in", "key.der", "-pubout", "-outform", "DER", "-out",
            "spki.der",
        ]);
        s.run(&[
            "pkcs8", "-topk8", "-nocrypt", "-inform", "DER", "-in", "key.der", "-outform", "DER",
            "-out", "p8.der",
        ]);

        let curve = curve_by_name(name).unwrap();
        let params = EcParameters::from_der(&s.read("params.der")).unwrap();
        assert_eq!(params.curve().unwrap(), curve, "{name}");
        assert_eq!(
            ec::encode_named_curve_parameters(name).unwrap(),
            s.read("params.der")
        );

        let private = EcPrivateKey::from_der(&s.read("key.der")).unwrap();
        assert_eq!(private.parameters.as_ref(), Some(&params), "{name}");
        assert_eq!(
            private.private_key.len(),
            curve.order_len,
            "{name}: scalar length"
        );
        assert_eq!(
            *private.to_der().unwrap(),
            s.read("key.der"),
            "{name}: ECPrivateKey"
        );

        let spki = PublicKey::from_spki_der(&s.read("spki.der")).unwrap();
        let PublicKey::Ec { parameters, point } = &spki else {
            panic!("{name}: an EC key")
        };
        assert_eq!(parameters, &params);
        assert_eq!(
            Some(point),
            private.public_key.as_ref(),
            "{name}: the same point"
        );
        assert_eq!(point.len(), 1 + 2 * curve.field_len, "{name}: uncompressed");
        assert_eq!(
            spki.to_spki_der().unwrap(),
            s.read("spki.der"),
            "{name}: SPKI"
        );

        let PrivateKey::Ec(from_p8) = PrivateKey::from_pkcs8_der(&s.read("p8.der")).unwrap() else {
            panic!("{name}: an EC key")
        };
        assert_eq!(from_p8.private_key, private.private_key);
        // What we encode, openssl reads.
        s.write("ours.der", &PrivateKey::Ec(private).to_pkcs8_der().unwrap());
        s.run(&["pkey", "-inform", "DER", "-in", "ours.der", "-noout"]);
        s.write("ours-spki.der", &spki.to_spki_der().unwrap());
        s.run(&[
            "pkey",
            "-pubin",
            "-inform",
            "DER",
            "-in",
            "ours-spki.der",
            "-noout",
        ]);
    }
}

#[test]
fn ed25519_keys() {
    let Some(s) = Scratch::new("ed25519") else {
        return;
    };
    s.run(&[
        "genpkey",
        "-algorithm",
        "ED25519",
        "-outform",
        "DER",
        "-out",
        "key.der",
    ]);
    s.run(&[
        "pkey", "-inform", "DER", "-in", "key.der", "-pubout", "-outform", "DER", "-out",
        "spki.der",
    ]);
    let private = PrivateKey::from_pkcs8_der(&s.read("key.der")).unwrap();
    assert!(matches!(&private, PrivateKey::Ed25519(seed) if seed.len() == 32));
    assert_eq!(*private.to_pkcs8_der().unwrap(), s.read("key.der"));
    let public = PublicKey::from_spki_der(&s.read("spki.der")).unwrap();
    assert!(matches!(&public, PublicKey::Ed25519(key) if key.len() == 32));
    assert_eq!(public.to_spki_der().unwrap(), s.read("spki.der"));
}

#[test]
fn dsa_parameters_keys_and_signatures() {
    let Some(s) = Scratch::new("dsa") else { return };
    s.run(&["dsaparam", "-out", "params.pem", "1024"]);
    s.run(&[
        "dsaparam",
        "-in",
        "params.pem",
        "-outform",
        "DER",
        "-out",
        "params.der",
    ]);
    s.run(&["gendsa", "-out", "key.pem", "params.pem"]);
    s.run(&["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"]);
    s.write("data", b"signed by openssl");
    s.run(&[
        "dgst", "-sha1", "-sign", "key.pem", "-out", "sig.der", "data",
    ]);

    let params = DsaParameters::from_der(&s.read("params.der")).unwrap();
    assert_eq!(params.p.len(), 128);
    assert!(
        matches!(params.q.len(), 20 | 28 | 32),
        "q of {} bytes",
        params.q.len()
    );
    assert_eq!(params.to_der().unwrap(), s.read("params.der"));
    let spki = PublicKey::from_spki_der(&der_from_pem(&s.path("pub.pem"))).unwrap();
    let PublicKey::Dsa { parameters, y } = &spki else {
        panic!("a DSA key")
    };
    assert_eq!(parameters.as_ref(), Some(&params));
    assert!(y.len() <= 128);
    assert_eq!(
        spki.to_spki_der().unwrap(),
        der_from_pem(&s.path("pub.pem"))
    );

    // OpenSSL's DER signature → PKCS #11 r||s → DER again, which openssl verifies.
    let raw = dsa::decode_dsa_signature(&s.read("sig.der"), params.q.len()).unwrap();
    assert_eq!(raw.len(), 2 * params.q.len());
    s.write("ours.der", &dsa::encode_dsa_signature(&raw).unwrap());
    s.run(&[
        "dgst",
        "-sha1",
        "-verify",
        "pub.pem",
        "-signature",
        "ours.der",
        "data",
    ]);
}

#[test]
fn ecdsa_signatures_convert_both_ways() {
    let Some(s) = Scratch::new("ecdsa") else {
        return;
    };
    s.write("data", b"signed by openssl");
    for name in ["prime256v1", "secp384r1", "secp521r1"] {
        s.run(&[
            "ecparam", "-name", name, "-genkey", "-noout", "-out", "key.pem",
        ]);
        s.run(&["ec", "-in", "key.pem", "-pubout", "-out", "pub.pem"]);
        let curve = curve_by_name(name).unwrap();
        for _ in 0..8 {
            s.run(&[
                "dgst", "-sha256", "-sign", "key.pem", "-out", "sig.der", "data",
            ]);
            let raw = ec::decode_ecdsa_signature(&s.read("sig.der"), curve).unwrap();
            assert_eq!(raw.len(), 2 * curve.order_len, "{name}: halves padded");
            let der = ec::encode_ecdsa_signature(&raw).unwrap();
            assert_eq!(der, s.read("sig.der"), "{name}: canonical DER");
            s.write("ours.der", &der);
            s.run(&[
                "dgst",
                "-sha256",
                "-verify",
                "pub.pem",
                "-signature",
                "ours.der",
                "data",
            ]);
        }
    }
}

#[test]
fn x942_dh_parameters_from_an_openssl_key() {
    let Some(s) = Scratch::new("dhx") else { return };
    s.run(&[
        "genpkey",
        "-genparam",
        "-algorithm",
        "DHX",
        "-pkeyopt",
        "dh_rfc5114:2",
        "-out",
        "params.pem",
    ]);
    s.run(&["genpkey", "-paramfile", "params.pem", "-out", "key.pem"]);
    s.run(&[
        "pkey", "-in", "key.pem", "-pubout", "-outform", "DER", "-out", "spki.der",
    ]);
    let spki = PublicKey::from_spki_der(&s.read("spki.der")).unwrap();
    let PublicKey::X942Dh { parameters, y } = &spki else {
        panic!("an X9.42 DH key")
    };
    assert_eq!(
        (parameters.prime.len(), parameters.subprime.len()),
        (256, 28),
        "RFC 5114 2048/224"
    );
    assert!(!y.is_empty());
    assert_eq!(spki.to_spki_der().unwrap(), s.read("spki.der"));
    let der = parameters.to_der().unwrap();
    assert_eq!(&X942DhParameters::from_der(&der).unwrap(), parameters);
}

#[test]
fn certificates_signed_with_rsa_dsa_ecdsa_and_ed25519() {
    let Some(s) = Scratch::new("x509") else {
        return;
    };
    s.run(&["dsaparam", "-out", "dsa-params.pem", "1024"]);
    let keys: [(&str, &[&str]); 4] = [
        (
            "rsa",
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:1024",
                "-out",
                "rsa.pem",
            ],
        ),
        ("dsa", &["gendsa", "-out", "dsa.pem", "dsa-params.pem"]),
        (
            "ec",
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "ec.pem",
            ],
        ),
        (
            "ed25519",
            &["genpkey", "-algorithm", "ED25519", "-out", "ed25519.pem"],
        ),
    ];
    for (name, keygen) in keys {
        s.run(keygen);
        let key = format!("{name}.pem");
        s.run(&[
            "req",
            "-x509",
            "-new",
            "-key",
            &key,
            "-subj",
            &format!("/CN=p11 {name} test/O=p11"),
            "-days",
            "30",
            "-set_serial",
            "0x00a1b2c3d4",
            "-outform",
            "DER",
            "-out",
            "cert.der",
        ]);
        s.run(&[
            "pkey", "-in", &key, "-pubout", "-outform", "DER", "-out", "spki.der",
        ]);
        s.run(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            "cert.der",
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253",
            "-out",
            "subject.txt",
        ]);

        let info = CertificateInfo::from_der(&s.read("cert.der")).unwrap();
        assert_eq!(info.value, s.read("cert.der"));
        assert_eq!(info.subject, info.issuer, "{name}: self-signed");
        assert_eq!(
            info.serial_number,
            [0x02, 0x05, 0x00, 0xa1, 0xb2, 0xc3, 0xd4],
            "{name}: DER INTEGER"
        );
        assert_eq!(info.subject_public_key_info, s.read("spki.der"), "{name}");
        assert!(info.not_before < info.not_after);
        assert!(
            info.not_before.year >= 2024,
            "{name}: {:?}",
            info.not_before
        );
        let ski = info
            .subject_key_identifier
            .as_ref()
            .expect("openssl adds a subject key id");
        assert_eq!(ski.len(), 20);
        assert_eq!(
            info.authority_key_identifier.as_ref(),
            Some(ski),
            "{name}: self-signed"
        );
        // The subject's DER contains the common name we gave.
        let cn = format!("p11 {name} test");
        assert!(
            info.subject.windows(cn.len()).any(|w| w == cn.as_bytes()),
            "{name}"
        );
        let public = info.public_key().unwrap();
        assert_eq!(
            public,
            PublicKey::from_spki_der(&s.read("spki.der")).unwrap(),
            "{name}"
        );
        // PEM both ways.
        let text = pem::encode("CERTIFICATE", &info.value).unwrap();
        s.write("cert.pem", text.as_bytes());
        s.run(&["x509", "-in", "cert.pem", "-noout"]);
    }
}

#[test]
fn pkcs3_dh_parameters_from_an_openssl_key() {
    let Some(s) = Scratch::new("dh") else { return };
    s.run(&[
        "genpkey",
        "-genparam",
        "-algorithm",
        "DH",
        "-pkeyopt",
        "group:modp_2048",
        "-out",
        "params.pem",
    ]);
    s.run(&["genpkey", "-paramfile", "params.pem", "-out", "key.pem"]);
    s.run(&[
        "pkey", "-in", "key.pem", "-pubout", "-outform", "DER", "-out", "spki.der",
    ]);
    let spki = PublicKey::from_spki_der(&s.read("spki.der")).unwrap();
    let PublicKey::Dh { parameters, y } = &spki else {
        panic!("a PKCS #3 DH key")
    };
    assert_eq!(parameters.prime.len(), 256);
    assert_eq!(parameters.base, [2]);
    assert!(!y.is_empty() && y.len() <= 256);
    assert_eq!(spki.to_spki_der().unwrap(), s.read("spki.der"));
    // The parameters alone, and the public value alone, as DER.
    let der = parameters.to_der().unwrap();
    assert_eq!(
        &p11_asn1::dh::DhParameters::from_der(&der).unwrap(),
        parameters
    );
    assert_eq!(
        &p11_asn1::dh::decode_public_value(&p11_asn1::dh::encode_public_value(y).unwrap()).unwrap(),
        y
    );
}
