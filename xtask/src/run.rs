//! `cargo xtask test` and `cargo xtask demo`.

use crate::system::{ensure_package, have_program, run, workspace_root};
use crate::{bindings, compat, tokens};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    eprintln!("xtask: == {name}");
    let started = Instant::now();
    let result = f().with_context(|| format!("step `{name}` failed"));
    eprintln!("xtask: == {name}: {:.1}s", started.elapsed().as_secs_f64());
    result
}

/// The project's test command: static checks, then the workspace's tests against fresh
/// tokens.
pub fn test() -> Result<()> {
    let root = workspace_root();
    step("cargo fmt --check", || {
        run(cargo().args(["fmt", "--all", "--", "--check"]))
    })?;
    step("cargo clippy", || {
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    step(
        "the MSRV: what the published crates pull supports their rust-version",
        || check_msrv(&root),
    )?;
    step("cargo doc", || {
        run(cargo()
            .args(["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings"))
    })?;
    step("bindgen --check", || bindings::generate(true))?;
    step("the public API listings (docs/public-api/)", || {
        crate::public_api::check(&root, false)
    })?;
    step(
        "cargo package --workspace: every crate, unpacked and built",
        || {
            let build = root.join("target/package-build");
            forget_packaged(&build)?;
            // `--allow-dirty` for a working tree with changes; a clean clone needs none.
            run(cargo()
                .args(["package", "--workspace", "--allow-dirty", "--quiet"])
                .env("CARGO_TARGET_DIR", &build))
        },
    )?;
    step("the unpacked packages' doc tests", || {
        doc_test_packages(&root)
    })?;
    step("tools the tests use", || {
        ensure_package(
            "openssl",
            "the openssl command (p11-asn1's interop tests)",
            || have_program("openssl"),
        )?;
        ensure_package(
            "opensc-pkcs11",
            "OpenSC's pkcs11-spy (a module test watches p11 through it)",
            || crate::system::have_debian_package("opensc-pkcs11"),
        )
    })?;
    let env = step("fresh tokens", || {
        let base = root.join("target/p11-test");
        let mut env = tokens::softhsm(&base.join("softhsm"))?;
        env.extend(tokens::nss(&base.join("nss"))?);
        Ok(env)
    })?;
    let fault_module = step("the fault-injection module", fault_module)?;
    step("cargo test", || {
        run(cargo()
            .args(["test", "--workspace", "--exclude", "p11-tests"])
            .envs(env.vars())
            .env("P11_FAULT_MODULE", &fault_module))?;
        // The real-module suites one test at a time (each test's own threads still run
        // together): two tests' sessions on one SoftHSM token at once sometimes see the
        // token logged out under them in CI (CKR_OBJECT_HANDLE_INVALID for a private
        // session key, CKR_GENERAL_ERROR from C_FindObjectsInit), though p11 opens,
        // closes, logs in and logs out under one lock; SoftHSM has open reports of such
        // races (softhsm/SoftHSMv2#464, #573). compat runs every module this way too.
        run(cargo()
            .args(["test", "--package", "p11-tests", "--", "--test-threads=1"])
            .envs(env.vars())
            .env("P11_FAULT_MODULE", &fault_module))
    })?;
    step("the operation lock's loom models", || {
        // Their own target directory: `--cfg loom` rebuilds every crate below p11-core.
        run(cargo()
            .args([
                "test",
                "--package",
                "p11-core",
                "--release",
                "--lib",
                "lock::models",
            ])
            .env("RUSTFLAGS", "--cfg loom")
            .env("CARGO_TARGET_DIR", root.join("target/loom")))
    })?;
    step(
        "the vendor fork: p11 on a p11-sys made from a vendor's headers",
        || vendor_fork(&root, &env, &fault_module),
    )?;
    step(
        "a downstream application on the packaged crates and today's RustCrypto, rustls, rcgen",
        || downstream(&root),
    )?;
    step(
        "the secrets and tracing suites, and the p11 command's post-quantum keys and \
         ChaCha20-sealed files, on kryoptic (PKCS#11 3.2)",
        || {
            let kryoptic = tokens::kryoptic(&root.join("target/p11-test/kryoptic"))?;
            // One test at a time: kryoptic deadlocks when one session's C_Logout meets
            // another thread's operation (its C_Logout takes the token's lock, then each
            // session's; an operation takes its session's, then the token's).
            run(cargo()
                .args(["test", "--package", "p11-tests"])
                .args(["--test", "secrets", "--test", "tracing"])
                .args(["--", "--test-threads=1"])
                .envs(env.vars())
                .envs(kryoptic.vars()))?;
            run(cargo()
                .args(["test", "--package", "p11-cli", "--test", "cli", "--"])
                .args(["post_quantum", "another_implementation"])
                .envs(env.vars())
                .envs(kryoptic.vars()))
        },
    )?;
    step(
        "the core and facade suites on every module (compat), failing on p11's failures",
        compat::test,
    )?;
    sanitize_with(&env, &fault_module)
}

/// The published crates, in dependency order.
const PUBLISHED: [&str; 6] = [
    "p11-sys",
    "p11-mechanisms",
    "p11-core",
    "p11-asn1",
    "p11",
    "p11-cli",
];

/// The declared MSRV holds where it can be checked with one toolchain: clippy's
/// `incompatible_msrv` (run by the clippy step) refuses std APIs newer than it, and here
/// every package the published crates build on, with every feature, as `Cargo.lock`
/// has it (resolved with `incompatible-rust-versions = "fallback"`, `.cargo/config.toml`)
/// must declare no newer Rust. Dev-dependencies are the workspace's own affair.
pub fn check_msrv(root: &Path) -> Result<()> {
    let out = cargo()
        .args([
            "metadata",
            "--format-version",
            "1",
            "--all-features",
            "--locked",
        ])
        .current_dir(root)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "cargo metadata failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    // "1.88" and "1.88.0" alike.
    let version = |text: &str| -> [u64; 3] {
        let mut parts = text.split('.').map(|part| part.parse().unwrap_or(0));
        [(); 3].map(|()| parts.next().unwrap_or(0))
    };
    let packages: std::collections::HashMap<&str, &serde_json::Value> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let msrv = packages
        .values()
        .find(|p| p["name"] == "p11" && p["source"].is_null())
        .and_then(|p| p["rust_version"].as_str())
        .context("p11 declares no rust-version")?
        .to_owned();
    let nodes: std::collections::HashMap<&str, &serde_json::Value> = metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let mut todo: Vec<&str> = packages
        .iter()
        .filter(|(_, p)| p["source"].is_null() && PUBLISHED.iter().any(|name| p["name"] == *name))
        .map(|(id, _)| *id)
        .collect();
    let mut seen = std::collections::HashSet::new();
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes
            .get(id)
            .and_then(|n| n["deps"].as_array())
            .into_iter()
            .flatten()
        {
            // Normal (`kind` null) and build dependencies, not dev ones.
            let built = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null() || k["kind"] == "build");
            if let (true, Some(pkg)) = (built, dep["pkg"].as_str()) {
                todo.push(pkg);
            }
        }
    }
    let mut newer: Vec<String> = seen
        .iter()
        .filter_map(|id| packages.get(id))
        .filter_map(|p| {
            let needs = p["rust_version"].as_str()?;
            (version(needs) > version(&msrv)).then(|| {
                format!("{} {} needs Rust {needs}", p["name"], p["version"]).replace('"', "")
            })
        })
        .collect();
    newer.sort();
    anyhow::ensure!(
        newer.is_empty(),
        "the published crates declare rust-version {msrv}, but Cargo.lock has:\n  {}\n\
         (cargo update with incompatible-rust-versions = \"fallback\", a bound in the \
         crate's manifest, or a higher rust-version)",
        newer.join("\n  ")
    );
    println!(
        "{} packages the published crates build on support Rust {msrv}",
        seen.len()
    );
    Ok(())
}

/// The workspace's crates that are packaged (so that `cargo package --workspace` needs
/// no flags) but not published.
const UNPUBLISHED: [&str; 3] = ["p11-tests", "p11-fault-module", "xtask"];

/// Removes what earlier `cargo package` runs left of p11's own crates: their sources as
/// extracted from the temporary registry (under `$CARGO_HOME/registry/src/-<hash>`) and
/// their build in `build`. Cargo takes a registry crate of the same name and version for
/// unchanged, so a second run would verify against the first run's crates.
fn forget_packaged(build: &Path) -> Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let registries = home
        .and_then(|home| std::fs::read_dir(home.join("registry/src")).ok())
        .into_iter()
        .flatten()
        .flatten()
        // crates.io's is `index.crates.io-<hash>`; local ones have no name before the `-`.
        .filter(|registry| registry.file_name().to_string_lossy().starts_with('-'));
    for registry in registries {
        for name in PUBLISHED.iter().chain(&UNPUBLISHED) {
            let extracted = registry.path().join(format!("{name}-{version}"));
            if extracted.is_dir() {
                std::fs::remove_dir_all(&extracted)?;
            }
        }
    }
    for dir in ["debug/.fingerprint", "debug/deps", "debug/build"] {
        let Ok(entries) = std::fs::read_dir(build.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("p11") || name.starts_with("libp11") || name.starts_with("xtask") {
                let path = entry.path();
                if path.is_dir() {
                    std::fs::remove_dir_all(&path)?;
                } else {
                    std::fs::remove_file(&path)?;
                }
            }
        }
    }
    Ok(())
}

/// The crates as `cargo package` unpacked them, gathered into a workspace of their own
/// (each other's versions patched to those copies, the main lock file reused so that
/// nothing is resolved or built anew), and their doc tests run with every feature: what
/// a user of the published crates compiles, READMEs included.
fn doc_test_packages(root: &Path) -> Result<()> {
    let packaged = root.join("target/package-build/package");
    let workspace = root.join("target/package-doctest");
    if workspace.exists() {
        std::fs::remove_dir_all(&workspace)?;
    }
    std::fs::create_dir_all(&workspace)?;
    let version = env!("CARGO_PKG_VERSION");
    let mut manifest = String::from("[workspace]\nresolver = \"2\"\nmembers = [");
    let mut patch = String::from("\n[patch.crates-io]\n");
    for name in PUBLISHED {
        let unpacked = packaged.join(format!("{name}-{version}"));
        anyhow::ensure!(
            unpacked.is_dir(),
            "cargo package left no {}",
            unpacked.display()
        );
        copy_tree(&unpacked, &workspace.join(name))?;
        manifest.push_str(&format!("\"{name}\", "));
        patch.push_str(&format!("{name} = {{ path = \"{name}\" }}\n"));
    }
    manifest.push_str("]\n");
    std::fs::write(workspace.join("Cargo.toml"), manifest + &patch)?;
    std::fs::copy(root.join("Cargo.lock"), workspace.join("Cargo.lock"))?;
    run(cargo()
        .current_dir(&workspace)
        .args(["test", "--doc", "--workspace", "--all-features"])
        .env("CARGO_TARGET_DIR", root.join("target")))
}

/// What an HSM vendor's fork does, done in target/vendor-fork/: p11-sys generated from
/// the sample vendor header in tests/vendor-fork/headers, and the application in
/// tests/vendor-fork/app built on the packaged p11 crates with that p11-sys swapped in by
/// `[patch.crates-io]`; its test drives the vendor's values through the fault module.
fn vendor_fork(root: &Path, env: &tokens::TokenEnv, fault_module: &Path) -> Result<()> {
    let dir = root.join("target/vendor-fork");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    bindings::fork(
        &root.join("tests/vendor-fork/headers"),
        &dir.join("p11-sys"),
    )?;
    copy_tree(&root.join("tests/vendor-fork/app"), &dir.join("app"))?;
    app_on_packages(
        root,
        &dir,
        "p11-sys = { path = \"p11-sys\" }\n",
        &["p11-mechanisms", "p11-core", "p11-asn1", "p11"],
    )?;
    run(cargo()
        .current_dir(&dir)
        .args(["test", "--workspace"])
        .envs(env.vars())
        .env("P11_FAULT_MODULE", fault_module)
        .env("CARGO_TARGET_DIR", root.join("target")))
}

/// tests/downstream, an application outside the workspace, built in target/downstream/
/// on the packaged p11 crates (`[patch.crates-io]`) and run against a SoftHSM token of
/// its own (one initialised token, as a user's fresh SoftHSM has: the suites before it
/// leave a second one in theirs, where a URI without `token=` rightly names two): what
/// a user who `cargo add`s p11 next to p256, signature, rustls and rcgen compiles.
fn downstream(root: &Path) -> Result<()> {
    let env = tokens::softhsm(&root.join("target/p11-test/downstream"))?;
    let dir = root.join("target/downstream");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    copy_tree(&root.join("tests/downstream"), &dir.join("app"))?;
    app_on_packages(root, &dir, "", &PUBLISHED)?;
    run(cargo()
        .current_dir(&dir)
        .args(["run", "--quiet", "--package", "downstream"])
        .envs(env.vars())
        .env("CARGO_TARGET_DIR", root.join("target")))
}

/// Makes `dir` (holding an application in `dir/app`) a workspace whose crates.io p11
/// crates `names` are the packages `cargo package` unpacked (after `patched`, patch lines
/// of the caller's own), with the main lock file, so that what it resolved is reused and
/// the rest is resolved as `cargo add` would.
fn app_on_packages(root: &Path, dir: &Path, patched: &str, names: &[&str]) -> Result<()> {
    let packaged = root.join("target/package-build/package");
    let version = env!("CARGO_PKG_VERSION");
    let mut manifest = format!(
        "[workspace]\nresolver = \"2\"\nmembers = [\"app\"]\n\n[patch.crates-io]\n{patched}"
    );
    for name in names {
        let unpacked = packaged.join(format!("{name}-{version}"));
        anyhow::ensure!(
            unpacked.is_dir(),
            "cargo package left no {}",
            unpacked.display()
        );
        manifest.push_str(&format!("{name} = {{ path = {:?} }}\n", unpacked));
    }
    std::fs::write(dir.join("Cargo.toml"), manifest)?;
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)?.flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Builds the fault-injection module; its path.
fn fault_module() -> Result<PathBuf> {
    run(cargo().args(["build", "--package", "p11-fault-module"]))?;
    let name = format!(
        "{}p11_fault_module{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    Ok(workspace_root().join("target/debug").join(name))
}

/// The integration and fault tests under AddressSanitizer and under valgrind memcheck,
/// against fresh tokens.
pub fn sanitize() -> Result<()> {
    let base = workspace_root().join("target/p11-sanitize");
    let mut env = tokens::softhsm(&base.join("softhsm"))?;
    env.extend(tokens::nss(&base.join("nss"))?);
    let fault_module = fault_module()?;
    sanitize_with(&env, &fault_module)
}

/// The test targets the sanitizers run: p11-core's units and the real-module suites.
const SANITIZED: [&str; 9] = [
    "--package",
    "p11-core",
    "--lib",
    "--package",
    "p11-tests",
    "--test",
    "core",
    "--test",
    "faults",
];

fn sanitize_with(env: &tokens::TokenEnv, fault_module: &Path) -> Result<()> {
    let root = workspace_root();
    let host = host_triple()?;
    step("tests under AddressSanitizer", || {
        // -Zsanitizer is a nightly flag; RUSTC_BOOTSTRAP unlocks it on stable. With an
        // explicit --target the flags spare build scripts and proc-macros.
        run(cargo()
            .args(["test", "--target", &host, "--target-dir"])
            .arg(root.join("target/asan"))
            .args(SANITIZED)
            // One test at a time, as in `cargo test` (SoftHSM's cross-session races).
            .args(["--", "--test-threads=1"])
            .envs(env.vars())
            .env("P11_FAULT_MODULE", fault_module)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("RUSTFLAGS", "-Zsanitizer=address")
            // try_reserve of absurd sizes must get NULL, not a report. Leaks are not
            // checked: the modules under test keep memory until exit, and once they are
            // unloaded LeakSanitizer cannot name (so cannot tell apart) their frames.
            .env("ASAN_OPTIONS", "allocator_may_return_null=1:detect_leaks=0"))
    })?;
    step("tests under valgrind", || {
        ensure_package("valgrind", "valgrind (cargo xtask sanitize)", || {
            have_program("valgrind")
        })?;
        let runner = format!(
            "CARGO_TARGET_{}_RUNNER",
            host.to_uppercase().replace(['-', '.'], "_")
        );
        run(cargo()
            .args(["test"])
            .args(SANITIZED)
            // Fair turns are a property of the scheduler, which valgrind replaces.
            .args(["--", "--skip", "threads_sharing_a_session_take_turns"])
            .envs(env.vars())
            .env("P11_FAULT_MODULE", fault_module)
            .env("P11_STRESS_SECONDS", "2")
            .env(
                runner,
                "valgrind --error-exitcode=99 --errors-for-leak-kinds=none --quiet",
            ))
    })
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Result<String> {
    let out = Command::new("rustc").arg("-vV").output()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV names no host")
}

/// Every example of the workspace, run against a fresh SoftHSM token.
pub fn demo(args: &[&str]) -> Result<()> {
    let post_quantum = match args {
        [] => true,
        ["--no-post-quantum"] => false,
        other => anyhow::bail!("demo takes --no-post-quantum or nothing, not {other:?}"),
    };
    let started = std::time::Instant::now();
    let root = workspace_root();
    eprintln!(
        "p11 demo: a fresh SoftHSM token; p11 on it through the `p11` command (the quickest \
         to build); every example; then {}",
        if post_quantum {
            "the post-quantum example on kryoptic (PKCS#11 3.2; built from source the first \
             time, about 7 minutes: skip it with `cargo xtask demo --no-post-quantum`)"
        } else {
            "nothing more (--no-post-quantum)"
        }
    );
    let env = tokens::softhsm(&root.join("target/p11-demo/softhsm"))?;

    eprintln!("\n=== the p11 command on SoftHSM: build, list, make a key, sign, verify\n");
    run(cargo().args(["build", "--package", "p11-cli"]))?;
    let cli = root.join("target/debug/p11");
    let p11 = |args: &[&str]| -> Result<()> {
        eprintln!("$ p11 {}", args.join(" "));
        run(Command::new(&cli).args(args).envs(env.vars()))
    };
    let message = root.join("target/p11-demo/message.txt");
    let signature = root.join("target/p11-demo/message.sig");
    std::fs::write(&message, "signed on the token\n")?;
    let (message, signature) = (message.to_string_lossy(), signature.to_string_lossy());
    p11(&["tokens"])?;
    p11(&["keygen", "--type", "ec", "--bits", "256", "--label", "demo"])?;
    p11(&[
        "sign", "--key", "demo", "--in", &message, "--out", &signature,
    ])?;
    p11(&[
        "verify",
        "--key",
        "demo",
        "--in",
        &message,
        "--signature",
        &signature,
    ])?;
    p11(&["objects"])?;
    eprintln!(
        "\np11 works on SoftHSM ({}s since the start). Next: every example in \
         crates/*/examples, built with every feature (a few minutes the first time).",
        started.elapsed().as_secs()
    );

    for (package, example) in examples(&root)? {
        eprintln!("\n=== {package}: example {example}\n");
        // Every feature, so that feature-gated examples (RustCrypto signers) run too.
        run(cargo()
            .args([
                "run",
                "--quiet",
                "--all-features",
                "--package",
                &package,
                "--example",
                &example,
            ])
            .envs(env.vars()))?;
    }
    if !post_quantum {
        eprintln!(
            "\nThe post-quantum example was skipped (--no-post-quantum): it runs on kryoptic, \
             built from source the first time; `cargo xtask demo` runs it."
        );
        return Ok(());
    }
    // The post-quantum example again, where it has something to show: on kryoptic.
    eprintln!(
        "\nNext: the post-quantum example on kryoptic (PKCS#11 3.2), built once into \
         target/kryoptic/ (about 7 minutes the first time; progress below)."
    );
    let kryoptic = tokens::kryoptic(&root.join("target/p11-demo/kryoptic"))?;
    eprintln!("\n=== p11: example post_quantum, on kryoptic (PKCS#11 3.2)\n");
    run(cargo()
        .args([
            "run",
            "--quiet",
            "--package",
            "p11",
            "--example",
            "post_quantum",
        ])
        .envs(kryoptic.vars()))?;
    eprintln!("\nThe demo took {}s.", started.elapsed().as_secs());
    Ok(())
}

/// (package, example) for each `crates/*/examples/*.rs`, in name order.
fn examples(root: &Path) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    for krate in std::fs::read_dir(root.join("crates"))?.flatten() {
        let Ok(files) = std::fs::read_dir(krate.path().join("examples")) else {
            continue;
        };
        let package = krate.file_name().to_string_lossy().into_owned();
        for file in files.flatten() {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "rs") {
                if let Some(stem) = path.file_stem() {
                    found.push((package.clone(), stem.to_string_lossy().into_owned()));
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

/// p11-core's and the facade's benches against a fresh SoftHSM token (the post-quantum
/// ones on kryoptic), then a table of each p11 path's
/// time over the raw function-list call's, from criterion's medians. With `--rpc`
/// first: the facade's search and pool benches with the token reached through p11-kit's
/// RPC (`p11-kit server` and its client module), where every call is a round trip.
pub fn bench(args: &[&str]) -> Result<()> {
    let root = workspace_root();
    let mut env = tokens::softhsm(&root.join("target/p11-bench/softhsm"))?;
    let (rpc, args) = match args {
        ["--rpc", rest @ ..] => (true, rest),
        _ => (false, args),
    };
    let _server;
    let benches: &[(&str, &str, &str)] = if rpc {
        let (remote, server) = tokens::p11_kit_remote(&root.join("target/p11-bench/rpc"), &env)?;
        _server = server;
        env = remote;
        env.set("P11_BENCH_VIA", "through p11-kit's RPC".to_owned());
        &[("p11", "facade", ""), ("p11", "pool", "pool")]
    } else {
        // The post-quantum benches' token.
        env.extend(
            tokens::kryoptic(&root.join("target/p11-bench/kryoptic"))?.prefixed("PKCS11_PQ"),
        );
        &[
            ("p11-core", "operations", ""),
            ("p11", "facade", ""),
            ("p11", "pool", "pool"),
        ]
    };
    for (package, bench, features) in benches {
        run(cargo()
            .args(["bench", "--package", package, "--bench", bench])
            .args(["--features", features, "--"])
            .args(args)
            .envs(env.vars()))?;
    }
    println!(
        "\n{:<52} {:>12} {:>12} {:>8}",
        "benchmark", "p11", "raw", "p11/raw"
    );
    let mut groups: Vec<_> = std::fs::read_dir(root.join("target/criterion"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("p11").is_dir() && p.join("raw").is_dir())
        .collect();
    groups.sort();
    for group in groups {
        let median = |side: &str| -> Result<f64> {
            let text = std::fs::read_to_string(group.join(side).join("new/estimates.json"))?;
            let json: serde_json::Value = serde_json::from_str(&text)?;
            json["median"]["point_estimate"]
                .as_f64()
                .context("criterion's estimates.json has no median")
        };
        let raw = median("raw")?;
        let name = group
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // `own`: the pool benches' threads each in a p11 session of its own.
        for side in ["p11", "own"] {
            if !group.join(side).is_dir() {
                continue;
            }
            let time = median(side)?;
            let label = if side == "p11" {
                name.clone()
            } else {
                format!("{name} [{side}]")
            };
            println!(
                "{label:<52} {:>12} {:>12} {:>8.3}",
                nanos(time),
                nanos(raw),
                time / raw
            );
        }
    }
    Ok(())
}

/// Instructions per call, p11's next to the raw function list's, counted by callgrind:
/// the `calls` bench binaries (p11-core's and the facade's) run with 1000 and 2000
/// iterations of each path, the difference halved out of start-up.
pub fn callgrind() -> Result<()> {
    let root = workspace_root();
    ensure_package("valgrind", "valgrind (cargo xtask callgrind)", || {
        have_program("valgrind")
    })?;
    let env = tokens::softhsm(&root.join("target/p11-bench/softhsm"))?;
    println!(
        "{:<10} {:<10} {:>12} {:>12} {:>8}",
        "crate", "path", "p11", "raw", "p11/raw"
    );
    let benches: [(&str, &[&str], &str); 2] = [
        ("p11-core", &["random", "digest", "attributes"], ""),
        (
            "p11",
            &["random", "digest", "hmac", "cmac", "ecdsa"],
            "pool",
        ),
    ];
    for (package, paths, features) in benches {
        let binary = bench_binary(package, "calls", features)?;
        for path in paths {
            let per_call =
                |side: &str| callgrind_per_call(&binary, &format!("{path}-{side}"), 1000, &env);
            let (p11, raw) = (per_call("p11")?, per_call("raw")?);
            println!(
                "{package:<10} {path:<10} {p11:>12} {raw:>12} {:>8.3}",
                p11 as f64 / raw as f64
            );
            if *path == "ecdsa" {
                // The same signature through a one-session pool.
                let pool = per_call("pool")?;
                println!(
                    "{package:<10} {:<10} {pool:>12} {raw:>12} {:>8.3}  (pool/own {:.3})",
                    "ecdsa pool",
                    pool as f64 / raw as f64,
                    pool as f64 / p11 as f64
                );
            }
        }
    }
    // Deterministic ML-DSA-65 on kryoptic: milliseconds a call, under callgrind much
    // more, so fewer calls.
    let pq = tokens::kryoptic(&root.join("target/p11-bench/kryoptic"))?.prefixed("PKCS11_PQ");
    let binary = bench_binary("p11", "calls", "pool")?;
    let per_call = |side: &str| callgrind_per_call(&binary, &format!("mldsa-{side}"), 10, &pq);
    let (p11, raw) = (per_call("p11")?, per_call("raw")?);
    println!(
        "{:<10} {:<10} {p11:>12} {raw:>12} {:>8.5}  (ML-DSA-65, deterministic)",
        "p11",
        "mldsa",
        p11 as f64 / raw as f64
    );
    Ok(())
}

/// The instructions one call of `path` costs: the difference between `2 * calls` and
/// `calls` runs of it, so that start-up and set-up cancel out.
fn callgrind_per_call(
    binary: &Path,
    path: &str,
    calls: u64,
    env: &tokens::TokenEnv,
) -> Result<u64> {
    let (more, fewer) = (
        callgrind_count(binary, path, 2 * calls, env)?,
        callgrind_count(binary, path, calls, env)?,
    );
    more.checked_sub(fewer)
        .map(|extra| extra / calls)
        .with_context(|| {
            format!(
                "{path}: {} calls counted fewer instructions than {calls}",
                2 * calls
            )
        })
}

/// The instructions callgrind counts for `binary PATH COUNT` (the `calls` benches).
fn callgrind_count(binary: &Path, path: &str, count: u64, env: &tokens::TokenEnv) -> Result<u64> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(binary)
        .args([path, &count.to_string()])
        .envs(env.vars())
        .output()?;
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find_map(|l| l.split("Collected : ").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .with_context(|| format!("callgrind printed no count for {path}:\n{text}"))
}

/// Builds `package`'s bench `name` without running it; its executable, as cargo reports it.
fn bench_binary(package: &str, name: &str, features: &str) -> Result<PathBuf> {
    let out = cargo()
        .args(["bench", "--package", package, "--bench", name, "--no-run"])
        .args(["--features", features])
        .args(["--message-format", "json"])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "building {package}'s {name} bench failed"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == name)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .with_context(|| format!("cargo reported no executable for {package}'s {name} bench"))
}

fn nanos(ns: f64) -> String {
    match ns {
        n if n >= 1e9 => format!("{:.2} s", n / 1e9),
        n if n >= 1e6 => format!("{:.2} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.2} µs", n / 1e3),
        n => format!("{n:.0} ns"),
    }
}

/// Runs every p11-asn1 fuzz target for `seconds` each (default 30), installing
/// cargo-fuzz first when it is missing. libFuzzer needs nightly compiler features;
/// `RUSTC_BOOTSTRAP=1` unlocks them on the stable toolchain this project uses.
pub fn fuzz(args: &[&str]) -> Result<()> {
    let seconds: u64 = match args {
        [] => 30,
        [n] => n.parse().context("cargo xtask fuzz [SECONDS]")?,
        _ => anyhow::bail!("usage: cargo xtask fuzz [SECONDS]"),
    };
    let crate_dir = workspace_root().join("crates/p11-asn1");
    let have_fuzz = cargo()
        .args(["fuzz", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have_fuzz {
        eprintln!("xtask: installing cargo-fuzz");
        run(cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let mut targets: Vec<String> = std::fs::read_dir(crate_dir.join("fuzz/fuzz_targets"))?
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            let stem = path.file_stem()?.to_string_lossy().into_owned();
            (path.extension()? == "rs").then_some(stem)
        })
        .collect();
    targets.sort();
    for target in &targets {
        step(&format!("fuzz {target} for {seconds}s"), || {
            run(cargo()
                .current_dir(&crate_dir)
                .args(["fuzz", "run", target, "--"])
                .arg(format!("-max_total_time={seconds}"))
                .env("RUSTC_BOOTSTRAP", "1"))
        })?;
    }
    println!(
        "{} fuzz targets ran {seconds}s each without a crash",
        targets.len()
    );
    Ok(())
}
