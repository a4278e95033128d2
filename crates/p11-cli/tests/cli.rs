//! The `p11` command against real modules: the test token `cargo xtask test` makes
//! (PKCS11_MODULE, PKCS11_TOKEN_LABEL, PKCS11_TOKEN_PIN), NSS's softoken (PKCS11_NSS_*),
//! and a private SoftHSM token store for initialising tokens and PINs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

/// The test token's module, or why the test cannot run.
fn env(name: &str) -> Option<String> {
    let value = std::env::var(name).ok();
    if value.is_none() {
        println!("skipped: {name} is not set (run `cargo xtask test`)");
    }
    value
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos:x}", std::process::id())
}

/// One test at a time: `p11` processes of parallel tests on one SoftHSM token sometimes
/// find it unreadable while another writes it ("no token matches label"), SoftHSM's
/// own races (as the real-module suites, run one at a time).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static TOKEN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TOKEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn p11() -> Command {
    Command::cargo_bin("p11").unwrap()
}

/// Runs `p11 --json ARGS`, expecting success, and parses what it printed.
fn json(command: &mut Command, args: &[&str]) -> Value {
    let out = command.arg("--json").args(args).assert().success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

fn uris(objects: &Value) -> Vec<String> {
    objects
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["uri"].as_str().unwrap().to_owned())
        .collect()
}

/// Deletes every object labelled `label`.
fn delete_all(command: impl Fn() -> Command, label: &str) {
    let found = json(
        &mut command(),
        &["objects", &format!("pkcs11:object={label}")],
    );
    for uri in uris(&found) {
        command().args(["delete", &uri]).assert().success();
    }
}

/// Makes a key pair, signs a file, checks the signature and a tampered file's, exports
/// the public key as PEM and imports it again: on whatever token `command` points at.
fn sign_verify_export_import(command: impl Fn() -> Command, key_type: &str, bits: &str) {
    let dir = tempfile::tempdir().unwrap();
    let label = unique("cli-pair");
    let made = json(
        &mut command(),
        &[
            "keygen", "--type", key_type, "--bits", bits, "--label", &label,
        ],
    );
    let made = uris(&made);
    assert_eq!(made.len(), 2, "{made:?}");
    assert!(made.iter().any(|u| u.ends_with("type=private")), "{made:?}");

    let (message, signature) = (dir.path().join("message"), dir.path().join("signature"));
    std::fs::write(&message, b"signed from the command line").unwrap();
    let private = format!("pkcs11:object={label};type=private");
    command()
        .args(["sign", "--key", &private, "--in"])
        .arg(&message)
        .arg("--out")
        .arg(&signature)
        .assert()
        .success();
    let verify = |file: &Path| {
        command()
            .args(["verify", "--key", &label, "--in"])
            .arg(file)
            .arg("--signature")
            .arg(&signature)
            .assert()
    };
    verify(&message).success().stdout("signature valid\n");
    std::fs::write(&message, b"signed from the command line!").unwrap();
    verify(&message).code(1).stdout("signature INVALID\n");

    let pem = dir.path().join("public.pem");
    command()
        .args([
            "export",
            &format!("pkcs11:object={label};type=public"),
            "--out",
        ])
        .arg(&pem)
        .assert()
        .success();
    let text = std::fs::read_to_string(&pem).unwrap();
    assert!(text.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{text}");
    let imported = unique("cli-imported");
    let objects = json(
        &mut command(),
        &[
            "import",
            "--in",
            pem.to_str().unwrap(),
            "--label",
            &imported,
        ],
    );
    assert_eq!(objects[0]["class"], "CKO_PUBLIC_KEY", "{objects}");
    // The imported key exports to the same PEM.
    let again = command()
        .args(["export", &format!("pkcs11:object={imported}")])
        .assert()
        .success();
    assert_eq!(String::from_utf8_lossy(&again.get_output().stdout), text);

    delete_all(&command, &label);
    delete_all(&command, &imported);
    let left = json(
        &mut command(),
        &["objects", &format!("pkcs11:object={label}")],
    );
    assert_eq!(left, Value::Array(vec![]), "deleted objects are gone");
}

/// Files through an AES key: sealed (p11's authenticated format) and back, from files
/// and through pipes; every kind of tampering refused with no output written; the raw
/// CBC-PAD mode on asking, with its warning.
/// Whether the token `command` points at offers `mechanism` (a CKM_ name) for `operation`
/// (as `p11 mechanisms` names it); if not, says why what needs it is skipped.
fn offers(command: impl Fn() -> Command, mechanism: &str, operation: &str) -> bool {
    let mechanisms = json(&mut command(), &["mechanisms"]);
    let offered = mechanisms.as_array().unwrap().iter().any(|m| {
        m["name"] == mechanism
            && m["flags"]
                .as_str()
                .unwrap()
                .split('|')
                .any(|f| f == operation)
    });
    if !offered {
        println!("skipped on this token: it does not offer {mechanism} for {operation}");
    }
    offered
}

/// `test(command, key type)` for AES keys, and ChaCha20 keys where the token offers
/// ChaCha20-Poly1305.
fn with_each_sealing_key<C: Fn() -> Command + Copy>(command: C, test: fn(C, &str)) {
    test(command, "aes");
    if offers(command, "CKM_CHACHA20_POLY1305", "ENCRYPT") {
        test(command, "chacha20");
    }
}

/// Seals a file of four chunks with a new key of `key_type` (aes: AES-GCM, chacha20:
/// ChaCha20-Poly1305), opens it, through files and pipes; every kind of tampering is
/// refused with exit 3 and no output file; AES's raw CBC-PAD mode warns.
fn encrypt_decrypt(command: impl Fn() -> Command, key_type: &str) {
    const CHUNK: usize = 1 << 20;
    let mechanism_byte = match key_type {
        "aes" => 1,
        "chacha20" => 2,
        other => panic!("no sealing with {other} keys"),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let label = unique(&format!("cli-{key_type}"));
    let made = json(
        &mut command(),
        &[
            "keygen", "--type", key_type, "--bits", "256", "--label", &label,
        ],
    );
    assert_eq!(made[0]["size"], "256 bits", "{made}");
    let plain: Vec<u8> = (0..3 * CHUNK as u32 + 5).map(|i| (i % 253) as u8).collect();
    std::fs::write(path("plain"), &plain).unwrap();
    let run = |verb: &str, from: &Path, to: &Path| {
        command()
            .args([verb, "--key", &label, "--in"])
            .arg(from)
            .arg("--out")
            .arg(to)
            .assert()
    };
    run("encrypt", &path("plain"), &path("sealed")).success();
    let sealed = std::fs::read(path("sealed")).unwrap();
    assert!(sealed.starts_with(b"P11SEAL\0"));
    assert_eq!(sealed[8..10], [1, mechanism_byte], "version, mechanism");
    let header = 23 + usize::from(u16::from_be_bytes([sealed[21], sealed[22]]));
    assert_eq!(
        sealed.len(),
        header + plain.len() + 4 * 16,
        "four chunks, a tag each"
    );
    run("decrypt", &path("sealed"), &path("opened")).success();
    assert_eq!(std::fs::read(path("opened")).unwrap(), plain);

    // Through pipes: `-` for stdin and stdout.
    let piped = command()
        .args(["encrypt", "--key", &label, "--in", "-", "--out", "-"])
        .write_stdin(plain.clone())
        .assert()
        .success();
    let piped = piped.get_output().stdout.clone();
    let back = command()
        .args(["decrypt", "--key", &label, "--in", "-", "--out", "-"])
        .write_stdin(piped)
        .assert()
        .success();
    assert_eq!(back.get_output().stdout, plain);

    // Tampered files: refused, exit 3, and no output file at all.
    let chunk = |i: usize| header + i * (CHUNK + 16)..header + (i + 1) * (CHUNK + 16);
    let mut tampered: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut flipped = sealed.clone();
    flipped[chunk(2).start + 1000] ^= 0x01;
    tampered.push(("a flipped byte", flipped));
    tampered.push(("the last chunk dropped", sealed[..chunk(3).start].to_vec()));
    tampered.push(("cut mid-chunk", sealed[..chunk(1).start + 500].to_vec()));
    let mut reordered = sealed[..header].to_vec();
    reordered.extend_from_slice(&sealed[chunk(1)]);
    reordered.extend_from_slice(&sealed[chunk(0)]);
    reordered.extend_from_slice(&sealed[chunk(2).start..]);
    tampered.push(("two chunks swapped", reordered));
    let mut appended = sealed.clone();
    appended.extend_from_slice(&sealed[chunk(0)]);
    tampered.push(("a chunk appended", appended));
    let mut header_changed = sealed.clone();
    header_changed[header - 1] ^= 0x20;
    tampered.push(("the header changed", header_changed));
    tampered.push(("only the header", sealed[..header].to_vec()));
    for (what, bytes) in tampered {
        std::fs::write(path("tampered"), &bytes).unwrap();
        let refused = run("decrypt", &path("tampered"), &path("bad")).code(3);
        let said = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
        assert!(said.starts_with("error: "), "{what}: {said}");
        assert!(!path("bad").exists(), "{what}: an output was written");
        assert!(
            !path("bad.partial").exists(),
            "{what}: a partial output was left"
        );
    }

    // Naming the sealing AEAD as a raw mode is refused, with what to do instead.
    let aead = if key_type == "aes" {
        "aes_gcm"
    } else {
        "chacha20_poly1305"
    };
    let refused = command()
        .args(["encrypt", "--key", &label, "--mechanism", aead, "--in"])
        .arg(path("plain"))
        .arg("--out")
        .arg(path("raw-aead"))
        .assert()
        .code(3);
    let said = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(said.contains("leave out --mechanism"), "{said}");
    if key_type != "aes" {
        delete_all(&command, &label);
        return;
    }
    // The raw mode: CBC-PAD, the IV first; it warns that nothing checks the data.
    for (verb, from, to) in [
        ("encrypt", "plain", "raw"),
        ("decrypt", "raw", "raw-opened"),
    ] {
        let done = command()
            .args([verb, "--key", &label, "--mechanism", "aes_cbc_pad", "--in"])
            .arg(path(from))
            .arg("--out")
            .arg(path(to))
            .assert()
            .success();
        let said = String::from_utf8_lossy(&done.get_output().stderr).into_owned();
        assert!(said.contains("no integrity"), "{said}");
    }
    let raw = std::fs::read(path("raw")).unwrap();
    assert_eq!(raw.len(), 16 + (plain.len() / 16 + 1) * 16);
    assert_eq!(std::fs::read(path("raw-opened")).unwrap(), plain);
    delete_all(&command, &label);
}

#[test]
fn lists_the_module_its_tokens_and_mechanisms() {
    let _serial = serial();
    let (Some(_), Some(label)) = (env("PKCS11_MODULE"), env("PKCS11_TOKEN_LABEL")) else {
        return;
    };
    let info = json(&mut p11(), &["info"]);
    assert!(
        info["cryptoki_version"].as_str().unwrap().contains('.'),
        "{info}"
    );
    let tokens = json(&mut p11(), &["tokens"]);
    let ours = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == label.as_str())
        .unwrap_or_else(|| panic!("{label} is not among {tokens}"));
    let uri = ours["uri"].as_str().unwrap();
    assert!(uri.starts_with(&format!("pkcs11:token={label}")), "{uri}");
    // The token's URI names it as well as its label does.
    let mechanisms = json(&mut p11(), &["--token", uri, "mechanisms"]);
    let names: Vec<&str> = mechanisms
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"CKM_SHA256"), "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("CKM_")), "{names:?}");
    let slots = json(&mut p11(), &["slots"]);
    assert!(slots
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == ours["slot"]));
}

#[test]
fn signs_verifies_exports_and_imports_on_the_test_token() {
    let Some(_serial) = test_token() else {
        return;
    };
    sign_verify_export_import(p11, "ec", "256");
}

/// The test token in turn, when there is one (else why not, printed).
fn test_token() -> Option<std::sync::MutexGuard<'static, ()>> {
    let serial = serial();
    env("PKCS11_MODULE")?;
    Some(serial)
}

/// The test token in turn, when it and the `openssl` command are there (else why not,
/// printed).
fn token_and_openssl() -> Option<std::sync::MutexGuard<'static, ()>> {
    let serial = test_token()?;
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        println!("skipped: no `openssl` command");
        return None;
    }
    Some(serial)
}

/// `openssl` with `args`, expecting success; what it printed.
fn openssl(args: &[&str]) -> String {
    let out = std::process::Command::new("openssl")
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "openssl {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// `p11 sign --key KEY [--mechanism M] --in message --out signature` in `dir`, then
/// `openssl dgst DIGEST... -verify public -signature signature message`: it must say
/// "Verified OK".
fn openssl_verifies_p11(
    command: &impl Fn() -> Command,
    dir: &Path,
    key: &str,
    mechanism: Option<&str>,
    public: &str,
    digest: &[&str],
) {
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let (message, signature) = (path("message"), path("signature"));
    let mut sign = command();
    sign.args(["sign", "--key", key, "--in", &message, "--out", &signature]);
    if let Some(mechanism) = mechanism {
        sign.args(["--mechanism", mechanism]);
    }
    sign.assert().success();
    let mut args = vec!["dgst"];
    args.extend_from_slice(digest);
    args.extend(["-verify", public, "-signature", &signature, &message]);
    let verified = openssl(&args);
    assert!(
        verified.contains("Verified OK"),
        "{key} {mechanism:?}: {verified}"
    );
}

/// ECDSA signatures cross with OpenSSL both ways, in DER by default (and raw on asking):
/// OpenSSL verifies what `p11 sign` wrote, `p11 verify` accepts what OpenSSL signed.
#[test]
fn ecdsa_signatures_interoperate_with_openssl() {
    let Some(_serial) = token_and_openssl() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::write(path("message"), b"signed for openssl").unwrap();
    for (bits, curve) in [("256", "P-256"), ("384", "P-384")] {
        let label = unique("cli-openssl");
        json(
            &mut p11(),
            &["keygen", "--type", "ec", "--bits", bits, "--label", &label],
        );
        let public = format!("pkcs11:object={label};type=public");
        p11()
            .args(["export", &public, "--out", &path("public.pem")])
            .assert()
            .success();

        // p11 signs (ECDSA_SHA512, DER by default); OpenSSL verifies.
        openssl_verifies_p11(
            &p11,
            dir.path(),
            &label,
            None,
            &path("public.pem"),
            &["-sha512"],
        );
        std::fs::copy(path("signature"), path("p11.sig")).unwrap();
        // Raw on asking: r || s, twice the curve's size; p11 reads it back.
        p11()
            .args([
                "sign",
                "--key",
                &label,
                "--format",
                "raw",
                "--in",
                &path("message"),
            ])
            .args(["--out", &path("raw.sig")])
            .assert()
            .success();
        let size = if bits == "256" { 64 } else { 96 };
        assert_eq!(
            std::fs::read(path("raw.sig")).unwrap().len(),
            size,
            "{curve}"
        );
        // The signed data from standard input.
        p11()
            .args([
                "verify",
                "--key",
                &public,
                "--in",
                "-",
                "--signature",
                &path("p11.sig"),
            ])
            .write_stdin(std::fs::read(path("message")).unwrap())
            .assert()
            .success();
        for signature in ["p11.sig", "raw.sig"] {
            p11()
                .args(["verify", "--key", &public, "--in", &path("message")])
                .args(["--signature", &path(signature)])
                .assert()
                .success()
                .stdout("signature valid\n");
        }
        delete_all(p11, &label);

        // OpenSSL signs with its own key; p11 verifies with the public key imported.
        openssl(&[
            "ecparam",
            "-name",
            if bits == "256" {
                "prime256v1"
            } else {
                "secp384r1"
            },
            "-genkey",
            "-noout",
            "-out",
            &path("key.pem"),
        ]);
        openssl(&[
            "ec",
            "-in",
            &path("key.pem"),
            "-pubout",
            "-out",
            &path("openssl.pem"),
        ]);
        openssl(&[
            "dgst",
            "-sha512",
            "-sign",
            &path("key.pem"),
            "-out",
            &path("openssl.sig"),
            &path("message"),
        ]);
        let imported = unique("cli-openssl-key");
        json(
            &mut p11(),
            &["import", "--in", &path("openssl.pem"), "--label", &imported],
        );
        p11()
            .args(["verify", "--key", &imported, "--in", &path("message")])
            .args(["--signature", &path("openssl.sig")])
            .assert()
            .success()
            .stdout("signature valid\n");
        // The same signature over other data does not verify: the check can fail.
        std::fs::write(path("other"), b"not what openssl signed").unwrap();
        p11()
            .args(["verify", "--key", &imported, "--in", &path("other")])
            .args(["--signature", &path("openssl.sig")])
            .assert()
            .code(1)
            .stdout("signature INVALID\n");
        delete_all(p11, &imported);
    }
}

/// `random` draws from the token (different each time, bounded by the command line);
/// `hash` digests a file on the token as `sha256sum` does, from a file or stdin.
#[test]
fn draws_random_bytes_and_hashes_files_on_the_token() {
    let Some(_serial) = test_token() else {
        return;
    };
    let draw = || {
        json(&mut p11(), &["random", "--bytes", "32"])["random"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (first, second) = (draw(), draw());
    assert_eq!(first.len(), 64, "{first}");
    assert_ne!(first, second, "two draws alike");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("random");
    p11()
        .args(["random", "--bytes", "1000", "--out"])
        .arg(&file)
        .assert()
        .success();
    assert_eq!(std::fs::read(&file).unwrap().len(), 1000);
    p11().args(["random", "--bytes", "0"]).assert().code(2);
    p11()
        .args(["random", "--bytes", "2000000"])
        .assert()
        .code(2);

    // 3 MiB and a bit: several parts.
    let data: Vec<u8> = (0..3 * 1024 * 1024 + 7).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let expected = |algorithm: &str| {
        let out = std::process::Command::new("openssl")
            .args(["dgst", algorithm, "-r"])
            .arg(&file)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    let hashed = json(&mut p11(), &["hash", "--in", file.to_str().unwrap()]);
    assert_eq!(hashed["digest"], expected("-sha256").as_str(), "{hashed}");
    let hashed = json(
        &mut p11(),
        &[
            "hash",
            "--mechanism",
            "sha512",
            "--in",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(hashed["digest"], expected("-sha512").as_str(), "{hashed}");
    let piped = p11()
        .args(["hash", "--in", "-"])
        .write_stdin(data)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&piped.get_output().stdout).into_owned();
    assert_eq!(text, format!("{}  -\n", expected("-sha256")));
}

/// Key pairs by curve name: the public key OpenSSL reads back is on that curve.
#[test]
fn makes_key_pairs_by_curve_name() {
    let Some(_serial) = test_token() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("public.pem");
    for (curve, openssl_says) in [
        ("P-256", "prime256v1"),
        ("secp256k1", "secp256k1"),
        ("P-521", "secp521r1"),
        ("Ed25519", "ED25519"),
    ] {
        let label = unique("cli-curve");
        let made = json(&mut p11(), &["keygen", "--curve", curve, "--label", &label]);
        assert_eq!(uris(&made).len(), 2, "{curve}: {made}");
        p11()
            .args([
                "export",
                &format!("pkcs11:object={label};type=public"),
                "--out",
            ])
            .arg(&pem)
            .assert()
            .success();
        let text = openssl(&[
            "pkey",
            "-pubin",
            "-in",
            pem.to_str().unwrap(),
            "-noout",
            "-text",
        ]);
        assert!(text.contains(openssl_says), "{curve}: {text}");
        delete_all(p11, &label);
    }
    let refused = p11()
        .args(["keygen", "--curve", "P-999", "--label", "none"])
        .assert()
        .failure();
    let said = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(said.contains("no curve called"), "{said}");
    // A curve and a size together: a usage error.
    p11()
        .args([
            "keygen", "--curve", "P-256", "--bits", "256", "--label", "none",
        ])
        .assert()
        .code(2);
}

/// OpenSSL's traditional private keys — SEC 1 `EC PRIVATE KEY` and PKCS #1 `RSA PRIVATE
/// KEY`, PEM and DER — import, and sign what OpenSSL verifies with its own public half.
#[test]
fn imports_sec1_and_pkcs1_keys_that_sign_what_openssl_verifies() {
    let Some(_serial) = token_and_openssl() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::write(path("message"), b"signed by an imported key").unwrap();
    openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        &path("ec.pem"),
    ]);
    openssl(&[
        "ec",
        "-in",
        &path("ec.pem"),
        "-outform",
        "DER",
        "-out",
        &path("ec.der"),
    ]);
    openssl(&[
        "ec",
        "-in",
        &path("ec.pem"),
        "-pubout",
        "-out",
        &path("ec.pub"),
    ]);
    openssl(&["genrsa", "-traditional", "-out", &path("rsa.pem"), "2048"]);
    openssl(&[
        "rsa",
        "-in",
        &path("rsa.pem"),
        "-traditional",
        "-outform",
        "DER",
        "-out",
        &path("rsa.der"),
    ]);
    openssl(&[
        "rsa",
        "-in",
        &path("rsa.pem"),
        "-pubout",
        "-out",
        &path("rsa.pub"),
    ]);
    assert!(std::fs::read_to_string(path("ec.pem"))
        .unwrap()
        .contains("BEGIN EC PRIVATE KEY"));
    assert!(std::fs::read_to_string(path("rsa.pem"))
        .unwrap()
        .contains("BEGIN RSA PRIVATE KEY"));
    for (file, kind, public) in [
        ("ec.pem", None, "ec.pub"),
        ("ec.der", Some("sec1"), "ec.pub"),
        ("rsa.pem", None, "rsa.pub"),
        ("rsa.der", Some("pkcs1"), "rsa.pub"),
    ] {
        let label = unique("cli-traditional");
        let mut import = p11();
        import.args(["import", "--in", &path(file), "--label", &label]);
        if let Some(kind) = kind {
            import.args(["--kind", kind]);
        }
        let objects = json(&mut import, &[]);
        assert_eq!(objects[0]["class"], "CKO_PRIVATE_KEY", "{file}: {objects}");
        openssl_verifies_p11(&p11, dir.path(), &label, None, &path(public), &["-sha512"]);
        delete_all(p11, &label);
    }
}

/// `csr` and `certificate` sign on the token what OpenSSL accepts: the request's
/// self-signature, the certificate read and verified against itself (a CA's with --ca).
#[test]
fn makes_csrs_and_certificates_that_openssl_accepts() {
    let Some(_serial) = token_and_openssl() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    for (key_type, bits) in [("ec", "256"), ("rsa", "2048")] {
        let label = unique("cli-cert");
        json(
            &mut p11(),
            &[
                "keygen", "--type", key_type, "--bits", bits, "--label", &label,
            ],
        );
        p11()
            .args([
                "csr",
                "--key",
                &label,
                "--subject",
                "CN=req.example,O=p11 tests",
            ])
            .args(["--dns", "req.example", "--out", &path("req.csr")])
            .assert()
            .success();
        let (ok, said) = {
            let out = std::process::Command::new("openssl")
                .args([
                    "req",
                    "-in",
                    &path("req.csr"),
                    "-noout",
                    "-verify",
                    "-subject",
                ])
                .output()
                .unwrap();
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (out.status.success(), said)
        };
        assert!(ok && said.contains("verify OK"), "{key_type}: {said}");
        assert!(
            said.contains("CN = req.example, O = p11 tests"),
            "{key_type}: {said}"
        );

        p11()
            .args([
                "certificate",
                "--key",
                &label,
                "--subject",
                "CN=p11 test CA",
                "--ca",
            ])
            .args(["--days", "10", "--out", &path("ca.pem")])
            .assert()
            .success();
        let text = openssl(&["x509", "-in", &path("ca.pem"), "-noout", "-text"]);
        assert!(
            text.contains("CA:TRUE") && text.contains("CN = p11 test CA"),
            "{text}"
        );
        let verified = openssl(&["verify", "-CAfile", &path("ca.pem"), &path("ca.pem")]);
        assert!(verified.contains(": OK"), "{key_type}: {verified}");
        delete_all(p11, &label);
    }
    p11()
        .args(["csr", "--key", "cli-no-such-key", "--subject", "CN=x"])
        .assert()
        .code(3);
    p11()
        .args(["csr", "--key", "cli-no-such-key", "--subject", "XX=x"])
        .assert()
        .failure();
}

/// Random bytes as files to `import`, `verify` and `decrypt`: a clear error and a
/// failing exit status every time, never a panic (exit status 101).
#[test]
fn random_files_get_errors_not_panics() {
    let Some(_serial) = test_token() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (pair, aes) = (unique("cli-fuzz-pair"), unique("cli-fuzz-aes"));
    json(
        &mut p11(),
        &["keygen", "--type", "ec", "--bits", "256", "--label", &pair],
    );
    json(
        &mut p11(),
        &["keygen", "--type", "aes", "--bits", "128", "--label", &aes],
    );
    std::fs::write(path("message"), b"fuzzed").unwrap();
    // A fixed xorshift stream: the same inputs every run; sizes from 0 to ~2 KiB, some
    // starting as PEM or DER would.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..24 {
        let len = (next() % 2048) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        match round % 4 {
            0 => bytes
                .splice(0..0, b"-----BEGIN PRIVATE KEY-----\n".iter().copied())
                .for_each(drop),
            1 => bytes.splice(0..0, [0x30, 0x82, 0x01, 0x00]).for_each(drop),
            _ => {}
        }
        std::fs::write(path("random"), &bytes).unwrap();
        let runs: [Vec<String>; 5] = [
            [
                "import",
                "--in",
                &path("random"),
                "--label",
                "cli-fuzz-import",
            ]
            .map(String::from)
            .to_vec(),
            [
                "import",
                "--kind",
                "private",
                "--in",
                &path("random"),
                "--label",
                "cli-fuzz-import",
            ]
            .map(String::from)
            .to_vec(),
            [
                "import",
                "--kind",
                "sec1",
                "--in",
                &path("random"),
                "--label",
                "cli-fuzz-import",
            ]
            .map(String::from)
            .to_vec(),
            [
                "verify",
                "--key",
                &pair,
                "--in",
                &path("message"),
                "--signature",
                &path("random"),
            ]
            .map(String::from)
            .to_vec(),
            [
                "decrypt",
                "--key",
                &aes,
                "--in",
                &path("random"),
                "--out",
                &path("plain"),
            ]
            .map(String::from)
            .to_vec(),
        ];
        for args in runs {
            let out = p11().args(&args).output().unwrap();
            let code = out.status.code();
            let said = String::from_utf8_lossy(&out.stderr);
            assert_ne!(code, Some(101), "a panic on {args:?} ({len} bytes): {said}");
            assert!(
                code.is_some_and(|c| c != 0),
                "{args:?} took {len} random bytes: {said}"
            );
            // A verdict on a signature (exit 1) is an answer too; the rest say why.
            assert!(
                code == Some(1) || said.starts_with("error: "),
                "{args:?}: {said}"
            );
        }
    }
    delete_all(p11, &pair);
    delete_all(p11, &aes);
}

/// Listings say each key's size, usage and access flags, sorted by class, key type,
/// label and id.
#[test]
fn lists_keys_with_size_usage_and_access_sorted() {
    let Some(_serial) = test_token() else {
        return;
    };
    let label = unique("cli-list");
    json(
        &mut p11(),
        &[
            "keygen", "--type", "rsa", "--bits", "2048", "--label", &label, "--id", "01",
        ],
    );
    json(
        &mut p11(),
        &[
            "keygen", "--curve", "P-384", "--label", &label, "--id", "02",
        ],
    );
    json(
        &mut p11(),
        &[
            "keygen", "--type", "aes", "--bits", "192", "--label", &label, "--id", "03",
        ],
    );
    let listed = json(&mut p11(), &["objects", &format!("pkcs11:object={label}")]);
    let listed = listed.as_array().unwrap();
    let facts: Vec<(String, String, String)> = listed
        .iter()
        .map(|o| {
            (
                o["class"].as_str().unwrap().to_owned(),
                o["key_type"].as_str().unwrap().to_owned(),
                o["size"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("CKO_PRIVATE_KEY", "CKK_EC", "secp384r1"),
        ("CKO_PRIVATE_KEY", "CKK_RSA", "2048 bits"),
        ("CKO_PUBLIC_KEY", "CKK_EC", "secp384r1"),
        ("CKO_PUBLIC_KEY", "CKK_RSA", "2048 bits"),
        ("CKO_SECRET_KEY", "CKK_AES", "192 bits"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(facts, expected, "sorted, sized");
    let words = |o: &Value, field: &str| -> Vec<String> {
        o[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_owned())
            .collect()
    };
    // The private EC key signs and derives, is sensitive and private; its public half
    // verifies and is neither.
    assert_eq!(words(&listed[0], "usage"), ["sign", "derive"]);
    assert!(words(&listed[0], "access").contains(&"sensitive".to_owned()));
    assert_eq!(words(&listed[2], "usage"), ["verify"]);
    assert!(!words(&listed[2], "access").contains(&"sensitive".to_owned()));
    // RSA-OAEP takes at most the modulus less 42 bytes: more is refused, saying so.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    std::fs::write(&big, vec![7u8; 100_000]).unwrap();
    let refused = p11()
        .args([
            "encrypt",
            "--key",
            &format!("pkcs11:object={label};id=%01;type=public"),
        ])
        .arg("--in")
        .arg(&big)
        .arg("--out")
        .arg(dir.path().join("out"))
        .assert()
        .code(3);
    let said = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(said.contains("at most 214 bytes"), "{said}");
    delete_all(p11, &label);
}

/// `set` renames, `wrap`/`unwrap` carry an extractable key under a KEK, `derive` makes
/// the same ECDH key on both sides: the keys are compared by their CMAC of one message.
#[test]
fn sets_wraps_unwraps_and_derives_keys() {
    let Some(_serial) = test_token() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::write(path("message"), b"the same key?").unwrap();
    let mac = |label: &str| {
        json(
            &mut p11(),
            &["sign", "--key", label, "--in", &path("message")],
        )["signature"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let name = |what: &str| unique(&format!("cli-{what}"));
    let (kek, target, unwrapped, renamed) = (
        name("kek"),
        name("target"),
        name("unwrapped"),
        name("renamed"),
    );
    json(
        &mut p11(),
        &["keygen", "--type", "aes", "--bits", "256", "--label", &kek],
    );
    json(
        &mut p11(),
        &[
            "keygen",
            "--type",
            "aes",
            "--bits",
            "128",
            "--label",
            &target,
            "--extractable",
        ],
    );
    p11()
        .args([
            "wrap",
            "--key",
            &kek,
            "--target",
            &target,
            "--out",
            &path("wrapped"),
        ])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(path("wrapped")).unwrap().len(),
        24,
        "AES key wrap of 16 bytes"
    );
    json(
        &mut p11(),
        &[
            "unwrap",
            "--key",
            &kek,
            "--in",
            &path("wrapped"),
            "--type",
            "aes",
            "--label",
            &unwrapped,
        ],
    );
    assert_eq!(
        mac(&target),
        mac(&unwrapped),
        "the unwrapped key is the wrapped one"
    );
    // A key made without --extractable does not leave the token.
    p11()
        .args([
            "wrap",
            "--key",
            &kek,
            "--target",
            &kek,
            "--out",
            &path("no"),
        ])
        .assert()
        .code(3);

    let set = json(
        &mut p11(),
        &["set", &unwrapped, "--label", &renamed, "--id", "0a0b"],
    );
    assert_eq!(set[0]["label"], renamed.as_str(), "{set}");
    assert_eq!(set[0]["id"], "0a0b", "{set}");
    p11().args(["set", &renamed]).assert().code(3);

    let (alice, bob) = (name("alice"), name("bob"));
    for party in [&alice, &bob] {
        json(
            &mut p11(),
            &["keygen", "--curve", "P-256", "--label", party],
        );
        p11()
            .args([
                "export",
                &format!("pkcs11:object={party};type=public"),
                "--out",
            ])
            .arg(path(party))
            .assert()
            .success();
    }
    let derived = |ours: &str, theirs: &str| {
        let label = name("derived");
        json(
            &mut p11(),
            &[
                "derive",
                "--key",
                &format!("pkcs11:object={ours};type=private"),
                "--peer",
                &path(theirs),
                "--type",
                "aes",
                "--bits",
                "256",
                "--label",
                &label,
            ],
        );
        label
    };
    let (ab, ba) = (derived(&alice, &bob), derived(&bob, &alice));
    assert_eq!(mac(&ab), mac(&ba), "both sides derived the same key");
    let other = derived(&alice, &alice);
    assert_ne!(mac(&ab), mac(&other), "another peer, another key");
    for label in [&kek, &target, &renamed, &alice, &bob, &ab, &ba, &other] {
        delete_all(p11, label);
    }
}

/// RSA with OpenSSL: PKCS #1 v1.5 and PSS signatures from `p11 sign` pass `openssl dgst
/// -verify`; what OpenSSL encrypts with OAEP (SHA-1, and SHA-256 on asking) `p11 decrypt`
/// opens. On SoftHSM (`oaep_sha256` false: it takes OAEP with SHA-1 only, answering
/// `CKR_ARGUMENTS_BAD` otherwise) and NSS.
fn rsa_with_openssl(command: impl Fn() -> Command, oaep_sha256: bool) {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        println!("skipped: no `openssl` command");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::write(path("message"), b"an RSA message").unwrap();
    let label = unique("cli-rsa-openssl");
    json(
        &mut command(),
        &[
            "keygen", "--type", "rsa", "--bits", "2048", "--label", &label,
        ],
    );
    let (public, private) = (
        format!("pkcs11:object={label};type=public"),
        format!("pkcs11:object={label};type=private"),
    );
    command()
        .args(["export", &public, "--out", &path("public.pem")])
        .assert()
        .success();
    let public_pem = path("public.pem");
    // SHA512_RSA_PKCS by default; PSS salted with the hash's length.
    openssl_verifies_p11(
        &command,
        dir.path(),
        &private,
        None,
        &public_pem,
        &["-sha512"],
    );
    let pss = [
        "-sha256",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:digest",
    ];
    let mechanism = Some("SHA256_RSA_PKCS_PSS");
    openssl_verifies_p11(&command, dir.path(), &private, mechanism, &public_pem, &pss);

    // --salt-len: 0 makes PSS deterministic, and OpenSSL verifies that with salt length 0
    // only; a 17-byte salt verifies with OpenSSL's 17 and `p11 verify --salt-len 17`,
    // not with the default (the hash's length).
    let sign_pss = |salt: &str, out: &str| {
        command()
            .args(["sign", "--key", &private, "--in", &path("message")])
            .args(["--mechanism", "SHA256_RSA_PKCS_PSS", "--salt-len", salt])
            .args(["--out", &path(out)])
            .assert()
            .success();
        std::fs::read(path(out)).unwrap()
    };
    assert_eq!(sign_pss("0", "unsalted-1"), sign_pss("0", "unsalted-2"));
    assert_ne!(sign_pss("17", "salted-1"), sign_pss("17", "salted-2"));
    let openssl_pss = |salt: &str, signature: &str| {
        std::process::Command::new("openssl")
            .args([
                "dgst",
                "-sha256",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
            ])
            .arg(format!("rsa_pss_saltlen:{salt}"))
            .args(["-verify", &public_pem, "-signature", signature])
            .arg(path("message"))
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(openssl_pss("0", &path("unsalted-1")));
    assert!(
        !openssl_pss("32", &path("unsalted-1")),
        "the salt length ignored"
    );
    assert!(openssl_pss("17", &path("salted-1")));
    let p11_verifies = |salt: Option<&str>| {
        let mut verify = command();
        verify
            .args(["verify", "--key", &public, "--in", &path("message")])
            .args(["--signature", &path("salted-1")])
            .args(["--mechanism", "SHA256_RSA_PKCS_PSS"]);
        if let Some(salt) = salt {
            verify.args(["--salt-len", salt]);
        }
        verify.assert().get_output().status.code()
    };
    assert_eq!(p11_verifies(Some("17")), Some(0));
    assert_eq!(
        p11_verifies(None),
        Some(1),
        "a 17-byte salt is not the default"
    );
    let refused = command()
        .args(["sign", "--key", &private, "--in", &path("message")])
        .args(["--salt-len", "3", "--mechanism", "SHA256_RSA_PKCS"])
        .assert()
        .code(3);
    let said = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(said.contains("--salt-len is for PSS mechanisms"), "{said}");

    std::fs::write(path("secret"), b"sealed by openssl").unwrap();
    for (hash, options) in [
        (None, vec!["-pkeyopt", "rsa_padding_mode:oaep"]),
        (
            Some("sha256"),
            vec![
                "-pkeyopt",
                "rsa_padding_mode:oaep",
                "-pkeyopt",
                "rsa_oaep_md:sha256",
                "-pkeyopt",
                "rsa_mgf1_md:sha256",
            ],
        ),
    ]
    .into_iter()
    .filter(|(hash, _)| hash.is_none() || oaep_sha256)
    {
        let (key, input, output) = (path("public.pem"), path("secret"), path("sealed"));
        let mut args = vec!["pkeyutl", "-encrypt", "-pubin", "-inkey", &key];

        args.extend(options);
        args.extend(["-in", &input, "-out", &output]);
        openssl(&args);
        let mut decrypt = command();
        decrypt.args(["decrypt", "--key", &private, "--in", &output, "--out", "-"]);
        if let Some(hash) = hash {
            decrypt.args(["--oaep-hash", hash]);
        }
        decrypt.assert().success().stdout("sealed by openssl");
    }
    delete_all(&command, &label);
}

#[test]
fn rsa_signatures_and_oaep_interoperate_with_openssl() {
    let Some(_serial) = test_token() else {
        return;
    };
    rsa_with_openssl(p11, false);
}

#[test]
fn seals_files_and_refuses_tampering_on_the_test_token() {
    let Some(_serial) = test_token() else {
        return;
    };
    with_each_sealing_key(p11, encrypt_decrypt);
}

#[test]
fn errors_say_what_to_do() {
    let _serial = serial();
    let Some(_) = env("PKCS11_MODULE") else {
        return;
    };
    let missing = p11()
        .args(["--token", "no such token", "objects"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&missing.get_output().stderr).into_owned();
    assert!(stderr.contains("no token matches"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    let err = json_failure(&["--module", "/nonexistent/module.so", "info"]);
    assert!(err["hint"].as_str().unwrap().contains("--module"), "{err}");
    let unknown = p11()
        .args(["keygen", "--type", "rsb", "--bits", "1", "--label", "x"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&unknown.get_output().stderr).into_owned();
    assert!(stderr.contains("CKK_RSB"), "{stderr}");
}

fn json_failure(args: &[&str]) -> Value {
    let out = p11().arg("--json").args(args).assert().failure();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

/// NSS's softoken: refused without its init string (with a hint naming it), then the
/// same keys, signatures and files as on the test token.
#[test]
fn drives_nss_with_its_init_string() {
    let _serial = serial();
    let (Some(module), Some(args), Some(pin)) = (
        env("PKCS11_NSS_MODULE"),
        env("PKCS11_NSS_INIT_ARGS"),
        env("PKCS11_NSS_PIN"),
    ) else {
        return;
    };
    let err = json_failure(&["--module", &module, "info"]);
    assert!(
        err["error"].as_str().unwrap().contains("CKR_ARGUMENTS_BAD"),
        "{err}"
    );
    assert!(
        err["hint"].as_str().unwrap().contains("--init-args"),
        "{err}"
    );
    let nss = || {
        let mut command = p11();
        command
            .env("PKCS11_MODULE", &module)
            .env("PKCS11_INIT_ARGS", &args)
            .env("PKCS11_TOKEN_LABEL", "TEST")
            .env("PKCS11_TOKEN_PIN", &pin);
        command
    };
    sign_verify_export_import(nss, "rsa", "2048");
    with_each_sealing_key(nss, encrypt_decrypt);
    with_each_sealing_key(nss, the_documented_format);
    rsa_with_openssl(nss, true);
}

/// A token store of the test's own (SoftHSM's `SOFTHSM2_CONF`): initialise a token,
/// set its user PIN as the SO, change it as the user; the old PIN is refused after.
#[test]
fn initialises_a_token_and_sets_its_pins() {
    let _serial = serial();
    let Some(module) = env("PKCS11_MODULE") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tokens")).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\n",
            dir.path().join("tokens").display()
        ),
    )
    .unwrap();
    let private = || {
        let mut command = p11();
        command
            .env("SOFTHSM2_CONF", &conf)
            .env("PKCS11_MODULE", &module)
            .env_remove("PKCS11_TOKEN_LABEL")
            .env_remove("PKCS11_TOKEN_PIN")
            .env_remove("PKCS11_INIT_ARGS");
        command
    };
    // Capability probe: a module whose token store this test can point elsewhere.
    let info = json(&mut private(), &["info"]);
    if !info["manufacturer"].as_str().unwrap().contains("SoftHSM") {
        println!("skipped: initialising tokens needs a private token store, as SoftHSM's SOFTHSM2_CONF gives: {info}");
        return;
    }
    let slots = json(&mut private(), &["slots"]);
    let slot = slots[0]["id"].to_string();
    json(
        &mut private(),
        &[
            "init-token",
            "--slot",
            &slot,
            "--label",
            "CLI",
            "--so-pin",
            "12345678",
        ],
    );
    json(
        &mut private(),
        &[
            "--token",
            "CLI",
            "--so-pin",
            "12345678",
            "init-pin",
            "--new-pin",
            "1111",
        ],
    );
    json(
        &mut private(),
        &[
            "--token",
            "CLI",
            "--pin",
            "1111",
            "set-pin",
            "--new-pin",
            "2222",
        ],
    );
    json(
        &mut private(),
        &[
            "--token", "CLI", "--pin", "2222", "keygen", "--type", "aes", "--bits", "128",
            "--label", "k",
        ],
    );
    let err = {
        let out = private()
            .args(["--json", "--token", "CLI", "--pin", "1111", "objects"])
            .assert()
            .failure();
        serde_json::from_slice::<Value>(&out.get_output().stdout).unwrap()
    };
    assert!(
        err["error"].as_str().unwrap().contains("CKR_PIN_INCORRECT"),
        "{err}"
    );
    assert!(err["hint"].as_str().unwrap().contains("PIN"), "{err}");
}

/// A Unix tool: a reader that goes away (`p11 mechanisms | head -1`) ends the command
/// quietly; clap's usage errors are JSON under `--json`; the exit statuses are the
/// documented ones (2 usage, 3 module or token failure).
#[test]
fn a_closed_pipe_ends_quietly_and_errors_have_their_exit_status() {
    let _serial = serial();
    let out = p11().args(["--json", "frobnicate"]).assert().code(2);
    let said: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(
        said["error"].as_str().unwrap().contains("frobnicate"),
        "{said}"
    );
    p11().arg("frobnicate").assert().code(2);
    // The JSON error names what is missing, not only that something is.
    let out = p11()
        .args([
            "--json",
            "sign",
            "--key",
            "k",
            "--in",
            "f",
            "--salt-len",
            "3",
        ])
        .assert()
        .code(2);
    let said: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(
        said["error"].as_str().unwrap().contains("--mechanism"),
        "{said}"
    );
    let out = p11()
        .args(["--json", "--module", "/nonexistent/module.so", "info"])
        .assert()
        .code(3);
    let said: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(said["error"].as_str().unwrap().contains("/nonexistent"));

    let Some(module) = env("PKCS11_MODULE") else {
        return;
    };
    // The reader goes away before p11 writes a line.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("p11"))
        .args(["--module", &module, "mechanisms"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

/// docs/file-format.md, read and written by another implementation (RustCrypto's
/// `aes-gcm` and `chacha20poly1305`) with a key imported from its raw bytes: p11's sealed
/// file opens there chunk by chunk, and a file sealed there as the document says opens
/// with `p11 decrypt`.
fn the_documented_format(command: impl Fn() -> Command, key_type: &str) {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    const CHUNK: usize = 1 << 20;
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let key: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(37) ^ 0x5c).collect();
    std::fs::write(path("key"), &key).unwrap();
    let label = unique(&format!("cli-import-{key_type}"));
    let key_file = path("key").display().to_string();
    json(
        &mut command(),
        &[
            "import", "--kind", "secret", "--type", key_type, "--label", &label, "--in", &key_file,
        ],
    );
    // The other implementation's AEAD, by the header's mechanism byte.
    let seal_or_open = |encrypt: bool, nonce: [u8; 12], aad: &[u8], data: &[u8]| {
        let payload = Payload { msg: data, aad };
        let result = match key_type {
            "aes" => {
                let aead = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
                let nonce = aes_gcm::Nonce::from(nonce);
                if encrypt {
                    aead.encrypt(&nonce, payload)
                } else {
                    aead.decrypt(&nonce, payload)
                }
            }
            _ => {
                let aead = chacha20poly1305::ChaCha20Poly1305::new_from_slice(&key).unwrap();
                let nonce = chacha20poly1305::Nonce::from(nonce);
                if encrypt {
                    aead.encrypt(&nonce, payload)
                } else {
                    aead.decrypt(&nonce, payload)
                }
            }
        };
        result.unwrap_or_else(|_| panic!("{key_type}: a chunk failed its tag"))
    };
    let nonce = |prefix: &[u8], number: u32, last: bool| {
        let mut nonce = [0u8; 12];
        nonce[..7].copy_from_slice(prefix);
        nonce[7..11].copy_from_slice(&number.to_be_bytes());
        nonce[11] = u8::from(last);
        nonce
    };

    // p11 seals; the document's reading opens it.
    let plain: Vec<u8> = (0..2 * CHUNK as u32 + 777)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    std::fs::write(path("plain"), &plain).unwrap();
    command()
        .args(["encrypt", "--key", &label, "--in"])
        .arg(path("plain"))
        .arg("--out")
        .arg(path("sealed"))
        .assert()
        .success();
    let sealed = std::fs::read(path("sealed")).unwrap();
    let chunk_size = u32::from_be_bytes(sealed[10..14].try_into().unwrap()) as usize;
    assert_eq!(chunk_size, CHUNK);
    let header_len = 23 + usize::from(u16::from_be_bytes([sealed[21], sealed[22]]));
    let (header, chunks) = sealed.split_at(header_len);
    let uri = std::str::from_utf8(&header[23..]).unwrap();
    assert!(uri.contains(&format!("object={label}")), "{uri}");
    let parts: Vec<&[u8]> = chunks.chunks(chunk_size + 16).collect();
    assert_eq!(parts.len(), 3);
    let mut opened = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let nonce = nonce(&header[14..21], i as u32, last);
        opened.extend(seal_or_open(false, nonce, header, part));
    }
    assert_eq!(opened, plain, "{key_type}: the document's reading");

    // Sealed as the document says (a header of our own, no URI, chunks of 1000 bytes);
    // p11 opens it, and refuses it with the last-chunk flag left off.
    let mut ours = b"P11SEAL\0".to_vec();
    ours.push(1);
    ours.push(header[9]);
    ours.extend_from_slice(&1000u32.to_be_bytes());
    ours.extend_from_slice(&[0xa5; 7]);
    ours.extend_from_slice(&0u16.to_be_bytes());
    let message = &plain[..2500];
    let seal_all = |flag_last: bool| {
        let mut file = ours.clone();
        let pieces: Vec<&[u8]> = message.chunks(1000).collect();
        for (i, piece) in pieces.iter().enumerate() {
            let last = flag_last && i + 1 == pieces.len();
            file.extend(seal_or_open(
                true,
                nonce(&[0xa5; 7], i as u32, last),
                &ours,
                piece,
            ));
        }
        file
    };
    std::fs::write(path("theirs"), seal_all(true)).unwrap();
    let out = command()
        .args(["decrypt", "--key", &label, "--out", "-", "--in"])
        .arg(path("theirs"))
        .assert()
        .success();
    assert_eq!(out.get_output().stdout, message);
    std::fs::write(path("unflagged"), seal_all(false)).unwrap();
    command()
        .args(["decrypt", "--key", &label, "--in"])
        .arg(path("unflagged"))
        .arg("--out")
        .arg(path("unflagged-opened"))
        .assert()
        .code(3);
    assert!(!path("unflagged-opened").exists());
    delete_all(&command, &label);
}

#[test]
fn another_implementation_reads_and_writes_sealed_files() {
    let Some(_serial) = test_token() else {
        return;
    };
    with_each_sealing_key(p11, the_documented_format);
}

/// `--usage` at keygen gives each half of a pair what its class can do of those named,
/// and a key refuses what it was not given; `set --usage` changes it (on tokens that
/// let a capability be turned on again), and the listing shows the change.
#[test]
fn usage_is_chosen_at_keygen_and_changed_by_set() {
    let Some(_serial) = test_token() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let message = dir.path().join("message");
    std::fs::write(&message, b"used as told").unwrap();
    let usage_of = |described: &Value| -> Vec<String> {
        described["usage"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap().to_owned())
            .collect()
    };
    let pair = unique("cli-usage-pair");
    let made = json(
        &mut p11(),
        &[
            "keygen",
            "--curve",
            "P-256",
            "--label",
            &pair,
            "--usage",
            "sign,verify",
        ],
    );
    for half in made.as_array().unwrap() {
        let expected = match half["class"].as_str().unwrap() {
            "CKO_PRIVATE_KEY" => ["sign"],
            _ => ["verify"],
        };
        assert_eq!(usage_of(half), expected, "{half}");
    }
    let secret = unique("cli-usage-aes");
    let made = json(
        &mut p11(),
        &[
            "keygen",
            "--type",
            "aes",
            "--bits",
            "128",
            "--label",
            &secret,
            "--usage",
            "encrypt,decrypt",
        ],
    );
    assert_eq!(usage_of(&made[0]), ["encrypt", "decrypt"]);
    let sign = || {
        p11()
            .args(["sign", "--key", &secret, "--in"])
            .arg(&message)
            .assert()
            .get_output()
            .clone()
    };
    let refused = sign();
    assert_eq!(refused.status.code(), Some(3));
    let said = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(said.contains("CKR_KEY_FUNCTION_NOT_PERMITTED"), "{said}");

    let changed = json(&mut p11(), &["set", &secret, "--usage", "sign,verify"]);
    assert_eq!(usage_of(&changed[0]), ["sign", "verify"]);
    assert!(sign().status.success(), "signs once it may");
    let listed = json(&mut p11(), &["objects", &format!("pkcs11:object={secret}")]);
    assert_eq!(usage_of(&listed[0]), ["sign", "verify"]);
    let unknown = p11()
        .args(["set", &secret, "--usage", "sing"])
        .assert()
        .code(3);
    let said = String::from_utf8_lossy(&unknown.get_output().stderr).into_owned();
    assert!(said.contains("no usage called \"sing\""), "{said}");
    delete_all(p11, &pair);
    delete_all(p11, &secret);
}

/// Post-quantum keys by parameter set (PKCS #11 3.2 tokens: kryoptic in `cargo xtask
/// test`): listed by the set's name, and an ML-DSA signature verifies, a changed file's
/// does not.
#[test]
fn makes_post_quantum_keys_by_parameter_set() {
    let Some(_serial) = test_token() else {
        return;
    };
    if !offers(p11, "CKM_ML_DSA_KEY_PAIR_GEN", "GENERATE_KEY_PAIR") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::write(path("message"), b"signed after quantum computers").unwrap();
    std::fs::write(path("changed"), b"signed after quantum computers!").unwrap();
    let label = unique("cli-ml-dsa");
    let made = json(
        &mut p11(),
        &["keygen", "--parameter-set", "ml-dsa-65", "--label", &label],
    );
    let halves = made.as_array().unwrap();
    assert_eq!(halves.len(), 2);
    for half in halves {
        assert_eq!(half["key_type"], "CKK_ML_DSA", "{half}");
        assert_eq!(half["size"], "ML-DSA-65", "{half}");
    }
    p11()
        .args([
            "sign",
            "--key",
            &format!("pkcs11:object={label};type=private"),
        ])
        .args(["--in", &path("message"), "--out", &path("signature")])
        .assert()
        .success();
    let verify = |file: &str| {
        p11()
            .args([
                "verify",
                "--key",
                &format!("pkcs11:object={label};type=public"),
            ])
            .args(["--in", &path(file), "--signature", &path("signature")])
            .assert()
            .get_output()
            .status
            .code()
    };
    assert_eq!(verify("message"), Some(0));
    assert_eq!(verify("changed"), Some(1));
    delete_all(p11, &label);

    if offers(p11, "CKM_ML_KEM_KEY_PAIR_GEN", "GENERATE_KEY_PAIR") {
        let label = unique("cli-ml-kem");
        let made = json(
            &mut p11(),
            &["keygen", "--parameter-set", "ML-KEM-768", "--label", &label],
        );
        for half in made.as_array().unwrap() {
            assert_eq!(half["size"], "ML-KEM-768", "{half}");
        }
        delete_all(p11, &label);
    }
}
