//! The public API of every library crate, listed in `docs/public-api/` and checked by
//! `cargo xtask test`: a change to what users can name is a change a reviewer sees.
//!
//! The listings come from rustdoc's JSON output (unstable: `RUSTC_BOOTSTRAP=1`, as the
//! `public-api` crate reads it), with blanket, auto-trait and auto-derived impls left
//! out.

use crate::system::run;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// The library crates whose API is listed, with the features documented.
const CRATES: [(&str, &str); 5] = [
    ("p11-sys", ""),
    ("p11-mechanisms", ""),
    ("p11-core", "tracing"),
    ("p11-asn1", ""),
    ("p11", "rcgen,rustcrypto,rustls,pool,tracing"),
];

/// The rustdoc JSON format `public-api` 0.52.1 reads (that of Rust 1.95).
const FORMAT_VERSION: u64 = 57;

/// Writes the listings (`bless`) or fails when one differs from the crate's API now.
pub fn check(root: &Path, bless: bool) -> Result<()> {
    let target = root.join("target/public-api");
    let listings = root.join("docs/public-api");
    let mut stale = Vec::new();
    for (krate, features) in CRATES {
        let listing = listing(root, &target, krate, features)?;
        let path = listings.join(format!("{krate}.txt"));
        if bless {
            std::fs::create_dir_all(&listings)?;
            std::fs::write(&path, &listing)?;
            eprintln!("xtask: wrote {}", path.display());
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != listing {
            stale.push(difference(krate, &committed, &listing));
        }
    }
    if !stale.is_empty() {
        bail!(
            "the public API changed; review it, then run `cargo xtask public-api --bless`:\n{}",
            stale.join("\n")
        );
    }
    Ok(())
}

/// The crate's public API, one item a line.
fn listing(root: &Path, target: &Path, krate: &str, features: &str) -> Result<String> {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root)
        .args(["rustdoc", "--quiet", "--lib", "--package", krate])
        .args(["--features", features])
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTDOCFLAGS");
    run(&mut cmd)?;
    let json = target.join(format!("doc/{}.json", krate.replace('-', "_")));
    let text = std::fs::read_to_string(&json)
        .with_context(|| format!("rustdoc wrote no {}", json.display()))?;
    let version = serde_json::from_str::<serde_json::Value>(&text)?
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_default();
    if version != FORMAT_VERSION {
        bail!(
            "rustdoc writes JSON format {version}, and the public-api crate here reads \
             {FORMAT_VERSION}: pin the public-api version that reads {version} in \
             xtask/Cargo.toml (its changelog names the format of each release)"
        );
    }
    let api = public_api::Builder::from_rustdoc_json(&json)
        .omit_blanket_impls(true)
        .omit_auto_trait_impls(true)
        .omit_auto_derived_impls(true)
        .build()
        .with_context(|| format!("reading {}", json.display()))?;
    Ok(format!("{api}"))
}

/// The lines one listing has and the other lacks, at most 20 of each.
fn difference(krate: &str, committed: &str, now: &str) -> String {
    let before: std::collections::BTreeSet<&str> = committed.lines().collect();
    let after: std::collections::BTreeSet<&str> = now.lines().collect();
    let removed: Vec<&str> = before.difference(&after).copied().collect();
    let added: Vec<&str> = after.difference(&before).copied().collect();
    let mut out = format!(
        "{krate}: {} items added, {} removed\n",
        added.len(),
        removed.len()
    );
    for line in removed.iter().take(20) {
        out.push_str(&format!("  - {line}\n"));
    }
    for line in added.iter().take(20) {
        out.push_str(&format!("  + {line}\n"));
    }
    out
}
