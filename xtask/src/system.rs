//! The machine: where the workspace is, running commands, installing Debian packages.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

/// Runs `cmd`, failing with its command line when it cannot start or exits non-zero.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// Whether a program is on `PATH`.
pub fn have_program(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

/// Whether the Debian package `name` is installed (for libraries and headers, which no
/// program on `PATH` reveals).
pub fn have_debian_package(name: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}", name])
        .output()
        .is_ok_and(|out| out.stdout.ends_with(b"install ok installed"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// Installs Debian `package` with apt when `present` says it is missing.
///
/// Works only as root on a machine with apt; anywhere else it fails with a message that
/// names the package, so that the user can install it by their own means.
pub fn ensure_package(package: &str, what: &str, present: impl Fn() -> bool) -> Result<()> {
    if present() {
        return Ok(());
    }
    if !is_root() || !have_program("apt-get") {
        bail!(
            "{what} is missing: install the Debian/Ubuntu package `{package}` \
             (or its equivalent) and run again"
        );
    }
    static APT_UPDATE: Once = Once::new();
    let mut update_result = Ok(());
    APT_UPDATE.call_once(|| {
        eprintln!("xtask: apt-get update");
        update_result = run(Command::new("apt-get")
            .args(["update", "-q"])
            .stdout(std::io::stderr()));
    });
    update_result?;
    eprintln!("xtask: installing {package} ({what})");
    // Its report goes to stderr: stdout may be export lines a shell evaluates.
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends", package])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(std::io::stderr()))?;
    if !present() {
        bail!("installed `{package}`, but {what} is still missing");
    }
    Ok(())
}

/// The first existing file among `candidates`, or in a `*-linux-gnu` multiarch folder of
/// /usr/lib with the given file name.
pub fn find_library(candidates: &[&str], multiarch_name: &str) -> Option<PathBuf> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| {
            std::fs::read_dir("/usr/lib")
                .ok()?
                .flatten()
                .find_map(|entry| {
                    let path = entry.path().join(multiarch_name);
                    path.is_file().then_some(path)
                })
        })
}
