//! util conversions checked against an independent implementation: the `openssl`
//! command. Keys made in the token are used outside it, and keys and certificates made
//! outside are used in it.

use p11::asn1::{dsa, ec, pem, CertificateInfo, PublicKey as Asn1PublicKey};
use p11::{
    AttributeType as A, Decrypt, Derive, Key, KeyType, Mechanism, MechanismType as M, Sign,
    Template, Verify,
};
use std::path::PathBuf;
use std::process::Command;

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Option<Scratch> {
        if Command::new("openssl").arg("version").output().is_err() {
            println!("skipped: no `openssl` command");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("p11-facade-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Some(Scratch(dir))
    }

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
        std::fs::read(self.0.join(file)).unwrap()
    }

    fn write(&self, file: &str, bytes: &[u8]) {
        std::fs::write(self.0.join(file), bytes).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn token_signatures_verify_outside_and_outside_encryption_decrypts_inside() {
    let Some(s) = Scratch::new("export") else {
        return;
    };
    let f = crate::defaults::session();
    if !p11_tests::offers(
        &f.session,
        &[M::RSA_PKCS_KEY_PAIR_GEN, M::RSA_PKCS, M::RSA_PKCS_OAEP],
    ) {
        return;
    }
    let (public, private) = f
        .session
        .generate_keypair(KeyType::RSA, 2048, &f.options())
        .unwrap();
    s.write("rsa.pem", public.to_pem().unwrap().as_bytes());
    s.write("data", b"made in the token");
    let signature = private
        .with_mechanism(Mechanism::new(M::SHA256_RSA_PKCS))
        .sign(b"made in the token")
        .unwrap();
    s.write("rsa.sig", &signature);
    s.run(&[
        "dgst",
        "-sha256",
        "-verify",
        "rsa.pem",
        "-signature",
        "rsa.sig",
        "data",
    ]);
    // openssl encrypts with the exported key (OAEP, SHA-1: the default both sides).
    s.run(&[
        "pkeyutl",
        "-encrypt",
        "-pubin",
        "-inkey",
        "rsa.pem",
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-in",
        "data",
        "-out",
        "ct",
    ]);
    assert_eq!(
        private.decrypt(&s.read("ct")).unwrap(),
        b"made in the token"
    );

    if !p11_tests::offers(&f.session, &[M::EC_KEY_PAIR_GEN, M::ECDSA]) {
        return;
    }
    let (public, private) = f
        .session
        .generate_keypair(KeyType::EC, 256, &f.options())
        .unwrap();
    s.write("ec.pem", public.to_pem().unwrap().as_bytes());
    let raw = private
        .with_mechanism(Mechanism::new(M::ECDSA_SHA256))
        .sign(b"made in the token")
        .unwrap();
    s.write("ec.sig", &ec::encode_ecdsa_signature(&raw).unwrap());
    s.run(&[
        "dgst",
        "-sha256",
        "-verify",
        "ec.pem",
        "-signature",
        "ec.sig",
        "data",
    ]);

    if !p11_tests::offers(&f.session, &[M::EC_EDWARDS_KEY_PAIR_GEN, M::EDDSA]) {
        return;
    }
    let (public, private) = f
        .session
        .generate_keypair(KeyType::EC_EDWARDS, 255, &f.options())
        .unwrap();
    s.write("ed.pem", public.to_pem().unwrap().as_bytes());
    s.write("ed.sig", &private.sign(b"made in the token").unwrap());
    s.run(&[
        "pkeyutl", "-verify", "-pubin", "-inkey", "ed.pem", "-rawin", "-in", "data", "-sigfile",
        "ed.sig",
    ]);
}

#[test]
fn external_keys_imported_with_util_verify_signatures_made_outside() {
    let Some(s) = Scratch::new("import") else {
        return;
    };
    let f = crate::defaults::session();
    s.write("data", b"made outside");
    s.run(&["dsaparam", "-out", "dsa-params.pem", "2048"]);
    let keys: [(&str, &[&str], M); 3] = [
        (
            "rsa",
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "rsa.pem",
            ],
            M::SHA256_RSA_PKCS,
        ),
        (
            "ec",
            &[
                "ecparam",
                "-name",
                "secp384r1",
                "-genkey",
                "-noout",
                "-out",
                "ec.pem",
            ],
            M::ECDSA_SHA256,
        ),
        (
            "dsa",
            &["gendsa", "-out", "dsa.pem", "dsa-params.pem"],
            M::DSA_SHA256,
        ),
    ];
    for (name, keygen, mechanism) in keys {
        if !p11_tests::offers(&f.session, &[mechanism]) {
            continue;
        }
        s.run(keygen);
        let key = format!("{name}.pem");
        s.run(&[
            "pkey", "-in", &key, "-pubout", "-outform", "DER", "-out", "spki.der",
        ]);
        s.run(&["dgst", "-sha256", "-sign", &key, "-out", "sig", "data"]);
        let public = f
            .session
            .import_public_key(&s.read("spki.der"), &f.options())
            .unwrap();
        let signature = match name {
            "rsa" => s.read("sig"),
            "ec" => ec::decode_ecdsa_signature(&s.read("sig"), ec::curve_by_name("P-384").unwrap())
                .unwrap(),
            _ => {
                let Asn1PublicKey::Dsa {
                    parameters: Some(p),
                    ..
                } = Asn1PublicKey::from_spki_der(&s.read("spki.der")).unwrap()
                else {
                    panic!("a DSA key with parameters")
                };
                dsa::decode_dsa_signature(&s.read("sig"), p.q.len()).unwrap()
            }
        };
        let mechanism = Mechanism::new(mechanism);
        assert!(
            public
                .with_mechanism(&mechanism)
                .verify(b"made outside", &signature)
                .unwrap(),
            "{name}"
        );
        assert!(
            !public
                .with_mechanism(&mechanism)
                .verify(b"made inside", &signature)
                .unwrap(),
            "{name}"
        );
        assert_eq!(
            public.to_spki_der().unwrap(),
            s.read("spki.der"),
            "{name}: exported as imported"
        );
    }
}

#[test]
fn ecdh_with_an_outside_party_gives_both_the_same_secret() {
    let Some(s) = Scratch::new("ecdh") else {
        return;
    };
    let f = crate::defaults::session();
    if !p11_tests::offers(&f.session, &[M::EC_KEY_PAIR_GEN, M::ECDH1_DERIVE]) {
        return;
    }
    let (public, private) = f
        .session
        .generate_keypair(KeyType::EC, 256, &f.options())
        .unwrap();
    s.write("token.pem", public.to_pem().unwrap().as_bytes());
    s.run(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "peer.pem",
    ]);
    s.run(&[
        "pkey", "-in", "peer.pem", "-pubout", "-outform", "DER", "-out", "peer.der",
    ]);
    s.run(&[
        "pkeyutl",
        "-derive",
        "-inkey",
        "peer.pem",
        "-peerkey",
        "token.pem",
        "-out",
        "secret",
    ]);
    let Asn1PublicKey::Ec { point, .. } =
        Asn1PublicKey::from_spki_der(&s.read("peer.der")).unwrap()
    else {
        panic!("an EC key")
    };
    let readable = f.options().template(
        Template::new()
            .with(A::SENSITIVE, false)
            .with(A::EXTRACTABLE, true),
    );
    let derived = private
        .with_param(p11::mechanisms::Ecdh1DeriveParams::new(&point))
        .derive_key(KeyType::GENERIC_SECRET, 256, &readable)
        .unwrap();
    assert_eq!(derived.get::<Vec<u8>>(A::VALUE).unwrap(), s.read("secret"));
}

#[test]
fn certificates_signed_with_rsa_dsa_and_ecdsa_verify_in_the_token() {
    let Some(s) = Scratch::new("x509") else {
        return;
    };
    let f = crate::defaults::session();
    s.run(&["dsaparam", "-out", "dsa-params.pem", "2048"]);
    let issuers: [(&str, &[&str]); 3] = [
        (
            "rsa",
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
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
    ];
    for (name, keygen) in issuers {
        if name == "dsa" && !p11_tests::offers(&f.session, &[M::DSA_SHA256]) {
            continue;
        }
        s.run(keygen);
        let key = format!("{name}.pem");
        s.run(&[
            "req",
            "-x509",
            "-new",
            "-sha256",
            "-key",
            &key,
            "-subj",
            &format!("/CN={name} CA"),
            "-days",
            "10",
            "-outform",
            "DER",
            "-out",
            "ca.der",
        ]);
        let ca = CertificateInfo::from_der(&s.read("ca.der")).unwrap();
        // The certificate object util makes.
        let certificate = f
            .session
            .import_certificate(&ca.value, &f.options().label(name))
            .unwrap();
        assert_eq!(certificate.get::<Vec<u8>>(A::SUBJECT).unwrap(), ca.subject);
        assert_eq!(
            certificate.get::<Vec<u8>>(A::SERIAL_NUMBER).unwrap(),
            ca.serial_number
        );
        assert_eq!(certificate.info().unwrap(), ca);
        // python's default leaves the dates out (what p11 sends: a module may add them
        // from the certificate itself, as p11-kit's trust store does); the extended set
        // has them and the key identifiers.
        let basic =
            p11::util::certificate_template(&ca.value, p11::util::CertificateAttributes::Basic)
                .unwrap();
        assert!(basic.get(A::START_DATE).is_none() && basic.get(A::END_DATE).is_none());
        let extended =
            p11::util::certificate_template(&ca.value, p11::util::CertificateAttributes::Extended)
                .unwrap()
                .with(A::TOKEN, false);
        let full = f.session.create_object(&extended).unwrap();
        let ski = ca
            .subject_key_identifier
            .clone()
            .expect("openssl adds a SKI");
        assert_eq!(
            full.get::<Vec<u8>>(A::HASH_OF_SUBJECT_PUBLIC_KEY).unwrap(),
            ski
        );
        assert!(matches!(
            full.get::<p11::AttributeValue>(A::START_DATE).unwrap(),
            p11::AttributeValue::Date(Some(_))
        ));
        let by_subject = Template::new().with(A::SUBJECT, ca.subject.clone());
        let found = f.session.get_certificates(&by_subject).unwrap();
        assert!(found.contains(&certificate), "{name}: found by subject");
        // The issuer's public key, taken from its certificate, verifies the signature.
        if !p11_tests::keeps_secret_keys(&f.session) {
            continue;
        }
        let issuer_key = f
            .session
            .import_public_key(&ca.subject_public_key_info, &f.options())
            .unwrap();
        let (mechanism, signature) = match ca.signature_algorithm.as_slice() {
            [1, 2, 840, 113549, 1, 1, 11] => (M::SHA256_RSA_PKCS, ca.signature.clone()),
            [1, 2, 840, 10045, 4, 3, 2] => (
                M::ECDSA_SHA256,
                ec::decode_ecdsa_signature(&ca.signature, ec::curve_by_name("P-256").unwrap())
                    .unwrap(),
            ),
            [2, 16, 840, 1, 101, 3, 4, 3, 2] => {
                let Ok(Asn1PublicKey::Dsa {
                    parameters: Some(p),
                    ..
                }) = ca.public_key()
                else {
                    panic!("DSA")
                };
                (
                    M::DSA_SHA256,
                    dsa::decode_dsa_signature(&ca.signature, p.q.len()).unwrap(),
                )
            }
            other => panic!("{name}: unexpected signature algorithm {other:?}"),
        };
        assert!(
            issuer_key
                .with_mechanism(Mechanism::new(mechanism))
                .verify(&ca.tbs_certificate, &signature)
                .unwrap(),
            "{name}: the certificate's signature verifies in the token"
        );
        assert_eq!(
            pem::decode(&pem::encode("CERTIFICATE", &ca.value).unwrap())
                .unwrap()
                .1,
            ca.value
        );
    }
}

#[test]
fn private_keys_made_outside_sign_inside_and_openssl_verifies() {
    let Some(s) = Scratch::new("private") else {
        return;
    };
    let f = crate::defaults::session();
    s.write("data", b"signed in the token with an imported key");
    // Each key: its name, how openssl makes it, the mechanism it signs with here (None:
    // the default), and what the token needs for that.
    let keys: [(&str, &[&str], Option<M>, M); 3] = [
        (
            "rsa",
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "rsa.pem",
            ],
            Some(M::SHA256_RSA_PKCS),
            M::RSA_PKCS,
        ),
        (
            "ec",
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "ec.pem",
            ],
            Some(M::ECDSA_SHA256),
            M::ECDSA,
        ),
        (
            "ed25519",
            &["genpkey", "-algorithm", "ED25519", "-out", "ed25519.pem"],
            None,
            M::EDDSA,
        ),
    ];
    for (name, keygen, mechanism, needs) in keys {
        if !p11_tests::offers(&f.session, &[needs]) {
            continue;
        }
        s.run(keygen);
        let key = format!("{name}.pem");
        s.run(&[
            "pkcs8", "-topk8", "-nocrypt", "-in", &key, "-outform", "DER", "-out", "key.der",
        ]);
        s.run(&["pkey", "-in", &key, "-pubout", "-out", "pub.pem"]);
        let private = f
            .session
            .import_private_key(&s.read("key.der"), &f.options())
            .unwrap();
        assert!(private.get::<bool>(A::SENSITIVE).unwrap(), "{name}");
        let data = b"signed in the token with an imported key";
        match mechanism {
            Some(mechanism) => {
                let mut signature = private
                    .with_mechanism(Mechanism::new(mechanism))
                    .sign(data)
                    .unwrap();
                if name == "ec" {
                    signature = ec::encode_ecdsa_signature(&signature).unwrap();
                }
                s.write("sig", &signature);
                s.run(&[
                    "dgst",
                    "-sha256",
                    "-verify",
                    "pub.pem",
                    "-signature",
                    "sig",
                    "data",
                ]);
            }
            None => {
                s.write("sig", &private.sign(data).unwrap());
                s.run(&[
                    "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "data",
                    "-sigfile", "sig",
                ]);
            }
        }
    }
}

#[test]
fn domain_parameters_from_der_local_and_stored() {
    let Some(s) = Scratch::new("params") else {
        return;
    };
    let f = crate::defaults::session();
    if !p11_tests::offers(&f.session, &[M::DSA_KEY_PAIR_GEN]) {
        return;
    }
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
    let parameters = p11::asn1::dsa::DsaParameters::from_der(&s.read("params.der")).unwrap();
    let template = p11::util::dsa_parameters_template(&parameters);
    let local = f
        .session
        .local_domain_parameters(KeyType::DSA, template.clone());
    let stored = f
        .session
        .create_domain_parameters(KeyType::DSA, template, &f.options())
        .unwrap();
    assert!(stored.is_stored() && !local.is_stored());
    for (params, local) in [(local, true), (stored, false)] {
        assert_eq!(
            params
                .attributes()
                .unwrap()
                .get(A::PRIME)
                .unwrap()
                .as_bytes(),
            Some(&parameters.p[..])
        );
        let (public, private) = params.generate_keypair(&f.options()).unwrap();
        let signature = private.sign(b"data").unwrap();
        assert!(public.verify(b"data", &signature).unwrap(), "local {local}");
        assert_eq!(public.get::<Vec<u8>>(A::SUBPRIME).unwrap(), parameters.q);
    }
}

#[test]
fn key_templates_carry_the_capabilities_asked_for_or_the_defaults() {
    use p11::asn1::{PublicKey as Der, RsaPublicKey};
    use p11::Capabilities;
    let key = Der::Rsa(RsaPublicKey {
        modulus: vec![0xC1; 128],
        public_exponent: vec![1, 0, 1],
    });
    let only_verify = p11::util::decode_public_key(&key, Some(Capabilities::VERIFY)).unwrap();
    let flag = |t: &Template, ty| t.get(ty).and_then(|v| v.as_bool());
    assert_eq!(flag(&only_verify, A::VERIFY), Some(true));
    assert_eq!(flag(&only_verify, A::ENCRYPT), Some(false));
    assert_eq!(flag(&only_verify, A::WRAP), Some(false));
    let defaults = p11::util::decode_public_key(&key, None).unwrap();
    let rsa = p11::default_capabilities(KeyType::RSA).unwrap();
    assert_eq!(
        flag(&defaults, A::ENCRYPT),
        Some(rsa.contains(Capabilities::ENCRYPT))
    );
    assert_eq!(
        flag(&defaults, A::VERIFY),
        Some(rsa.contains(Capabilities::VERIFY))
    );
}

#[test]
fn a_uri_opens_the_library_token_and_session_and_finds_the_key() {
    use p11::{KeyQuery, Library, OpenOptions, SecretKey, Sign, TokenFilter, Uri};
    let f = crate::defaults::session();
    if !p11_tests::offers(&f.session, &[M::GENERIC_SECRET_KEY_GEN, M::SHA256_HMAC]) {
        return;
    }
    let label = p11_tests::unique_label("uri-key");
    let key = f
        .session
        .generate_key(
            KeyType::GENERIC_SECRET,
            256,
            &f.options().label(label.as_str()).id(b"u1".to_vec()),
        )
        .unwrap();
    // What the key says of itself, with the module and the PIN, from a file.
    let mut uri = key.uri().unwrap();
    uri.module_path = Some(f.env().module.clone());
    let pin_file = std::env::temp_dir().join(format!("{label}.pin"));
    std::fs::write(&pin_file, format!("{}\n", f.env().pin)).unwrap();
    uri.pin_source = Some(format!("file:{}", pin_file.display()));
    let uri: Uri = uri.to_string().parse().unwrap();

    let lib = Library::load_uri(&uri).unwrap();
    let token = lib.get_token(&TokenFilter::new().uri(&uri)).unwrap();
    let session = token.open(&OpenOptions::new().uri(&uri).unwrap()).unwrap();
    std::fs::remove_file(&pin_file).unwrap();
    let found: SecretKey = session.get_key(&KeyQuery::new().uri(&uri)).unwrap();
    assert_eq!(found.sign(b"m").unwrap(), key.sign(b"m").unwrap());

    // The URI's type is honoured: a secret key's URI asked for a private key is a
    // typed refusal, not another object.
    let err = session
        .get_key::<p11::PrivateKey>(&KeyQuery::new().uri(&uri))
        .unwrap_err();
    assert!(
        matches!(
            err,
            p11::Error::WrongClass {
                expected: p11::ObjectClass::PRIVATE_KEY,
                actual: p11::ObjectClass::SECRET_KEY
            }
        ),
        "{err:?}"
    );
    assert!(session
        .get_keys::<p11::PublicKey>(&KeyQuery::new().uri(&uri))
        .is_err());

    // Without `token=`: the initialised tokens are searched (SoftHSM keeps a free,
    // uninitialised one beside the test token), and where one is, it is found.
    let mut anywhere = uri.clone();
    anywhere.token = None;
    anywhere.serial = None;
    anywhere.manufacturer = None;
    anywhere.model = None;
    let initialised = lib
        .get_tokens(&TokenFilter::new())
        .unwrap()
        .into_iter()
        .filter(|t| {
            t.info()
                .unwrap()
                .flags
                .contains(p11::TokenFlags::TOKEN_INITIALIZED)
        })
        .count();
    match lib.get_token(&TokenFilter::new().uri(&anywhere)) {
        Ok(anywhere_token) => {
            assert_eq!(initialised, 1);
            assert_eq!(anywhere_token.label(), token.label());
            let found: SecretKey = session.get_key(&KeyQuery::new().uri(&anywhere)).unwrap();
            assert_eq!(found.sign(b"m").unwrap(), key.sign(b"m").unwrap());
        }
        Err(e) => {
            assert!(initialised > 1, "{e}");
            println!("{initialised} initialised tokens: a URI without token= names several");
        }
    }

    // By name, where the module under test is SoftHSM's.
    if f.env().module.ends_with("/libsofthsm2.so") {
        let by_name: Uri = "pkcs11:token=TEST?module-name=softhsm2".parse().unwrap();
        let lib = Library::load_uri(&by_name).unwrap();
        assert!(lib.info().unwrap().manufacturer_id.contains("SoftHSM"));
    }
    // A URI naming no module, or a PIN source p11 cannot read, is refused as such.
    let nowhere: Uri = "pkcs11:token=TEST".parse().unwrap();
    assert!(matches!(
        Library::load_uri(&nowhere),
        Err(p11::Error::ModuleNotFound { name: None, .. })
    ));
    // A name found nowhere: the error names a few of the folders searched, not all.
    let unknown: Uri = "pkcs11:token=TEST?module-name=no-such-module-p11"
        .parse()
        .unwrap();
    let err = Library::load_uri(&unknown).unwrap_err();
    let p11::Error::ModuleNotFound {
        name: Some(name),
        searched,
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(name, "no-such-module-p11");
    assert!(!searched.is_empty());
    let shown = err.to_string();
    let first: Vec<String> = searched
        .iter()
        .take(3)
        .map(|folder| folder.display().to_string())
        .collect();
    assert!(shown.contains(&first.join(", ")), "{shown}");
    if searched.len() > 3 {
        let more = format!(" and {} more", searched.len() - 3);
        assert!(shown.ends_with(&more), "{shown}");
    }
}

/// What a `pin-source` names, read as a URI gives it.
fn pin_source(source: &std::path::Path) -> p11::Result<p11::OpenOptions> {
    let uri: p11::Uri = format!("pkcs11:?pin-source=file:{}", source.display())
        .parse()
        .unwrap();
    p11::OpenOptions::new().uri(&uri)
}

#[test]
fn a_pin_source_is_a_short_regular_file_or_a_typed_refusal() {
    use p11::PinSourceProblem as Problem;
    let f = crate::defaults::session();
    let dir = std::env::temp_dir().join(format!("p11-pin-source-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A regular file: the PIN, without its trailing newline, opens the token.
    let file = dir.join("pin");
    std::fs::write(&file, format!("{}\n", f.env().pin)).unwrap();
    let token = p11::Library::load_with(&f.env().module, p11_tests::init_args(f.env()))
        .unwrap()
        .get_token(&p11::TokenFilter::new().label(&f.env().label))
        .unwrap();
    let options = pin_source(&file).unwrap();
    if token
        .info()
        .unwrap()
        .flags
        .contains(p11::TokenFlags::LOGIN_REQUIRED)
    {
        let session = token.open(&options).unwrap();
        assert!(session.login().is_some());
    } else {
        println!("the token takes no login: the PIN file is read, not tried");
    }
    let refused = |source: &std::path::Path| match pin_source(source) {
        Err(p11::Error::PinSource { problem, .. }) => problem,
        other => panic!("{}: {other:?}", source.display()),
    };
    // No local file.
    let elsewhere: p11::Uri = "pkcs11:?pin-source=https://example.org/pin"
        .parse()
        .unwrap();
    assert!(matches!(
        p11::OpenOptions::new().uri(&elsewhere),
        Err(p11::Error::PinSource {
            problem: Problem::NotLocal,
            ..
        })
    ));
    // A device that never ends, a directory and a FIFO (no writer: opening it would
    // block) are refused before any read.
    for source in [std::path::Path::new("/dev/zero"), &dir] {
        assert!(
            matches!(refused(source), Problem::NotAFile),
            "{}",
            source.display()
        );
    }
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    assert!(matches!(refused(&fifo), Problem::NotAFile));
    // A file longer than any PIN, and one that is not there.
    let long = dir.join("long");
    std::fs::write(&long, vec![b'1'; p11::PIN_FILE_MAX + 1]).unwrap();
    assert!(matches!(
        refused(&long),
        Problem::TooLong {
            max: p11::PIN_FILE_MAX
        }
    ));
    std::fs::write(&long, vec![b'1'; p11::PIN_FILE_MAX]).unwrap();
    assert!(pin_source(&long).is_ok(), "the bound itself is a PIN");
    assert!(matches!(refused(&dir.join("none")), Problem::Unreadable(_)));
    std::fs::remove_dir_all(&dir).unwrap();
}
