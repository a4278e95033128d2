//! `cargo xtask compat [MODULE...]`: the real-module suites (p11-tests' `core` and
//! `facade`) on each module the xtask can set up, every outcome kept in
//! `target/compat/<module>.json`, and `docs/compatibility.md` written from all that are
//! there: which feature works on which module, and what the module said where not.

use crate::tokens::{self, TokenEnv};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The modules `compat` sets up, in table order.
pub const MODULES: [&str; 4] = ["softhsm", "nss", "kryoptic", "p11-kit-remote"];

/// Rows for modules no machine here can run, kept as python-pkcs11's table has them.
const NOT_RUN: [(&str, &str); 2] = [
    ("Thales nCipher", "hardware HSM; no emulator"),
    (
        "Nitrokey HSM / SmartCard-HSM",
        "hardware token; OpenSC drives it",
    ),
];

/// A test's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Passed,
    /// It printed why it did not run (a capability probe said no).
    Skipped(String),
    /// Its panic message's first line.
    Failed(String),
}

pub fn compat(names: &[&str]) -> Result<()> {
    let root = crate::system::workspace_root();
    let chosen: Vec<&str> = if names.is_empty() {
        MODULES.to_vec()
    } else {
        names.to_vec()
    };
    for name in &chosen {
        if !MODULES.contains(name) {
            bail!(
                "unknown module {name:?}: compat knows {}",
                MODULES.join(", ")
            );
        }
    }
    let out = root.join("target/compat");
    std::fs::create_dir_all(&out)?;
    for name in chosen {
        eprintln!("xtask: == compat: {name}");
        let base = root.join("target/p11-compat").join(name);
        // The server (p11-kit remote) runs until this module's suites end.
        let (env, _server) = module_env(name, &base)?;
        let report = run_module(&root, name, &env)?;
        std::fs::write(
            out.join(format!("{name}.json")),
            serde_json::to_string_pretty(&report)?,
        )?;
    }
    let table = render(&out)?;
    std::fs::write(root.join("docs/compatibility.md"), table)?;
    eprintln!("xtask: wrote docs/compatibility.md");
    Ok(())
}

/// The variables that make `name` the suites' test token.
fn module_env(name: &str, base: &Path) -> Result<(TokenEnv, Option<tokens::Server>)> {
    Ok(match name {
        "softhsm" => (tokens::softhsm(base)?, None),
        "nss" => (tokens::nss(base)?.into_test_token(), None),
        "kryoptic" => (tokens::kryoptic(base)?, None),
        "p11-kit-remote" => {
            let backend = tokens::softhsm(&base.join("softhsm"))?;
            let (env, server) = tokens::p11_kit_remote(&base.join("server"), &backend)?;
            (env, Some(server))
        }
        other => bail!("no set-up for {other}"),
    })
}

/// Both suites on the module (one test at a time, as kryoptic needs), and what the
/// module says of itself.
fn run_module(root: &Path, name: &str, env: &TokenEnv) -> Result<Value> {
    let about = about(root, env)?;
    let mut tests = BTreeMap::new();
    for suite in ["core", "facade"] {
        let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root)
            .args(["test", "--package", "p11-tests", "--test", suite])
            // NSS's own tests (core::nss) run in `cargo xtask test`, whatever the module.
            .args(["--", "--test-threads=1", "--show-output", "--skip", "nss::"])
            .env_clear()
            .envs(outside_tokens())
            .envs(env.vars())
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("running the {suite} suite on {name}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let outcomes = parse(&stdout);
        if outcomes.is_empty() {
            bail!("the {suite} suite on {name} reported no test:\n{stdout}");
        }
        for (test, outcome) in outcomes {
            tests.insert(format!("{suite}::{test}"), outcome_json(&outcome));
        }
    }
    Ok(json!({ "module": name, "about": about, "tests": tests }))
}

/// This process's environment without any token's variables (`PKCS11_*`, the modules'
/// own), so that a module is tested with exactly what its set-up says.
fn outside_tokens() -> Vec<(String, String)> {
    const TOKEN_VARS: [&str; 4] = [
        "SOFTHSM2_CONF",
        "KRYOPTIC_CONF",
        "P11_KIT_SERVER_ADDRESS",
        "P11_FAULT_MODULE",
    ];
    std::env::vars()
        .filter(|(name, _)| !name.starts_with("PKCS11_") && !TOKEN_VARS.contains(&name.as_str()))
        .collect()
}

fn outcome_json(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Passed => json!({ "outcome": "passed" }),
        Outcome::Skipped(why) => json!({ "outcome": "skipped", "why": why }),
        Outcome::Failed(why) => json!({ "outcome": "failed", "why": why }),
    }
}

/// `C_GetInfo` and the mechanism count, through the `p11` command.
fn about(root: &Path, env: &TokenEnv) -> Result<Value> {
    let p11 = |args: &[&str]| -> Result<Value> {
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root)
            .args(["run", "--quiet", "--package", "p11-cli", "--", "--json"])
            .args(args)
            .env_clear()
            .envs(outside_tokens())
            .envs(env.vars())
            .stderr(Stdio::inherit())
            .output()?;
        serde_json::from_slice(&out.stdout)
            .with_context(|| format!("`p11 --json {}` printed no JSON", args.join(" ")))
    };
    let info = p11(&["info"])?;
    let mechanisms = p11(&["mechanisms"])?;
    Ok(json!({
        "description": info["description"],
        "manufacturer": info["manufacturer"],
        "library_version": info["library_version"],
        "cryptoki_version": info["cryptoki_version"],
        "mechanisms": mechanisms.as_array().map_or(0, Vec::len),
    }))
}

/// The outcomes in libtest's output with `--show-output`: the `test NAME ... RESULT`
/// lines, the `skipped` line a passing test printed, a failing test's panic message.
fn parse(stdout: &str) -> BTreeMap<String, Outcome> {
    let mut outcomes = BTreeMap::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        let Some((name, result)) = rest.rsplit_once(" ... ") else {
            continue;
        };
        let outcome = match result.trim() {
            "ok" => Outcome::Passed,
            "FAILED" => Outcome::Failed(String::new()),
            _ => continue,
        };
        outcomes.insert(name.to_owned(), outcome);
    }
    // `---- NAME stdout ----` blocks: what each test printed.
    let mut current: Option<String> = None;
    let mut panicked = false;
    for line in stdout.lines() {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            current = Some(name.to_owned());
            panicked = false;
            continue;
        }
        let Some(name) = &current else { continue };
        let Some(outcome) = outcomes.get_mut(name) else {
            continue;
        };
        match outcome {
            Outcome::Passed if line.contains("skipped") => {
                *outcome = Outcome::Skipped(line.trim().to_owned());
            }
            Outcome::Failed(why) if why.is_empty() => {
                if panicked && !line.trim().is_empty() {
                    *why = line.trim().chars().take(300).collect();
                } else if line.contains("panicked at") {
                    panicked = true;
                }
            }
            _ => {}
        }
    }
    outcomes
}

/// `docs/compatibility.md` from every `target/compat/*.json`.
fn render(dir: &Path) -> Result<String> {
    let mut reports: Vec<Value> = Vec::new();
    for name in MODULES {
        let path: PathBuf = dir.join(format!("{name}.json"));
        if let Ok(text) = std::fs::read_to_string(&path) {
            reports.push(serde_json::from_str(&text)?);
        }
    }
    let mut doc = String::from(
        "# Compatibility\n\n\
         Generated by `cargo xtask compat` from the real-module suites (p11-tests' `core` \
         and `facade`) run against each module on Debian 12; do not edit by hand. Each \
         feature is a group of tests: ✔ every test passed, ✘ one failed (what the module \
         said is listed below), n/a every test skipped by a capability probe (the module \
         lacks the mechanism, function or version), \u{2013} not run.\n\n## Modules\n\n\
         | module | library | Cryptoki | mechanisms |\n|---|---|---|---|\n",
    );
    for report in &reports {
        let about = &report["about"];
        let _ = writeln!(
            doc,
            "| {} | {} {} ({}) | {} | {} |",
            text(&report["module"]),
            text(&about["description"]),
            text(&about["library_version"]),
            text(&about["manufacturer"]),
            text(&about["cryptoki_version"]),
            about["mechanisms"]
        );
    }
    for (name, why) in NOT_RUN {
        let _ = writeln!(doc, "| {name} | not run here: {why} | | |");
    }
    // Features: the test groups (`core::asymmetric`, ...), in name order.
    let groups: BTreeSet<String> = reports
        .iter()
        .filter_map(|report| report["tests"].as_object())
        .flat_map(|tests| tests.keys().map(|test| group_of(test)))
        .collect();
    doc.push_str("\n## Features\n\n| feature |");
    for report in &reports {
        let _ = write!(doc, " {} |", text(&report["module"]));
    }
    for (name, _) in NOT_RUN {
        let _ = write!(doc, " {name} |");
    }
    doc.push_str("\n|---|");
    for _ in 0..reports.len() + NOT_RUN.len() {
        doc.push_str("---|");
    }
    doc.push('\n');
    let mut notes = String::new();
    for group in &groups {
        let _ = write!(doc, "| {group} |");
        for report in &reports {
            let module = text(&report["module"]);
            let tests: Vec<(&String, &Value)> = report["tests"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(test, _)| group_of(test) == *group)
                .collect();
            let failed: Vec<_> = tests
                .iter()
                .filter(|(_, v)| v["outcome"] == "failed")
                .collect();
            let ran = tests.iter().any(|(_, v)| v["outcome"] == "passed");
            let cell = if tests.is_empty() {
                "\u{2013}".to_owned()
            } else if !failed.is_empty() {
                for (test, v) in &failed {
                    let _ = writeln!(notes, "- **{module}**, `{test}`: {}", text(&v["why"]));
                }
                format!("✘ {}/{}", failed.len(), tests.len())
            } else if ran {
                "✔".to_owned()
            } else {
                "n/a".to_owned()
            };
            let _ = write!(doc, " {cell} |");
        }
        for _ in NOT_RUN {
            doc.push_str(" \u{2013} |");
        }
        doc.push('\n');
    }
    if !notes.is_empty() {
        doc.push_str("\n## What failed, and what the module said\n\n");
        doc.push_str(&notes);
    }
    Ok(doc)
}

/// `core::asymmetric::rsa_...` → `core::asymmetric`.
fn group_of(test: &str) -> String {
    let mut parts = test.splitn(3, "::");
    match (parts.next(), parts.next(), parts.next()) {
        (Some(suite), Some(group), Some(_)) => format!("{suite}::{group}"),
        _ => test.to_owned(),
    }
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_output_gives_passed_skipped_and_failed_tests() {
        let out = "\nrunning 3 tests\ntest a::one ... ok\ntest a::two ... ok\n\
                   test b::three ... FAILED\n\nsuccesses:\n\n---- a::two stdout ----\n\
                   skipped: the token has no CKM_EDDSA\n\n\nfailures:\n\n\
                   ---- b::three stdout ----\n\nthread 'b::three' (1) panicked at x.rs:1:2:\n\
                   called `Result::unwrap()` on an `Err` value: Module\nnote: ...\n";
        let parsed = parse(out);
        assert_eq!(parsed["a::one"], Outcome::Passed);
        assert_eq!(
            parsed["a::two"],
            Outcome::Skipped("skipped: the token has no CKM_EDDSA".into())
        );
        assert_eq!(
            parsed["b::three"],
            Outcome::Failed("called `Result::unwrap()` on an `Err` value: Module".into())
        );
        assert_eq!(group_of("core::a::one"), "core::a");
    }
}
