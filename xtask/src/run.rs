//! `cargo xtask test` and `cargo xtask demo`.

use crate::system::{run, workspace_root};
use crate::{bindings, tokens};
use anyhow::{Context, Result};
use std::path::Path;
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
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    step("cargo doc", || {
        run(cargo()
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"))
    })?;
    step("bindgen --check", || bindings::generate(None, true))?;
    let env = step("fresh tokens", || {
        let base = root.join("target/p11-test");
        let mut env = tokens::softhsm(&base.join("softhsm"))?;
        env.extend(tokens::nss(&base.join("nss"))?);
        Ok(env)
    })?;
    step("cargo test", || {
        run(cargo().args(["test", "--workspace"]).envs(env.vars()))
    })
}

/// Every example of the workspace, run against a fresh SoftHSM token.
pub fn demo() -> Result<()> {
    let root = workspace_root();
    let env = tokens::softhsm(&root.join("target/p11-demo/softhsm"))?;
    for (package, example) in examples(&root)? {
        eprintln!("\n=== {package}: example {example}\n");
        run(cargo()
            .args([
                "run",
                "--quiet",
                "--package",
                &package,
                "--example",
                &example,
            ])
            .envs(env.vars()))?;
    }
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
