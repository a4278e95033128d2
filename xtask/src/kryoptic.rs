//! kryoptic, the PKCS#11 3.2 soft token, built from the crate registry with a vendored
//! OpenSSL 3.5 (EdDSA, ML-DSA, ML-KEM and SLH-DSA need OpenSSL >= 3.2, newer than many
//! distributions ship). The build takes minutes; it is cached under the workspace's
//! `target/kryoptic/`, so only a cold checkout pays for it.

use crate::system::{ensure_package, have_debian_package, have_program, run, workspace_root};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The kryoptic release p11 tests against.
pub const VERSION: &str = "1.5.4";
/// The OpenSSL sources (from the `openssl-src` crate) its library is built from.
const OPENSSL_SRC: &str = "300.5.5";

/// kryoptic's features: its standard set, NSS database support, post-quantum, and the
/// PKCS#11 3.0 profile objects, on an OpenSSL linked in statically.
const FEATURES: &str = "kryoptic-lib/standard,kryoptic-lib/nssdb,kryoptic-lib/pqc,\
                        kryoptic-lib/profiles,ossl/ossl-sys";

/// A short tag of the feature set, in the cached module's name, so that a changed set
/// builds again (FNV-1a).
fn features_tag() -> String {
    let hash = FEATURES.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("{hash:08x}")
}

/// The built module, building it first when the cache has none.
pub fn module() -> Result<PathBuf> {
    let cache = workspace_root().join("target/kryoptic");
    let module = cache.join(format!(
        "libkryoptic_pkcs11-{VERSION}-{}.so",
        features_tag()
    ));
    if module.is_file() {
        return Ok(module);
    }
    for package in [
        "pkg-config",
        "libsqlite3-dev",
        "clang",
        "libclang-dev",
        "make",
        "perl",
    ] {
        ensure_package(package, &format!("{package} (building kryoptic)"), || {
            have_debian_package(package) || (package == "make" && have_program("make"))
        })?;
    }
    std::fs::create_dir_all(&cache)?;
    let (kryoptic, openssl) = fetch(&cache)?;

    let sources = cache.join("src");
    copy_tree(&kryoptic, &sources)?;
    // The copy lies inside this workspace's folder: make it a workspace of its own.
    let manifest = sources.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)?;
    if !text.contains("\n[workspace]") {
        std::fs::write(&manifest, format!("{text}\n[workspace]\n"))?;
    }

    let openssl_tree = cache.join("openssl");
    copy_tree(&openssl.join("openssl"), &openssl_tree)?;
    eprintln!("xtask: building OpenSSL {OPENSSL_SRC} for kryoptic (several minutes)");
    let log = cache.join("openssl-build.log");
    // kryoptic's own OpenSSL build step fails on openssl-src's trimmed tree, so its
    // libcrypto.a is made here, without the parts kryoptic does not use.
    let jobs = format!(
        "-j{}",
        std::thread::available_parallelism().map_or(2, |n| n.get())
    );
    logged(
        Command::new("./Configure")
            .args([
                "no-deprecated",
                "no-aria",
                "no-argon2",
                "no-atexit",
                "no-des",
                "no-dsa",
                "no-cast",
                "no-mdc2",
                "no-ec2m",
                "no-rc2",
                "no-rc4",
                "no-rc5",
                "no-rmd160",
                "no-seed",
                "no-sm2",
                "no-sm3",
                "no-sm4",
                "no-docs",
                "no-tests",
                "no-legacy",
                "no-module",
                "no-shared",
                "enable-ec_nistp_64_gcc_128",
            ])
            .current_dir(&openssl_tree),
        &log,
    )?;
    logged(
        Command::new("make")
            .args([&jobs, "build_generated"])
            .current_dir(&openssl_tree),
        &log,
    )?;
    logged(
        Command::new("make")
            .args([&jobs, "libcrypto.a"])
            .current_dir(&openssl_tree),
        &log,
    )?;

    eprintln!("xtask: building kryoptic {VERSION} (several minutes)");
    let target = cache.join("target");
    logged(
        Command::new(cargo())
            .args(["build", "--release", "--locked", "--no-default-features"])
            .args(["--features", FEATURES])
            .env("CARGO_TARGET_DIR", &target)
            .env("KRYOPTIC_OPENSSL_SOURCES", &openssl_tree)
            .current_dir(&sources),
        &cache.join("build.log"),
    )?;
    let built = target.join("release/libkryoptic_pkcs11.so");
    let partial = module.with_extension("so.partial");
    std::fs::copy(&built, &partial).with_context(|| format!("copying {}", built.display()))?;
    std::fs::rename(&partial, &module)?;
    Ok(module)
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Downloads kryoptic and openssl-src through a scratch crate; their source folders.
fn fetch(cache: &Path) -> Result<(PathBuf, PathBuf)> {
    let scratch = cache.join("fetch");
    std::fs::create_dir_all(scratch.join("src"))?;
    std::fs::write(
        scratch.join("Cargo.toml"),
        format!(
            "[package]\nname = \"kryoptic-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[dependencies]\nkryoptic = \"={VERSION}\"\n\
             openssl-src = \"={OPENSSL_SRC}\"\n\n[workspace]\n"
        ),
    )?;
    std::fs::write(scratch.join("src/lib.rs"), "")?;
    run(Command::new(cargo())
        .args(["fetch", "--quiet"])
        .current_dir(&scratch))?;
    let out = Command::new(cargo())
        .args(["metadata", "--format-version", "1"])
        .current_dir(&scratch)
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("cargo metadata failed for {}", scratch.display());
    }
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let folder = |name: &str, version: &str| -> Result<PathBuf> {
        metadata["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name && p["version"].as_str() == Some(version))
            .and_then(|p| p["manifest_path"].as_str())
            .and_then(|m| Path::new(m).parent().map(Path::to_path_buf))
            .with_context(|| format!("{name} {version} was not fetched"))
    };
    let openssl_version = format!("{OPENSSL_SRC}+3.5.5");
    Ok((
        folder("kryoptic", VERSION)?,
        folder("openssl-src", &openssl_version)?,
    ))
}

/// `from` copied to `to`, replacing what was there.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        std::fs::remove_dir_all(to)?;
    }
    run(Command::new("cp").arg("-r").arg(from).arg(to))
}

/// Runs `cmd` with its output in `log`; on failure, says where to look and shows the end.
fn logged(cmd: &mut Command, log: &Path) -> Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .with_context(|| format!("cannot start {shown}"))?;
    // A progress line every 20 s: the build is long, and its output goes to the log.
    let started = std::time::Instant::now();
    let mut said = 0;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        let seconds = started.elapsed().as_secs();
        if seconds / 20 > said {
            said = seconds / 20;
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let last: String = text
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .unwrap_or_default()
                .chars()
                .take(70)
                .collect();
            eprintln!("xtask:   ... {seconds}s: {}", last.trim());
        }
    };
    if !status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{shown} failed ({status}); its output is in {}:\n{}",
            log.display(),
            tail.join("\n")
        );
    }
    Ok(())
}
