//! Throwaway test tokens: SoftHSM (the main one), NSS's softoken, and kryoptic (the
//! PKCS#11 3.2 one).

use crate::system::{ensure_package, find_library, have_debian_package, have_program, run};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The label, user PIN and SO PIN of every token the xtask makes.
pub const LABEL: &str = "TEST";
pub const USER_PIN: &str = "1234";
pub const SO_PIN: &str = "12345678";

/// Environment variables that tell the tests and examples where their token is.
#[derive(Debug, Default)]
pub struct TokenEnv {
    vars: Vec<(String, String)>,
}

impl TokenEnv {
    /// The variables of a test token (`TEST`, its PINs) in `module`.
    fn test_token(module: &Path) -> TokenEnv {
        let mut env = TokenEnv::default();
        env.set("PKCS11_MODULE", module.to_string_lossy());
        env.set("PKCS11_TOKEN_LABEL", LABEL);
        env.set("PKCS11_TOKEN_PIN", USER_PIN);
        env.set("PKCS11_TOKEN_SO_PIN", SO_PIN);
        env
    }

    pub(crate) fn set(&mut self, name: &str, value: impl Into<String>) {
        self.vars.push((name.to_owned(), value.into()));
    }

    /// NSS's variables (`PKCS11_NSS_*`, from [`nss`]) as those of the test token, its
    /// init string as `PKCS11_INIT_ARGS`.
    pub fn into_test_token(self) -> TokenEnv {
        let mut env = TokenEnv::default();
        for (name, value) in self.vars {
            let name = match name.as_str() {
                "PKCS11_NSS_MODULE" => "PKCS11_MODULE",
                "PKCS11_NSS_INIT_ARGS" => "PKCS11_INIT_ARGS",
                "PKCS11_NSS_PIN" => "PKCS11_TOKEN_PIN",
                _ => continue,
            };
            env.set(name, value);
        }
        env.set("PKCS11_TOKEN_LABEL", LABEL);
        env
    }

    /// Adds every variable of `other`.
    pub fn extend(&mut self, other: TokenEnv) {
        self.vars.extend(other.vars);
    }

    /// The same variables, those named `PKCS11_*` renamed `{prefix}_*`: a second token
    /// beside the main one.
    pub fn prefixed(self, prefix: &str) -> TokenEnv {
        let vars = self
            .vars
            .into_iter()
            .map(|(name, value)| match name.strip_prefix("PKCS11_") {
                Some(rest) => (format!("{prefix}_{rest}"), value),
                None => (name, value),
            })
            .collect();
        TokenEnv { vars }
    }

    /// The variables, for `Command::envs`.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `export NAME='value'` lines for a shell.
    pub fn export_lines(&self) -> String {
        self.vars
            .iter()
            .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', r"'\''")))
            .collect()
    }
}

/// A fresh SoftHSM token (label `TEST`) in its own configuration under `dir`.
///
/// Installs `softhsm2` with apt when it is missing (as root); `PKCS11_MODULE`, when set,
/// names the SoftHSM library to use instead of looking for it.
pub fn softhsm(dir: &Path) -> Result<TokenEnv> {
    ensure_package("softhsm2", "SoftHSMv2 (softhsm2-util)", || {
        have_program("softhsm2-util")
    })?;
    let module = match std::env::var_os("PKCS11_MODULE") {
        Some(path) => PathBuf::from(path),
        None => find_library(
            &[
                "/usr/lib/softhsm/libsofthsm2.so",
                "/usr/local/lib/softhsm/libsofthsm2.so",
                "/usr/lib64/softhsm/libsofthsm2.so",
            ],
            "softhsm/libsofthsm2.so",
        )
        .context("softhsm2-util is installed, but libsofthsm2.so was not found; set PKCS11_MODULE to its path")?,
    };
    let dir = fresh_dir(dir)?;
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens)?;
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )?;
    run(Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", LABEL])
        .args(["--pin", USER_PIN, "--so-pin", SO_PIN])
        .env("SOFTHSM2_CONF", &conf)
        .stdout(std::process::Stdio::null()))?;

    let mut env = TokenEnv::test_token(&module);
    env.set("SOFTHSM2_CONF", conf.to_string_lossy());
    Ok(env)
}

/// A fresh NSS softoken database under `dir` (user PIN `1234`), as the variables
/// `PKCS11_NSS_MODULE`, `PKCS11_NSS_INIT_ARGS` (the `pReserved` string NSS needs) and
/// `PKCS11_NSS_PIN`.
pub fn nss(dir: &Path) -> Result<TokenEnv> {
    ensure_package("libnss3-tools", "NSS's certutil", || {
        have_program("certutil")
    })?;
    let find = || find_library(&["/usr/lib64/libsoftokn3.so"], "libsoftokn3.so");
    ensure_package("libnss3", "NSS's softoken (libsoftokn3.so)", || {
        find().is_some()
    })?;
    let Some(module) = find() else {
        bail!("libsoftokn3.so not found after installing libnss3");
    };
    let dir = fresh_dir(dir)?;
    let pin_file = dir.join("pin.txt");
    std::fs::write(&pin_file, format!("{USER_PIN}\n"))?;
    run(Command::new("certutil")
        .arg("-N")
        .arg("-d")
        .arg(format!("sql:{}", dir.display()))
        .arg("-f")
        .arg(&pin_file))?;

    let mut env = TokenEnv::default();
    env.set("PKCS11_NSS_MODULE", module.to_string_lossy());
    env.set(
        "PKCS11_NSS_INIT_ARGS",
        format!(
            "configdir='sql:{}' certPrefix='' keyPrefix='' secmod='secmod.db' flags= dbTokenDescription='{LABEL}'",
            dir.display()
        ),
    );
    env.set("PKCS11_NSS_PIN", USER_PIN);
    Ok(env)
}

/// A fresh kryoptic token (label `TEST`) in an SQLite file under `dir`, the module built
/// first when the cache has none (see [`crate::kryoptic`]).
pub fn kryoptic(dir: &Path) -> Result<TokenEnv> {
    let module = crate::kryoptic::module()?;
    ensure_package("opensc", "OpenSC's pkcs11-tool", || {
        have_program("pkcs11-tool")
    })?;
    let dir = fresh_dir(dir)?;
    let conf = dir.join("kryoptic.conf");
    std::fs::write(
        &conf,
        format!(
            "[[slots]]\nslot = 1\ndescription = \"p11 test slot\"\ndbtype = \"sqlite\"\n\
             dbargs = \"{}\"\n",
            dir.join("token.sql").display()
        ),
    )?;
    let tool = || {
        let mut cmd = Command::new("pkcs11-tool");
        cmd.arg("--module")
            .arg(&module)
            .env("KRYOPTIC_CONF", &conf)
            .stdout(std::process::Stdio::null());
        cmd
    };
    run(tool()
        .args(["--slot", "1", "--init-token", "--label", LABEL])
        .args(["--so-pin", SO_PIN]))?;
    run(tool()
        .args(["--token-label", LABEL, "--login", "--login-type", "so"])
        .args(["--so-pin", SO_PIN, "--init-pin", "--new-pin", USER_PIN]))?;

    let mut env = TokenEnv::test_token(&module);
    env.set("KRYOPTIC_CONF", conf.to_string_lossy());
    Ok(env)
}

/// `dir`, emptied (or made), as an absolute path.
fn fresh_dir(dir: &Path) -> Result<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(std::fs::canonicalize(dir)?)
}

/// p11-kit's trust module over a fresh folder `dir/TEST` holding one self-signed CA
/// certificate: a token labelled `TEST` (the folder's name, given as the module's
/// `paths=` init string), with certificates and trust objects only — no mechanisms, no
/// login (the PIN is empty), no security officer.
pub fn p11_kit_trust(dir: &Path) -> Result<TokenEnv> {
    let find = || {
        find_library(
            &["/usr/lib64/pkcs11/p11-kit-trust.so"],
            "pkcs11/p11-kit-trust.so",
        )
    };
    ensure_package("p11-kit-modules", "p11-kit's trust module", || {
        find().is_some()
    })?;
    ensure_package("openssl", "the openssl command", || have_program("openssl"))?;
    let module = find().context("p11-kit-trust.so not found after installing p11-kit-modules")?;
    let dir = fresh_dir(dir)?;
    let anchors = dir.join(LABEL);
    std::fs::create_dir_all(&anchors)?;
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "3650", "-subj", "/CN=p11 test CA"])
        .arg("-keyout")
        .arg(dir.join("test-ca.key"))
        .arg("-out")
        .arg(anchors.join("test-ca.pem"))
        .stderr(std::process::Stdio::null()))?;
    let mut env = TokenEnv::default();
    env.set("PKCS11_MODULE", module.to_string_lossy());
    env.set("PKCS11_TOKEN_LABEL", LABEL);
    env.set("PKCS11_TOKEN_PIN", "");
    env.set("PKCS11_INIT_ARGS", format!("paths={}", anchors.display()));
    Ok(env)
}

/// Daemons a set-up started, stopped by their PIDs when dropped (also when the tests
/// that needed them fail).
#[derive(Debug, Default)]
pub struct Server {
    children: Vec<std::process::Child>,
    /// Daemons that fork themselves: their PIDs as recorded at start.
    pids: Vec<u32>,
}

impl Server {
    fn child(child: std::process::Child) -> Server {
        Server {
            children: vec![child],
            pids: Vec::new(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Last started, first stopped: a daemon may need the one before it to shut down.
        // SIGTERM first, so that each cleans up after itself (pcscd removes its socket).
        for child in self.children.iter_mut().rev() {
            stop_child(child);
        }
        for pid in self.pids.iter().rev() {
            stop_pid(*pid);
        }
    }
}

/// SIGTERM to `pid`, then up to five seconds for it to go (a process we did not start,
/// so not ours to reap).
fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status();
}

/// SIGTERM to a child, up to five seconds for it to exit, then SIGKILL.
fn stop_child(child: &mut std::process::Child) {
    terminate(child.id());
    for _ in 0..50 {
        if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// SIGTERM to `pid`, then up to five seconds for it to go.
fn stop_pid(pid: u32) {
    terminate(pid);
    let alive = || Path::new(&format!("/proc/{pid}")).exists();
    for _ in 0..50 {
        if !alive() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Waits up to five seconds for `ready`.
fn wait_for(ready: impl Fn() -> bool) -> bool {
    for _ in 0..100 {
        if ready() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    ready()
}

/// A fresh openCryptoki software token (slot 3, label `TEST`), with its slot daemon
/// `pkcsslotd` running while the returned [`Server`] lives.
///
/// openCryptoki 3.8 (Debian 12) compiles its paths in: there is one software token per
/// machine, in /var/lib/opencryptoki/swtok. Its contents are moved to
/// `dir/previous-swtok` first, so nothing is lost; a `pkcsslotd` already running is
/// stopped (it would keep the old token in shared memory). Needs root.
pub fn opencryptoki(dir: &Path) -> Result<(TokenEnv, Server)> {
    const SLOT: &str = "3";
    const DEFAULT_SO_PIN: &str = "87654321";
    const PID_FILE: &str = "/run/pkcsslotd.pid";
    const SWTOK: &str = "/var/lib/opencryptoki/swtok";
    let daemon = Path::new("/usr/sbin/pkcsslotd");
    ensure_package("opencryptoki", "openCryptoki (pkcsslotd, pkcsconf)", || {
        daemon.exists()
    })?;
    let module = find_library(
        &[
            "/usr/lib/pkcs11/libopencryptoki.so",
            "/usr/lib64/opencryptoki/libopencryptoki.so",
        ],
        "pkcs11/libopencryptoki.so",
    )
    .context("openCryptoki is installed, but libopencryptoki.so was not found")?;
    let dir = fresh_dir(dir)?;

    let is_slotd =
        |pid: u32| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == daemon);
    let recorded = || {
        std::fs::read_to_string(PID_FILE)
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok())
    };
    if let Some(pid) = recorded().filter(|pid| is_slotd(*pid)) {
        eprintln!("xtask: stopping the running pkcsslotd ({pid})");
        stop_pid(pid);
    }
    let _ = std::fs::remove_file(PID_FILE);

    // A fresh token: the old one kept aside, its shared memory gone.
    let swtok = Path::new(SWTOK);
    if swtok.exists() {
        let kept = dir.join("previous-swtok");
        run(Command::new("cp").arg("-a").arg(swtok).arg(&kept))?;
        std::fs::remove_dir_all(swtok)?;
    }
    std::fs::create_dir_all(swtok.join("TOK_OBJ"))?;
    let _ = std::fs::remove_file("/dev/shm/var.lib.opencryptoki.swtok");
    // What the package's tmpfiles.d would make at boot.
    for sub in ["", "icsf", "swtok", "tpm", "lite", "ccatok", "ep11tok"] {
        std::fs::create_dir_all(Path::new("/run/lock/opencryptoki").join(sub))?;
    }
    std::fs::create_dir_all("/var/log/opencryptoki")?;
    let group = |path: &str| {
        let _ = Command::new("chown")
            .args(["-R", "root:pkcs11", path])
            .status();
    };
    group(SWTOK);
    group("/run/lock/opencryptoki");

    run(&mut Command::new(daemon))?;
    if !wait_for(|| recorded().is_some() && Path::new("/run/pkcsslotd.socket").exists()) {
        bail!("pkcsslotd did not start (no {PID_FILE})");
    }
    let mut server = Server::default();
    server.pids.extend(recorded());

    let pkcsconf = |args: &[&str]| {
        let mut cmd = Command::new("pkcsconf");
        cmd.args(["-c", SLOT])
            .args(args)
            .current_dir(&dir)
            .stdout(std::process::Stdio::null());
        cmd
    };
    let mut init = pkcsconf(&["-I", "-S", DEFAULT_SO_PIN])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .context("starting pkcsconf")?;
    if let Some(mut stdin) = init.stdin.take() {
        use std::io::Write as _;
        writeln!(stdin, "{LABEL}")?;
    }
    if !init.wait()?.success() {
        bail!("pkcsconf could not initialise the openCryptoki token");
    }
    run(&mut pkcsconf(&["-P", "-S", DEFAULT_SO_PIN, "-n", SO_PIN]))?;
    run(&mut pkcsconf(&["-u", "-S", SO_PIN, "-n", USER_PIN]))?;
    Ok((TokenEnv::test_token(&module), server))
}

/// A fresh tpm2-pkcs11 token (label `TEST`) on a software TPM, with the daemons it
/// needs running while the returned [`Server`] lives: `swtpm` (TCP on loopback), a
/// private D-Bus session bus under `dir`, and `tpm2-abrmd` on it (the resource manager:
/// without it the TPM runs out of transient object slots after a few operations).
/// Needs no kernel TPM and no system D-Bus.
pub fn tpm2(dir: &Path) -> Result<(TokenEnv, Server)> {
    for (package, what, present) in [
        ("swtpm", "the software TPM", have_program("swtpm")),
        (
            "libtss2-tcti-swtpm0",
            "the swtpm TCTI",
            have_debian_package("libtss2-tcti-swtpm0"),
        ),
        (
            "tpm2-abrmd",
            "the TPM resource manager",
            have_program("tpm2-abrmd"),
        ),
        (
            "libtss2-tcti-tabrmd0",
            "the abrmd TCTI",
            have_debian_package("libtss2-tcti-tabrmd0"),
        ),
        (
            "libtpm2-pkcs11-1",
            "tpm2-pkcs11",
            have_debian_package("libtpm2-pkcs11-1"),
        ),
        ("dbus-daemon", "a D-Bus daemon", have_program("dbus-daemon")),
        (
            "tpm2-tools",
            "tpm2_dictionarylockout",
            have_program("tpm2_dictionarylockout"),
        ),
        (
            "opensc",
            "OpenSC's pkcs11-tool",
            have_program("pkcs11-tool"),
        ),
    ] {
        ensure_package(package, what, || present || have_debian_package(package))?;
    }
    let module = find_library(&[], "pkcs11/libtpm2_pkcs11.so")
        .context("libtpm2-pkcs11-1 is installed, but pkcs11/libtpm2_pkcs11.so was not found")?;
    let dir = fresh_dir(dir)?;
    let mut server = Server::default();

    // swtpm: data on a free port, control on the next (the swtpm TCTI assumes so).
    std::fs::create_dir_all(dir.join("swtpm"))?;
    let port = free_port_pair()?;
    let pid_file = dir.join("swtpm.pid");
    run(Command::new("swtpm")
        .args([
            "socket",
            "--tpm2",
            "--daemon",
            "--flags",
            "not-need-init,startup-clear",
        ])
        .arg("--tpmstate")
        .arg(format!("dir={}", dir.join("swtpm").display()))
        .arg("--server")
        .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
        .arg("--ctrl")
        .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1))
        .arg("--pid")
        .arg(format!("file={}", pid_file.display())))?;
    let read_pid = |path: &Path| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok())
    };
    if !wait_for(|| read_pid(&pid_file).is_some()) {
        bail!("swtpm did not start (no {})", pid_file.display());
    }
    server.pids.extend(read_pid(&pid_file));

    // A private session bus.
    let bus = dir.join("dbus.sock");
    std::fs::write(
        dir.join("dbus.conf"),
        format!(
            "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n \
             \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n<busconfig>\n\
             <type>session</type>\n<listen>unix:path={}</listen>\n<auth>EXTERNAL</auth>\n\
             <policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\
             <allow eavesdrop=\"true\"/><allow own=\"*\"/></policy>\n</busconfig>\n",
            bus.display()
        ),
    )?;
    let dbus = Command::new("dbus-daemon")
        .arg("--nofork")
        .arg(format!("--config-file={}", dir.join("dbus.conf").display()))
        .stderr(std::fs::File::create(dir.join("dbus.log"))?)
        .spawn()
        .context("starting dbus-daemon")?;
    server.children.push(dbus);
    if !wait_for(|| bus.exists()) {
        bail!("dbus-daemon did not open {}", bus.display());
    }
    let bus_address = format!("unix:path={}", bus.display());

    let abrmd = Command::new("tpm2-abrmd")
        .args(["--session", "--allow-root", "--flush-all"])
        .arg(format!("--tcti=swtpm:host=127.0.0.1,port={port}"))
        .env("DBUS_SESSION_BUS_ADDRESS", &bus_address)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("abrmd.log"))?)
        .spawn()
        .context("starting tpm2-abrmd")?;
    server.children.push(abrmd);

    let mut env = TokenEnv::test_token(&module);
    let store = dir.join("store");
    std::fs::create_dir_all(&store)?;
    env.set("TPM2_PKCS11_STORE", store.to_string_lossy());
    env.set("TPM2_PKCS11_TCTI", "tabrmd:bus_type=session");
    env.set("TPM2_PKCS11_LOG_LEVEL", "0");
    env.set("DBUS_SESSION_BUS_ADDRESS", bus_address);
    let tool = || {
        let mut cmd = Command::new("pkcs11-tool");
        cmd.arg("--module").arg(&module).envs(env.vars());
        cmd
    };
    let answering = || {
        tool()
            .arg("-L")
            .stderr(std::process::Stdio::null())
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("Slot"))
    };
    if !wait_for(answering) {
        bail!(
            "tpm2-pkcs11 does not answer through tpm2-abrmd (see {})",
            dir.join("abrmd.log").display()
        );
    }
    // The tests try wrong PINs on purpose; the TPM's dictionary-attack protection would
    // lock the user out after a few (CKR_PIN_LOCKED for every test after).
    run(Command::new("tpm2_dictionarylockout")
        .args([
            "--setup-parameters",
            "--max-tries=1000",
            "--recovery-time=1",
        ])
        .args(["--lockout-recovery-time=1", "--clear-lockout"])
        .env("TPM2TOOLS_TCTI", "tabrmd:bus_type=session")
        .envs(env.vars())
        .stdout(std::process::Stdio::null()))?;
    run(tool()
        .args(["--slot-index", "0", "--init-token", "--label", LABEL])
        .args(["--so-pin", SO_PIN])
        .stdout(std::process::Stdio::null()))?;
    run(tool()
        .args(["--token-label", LABEL, "--login", "--login-type", "so"])
        .args(["--so-pin", SO_PIN, "--init-pin", "--new-pin", USER_PIN])
        .stdout(std::process::Stdio::null()))?;
    Ok((env, server))
}

/// The user and admin PINs of an OpenPGP card as it leaves the factory.
const OPENPGP_PIN: &str = "123456";
const OPENPGP_ADMIN_PIN: &str = "12345678";
/// The PyPI package whose card logic plays the OpenPGP card.
const JCECARD: &str = "jcecard==0.1.0";

/// OpenSC's module in front of an emulated OpenPGP card, with an RSA-2048 key pair in
/// each of the card's three key slots (`CKA_ID` 01 signature, 02 decryption, 03
/// authentication), made on the card through PKCS#11 with the admin PIN (the card's SO).
/// `pcscd` serves the reader of vsmartcard's `vpcd` driver, to which a small bridge
/// (`tokens/vpcd_bridge.py`) connects the card logic of the PyPI package jcecard, in a
/// venv under the workspace's `target/`. The token is the card's "User PIN" slot.
///
/// Machine-wide: Debian's pcscd always serves /run/pcscd, so a pcscd already running
/// is an error here rather than something stopped.
pub fn opensc(dir: &Path) -> Result<(TokenEnv, Server)> {
    let pcscd = Path::new("/usr/sbin/pcscd");
    ensure_package("pcscd", "the PC/SC daemon", || pcscd.exists())?;
    for (package, what) in [
        ("vsmartcard-vpcd", "the virtual smart-card reader driver"),
        ("opensc-pkcs11", "OpenSC's PKCS#11 module"),
        ("python3-venv", "Python's venv"),
        ("python3-cryptography", "Python's cryptography"),
    ] {
        ensure_package(package, what, || have_debian_package(package))?;
    }
    ensure_package("opensc", "OpenSC's pkcs11-tool", || {
        have_program("pkcs11-tool")
    })?;
    let module = find_library(&[], "opensc-pkcs11.so")
        .context("opensc-pkcs11 is installed, but opensc-pkcs11.so was not found")?;
    let driver = ["/usr/lib/pcsc/drivers/serial/libifdvpcd.so"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .context("vsmartcard-vpcd is installed, but libifdvpcd.so was not found")?;
    let socket = Path::new("/run/pcscd/pcscd.comm");
    let running = std::fs::read_to_string("/run/pcscd/pcscd.pid")
        .ok()
        .and_then(|pid| pid.trim().parse::<u32>().ok())
        .filter(|pid| Path::new(&format!("/proc/{pid}")).exists());
    if let Some(pid) = running {
        bail!(
            "a pcscd ({pid}) is already serving {}: stop it first (the emulated card \
             needs its own)",
            socket.display()
        );
    }
    // What a pcscd that did not shut down cleanly left.
    let _ = std::fs::remove_file(socket);
    let python = jcecard_venv()?;
    let dir = fresh_dir(dir)?;
    let mut server = Server::default();

    // pcscd with the vpcd reader only (a reader folder of its own).
    let port = free_port_pair()?;
    let readers = dir.join("reader.conf.d");
    std::fs::create_dir_all(&readers)?;
    std::fs::write(
        readers.join("vpcd"),
        format!(
            "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME /dev/null:{port}\nLIBPATH {}\nCHANNELID {port}\n",
            driver.display()
        ),
    )?;
    server.children.push(
        Command::new(pcscd)
            .arg("--foreground")
            .arg("-c")
            .arg(&readers)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("pcscd.log"))?)
            .spawn()
            .context("starting pcscd")?,
    );
    if !wait_for(|| socket.exists()) {
        bail!(
            "pcscd did not start (see {})",
            dir.join("pcscd.log").display()
        );
    }
    // The card, connecting to vpcd's port.
    let bridge = dir.join("vpcd_bridge.py");
    std::fs::write(&bridge, include_str!("tokens/vpcd_bridge.py"))?;
    server.children.push(
        Command::new(&python)
            .arg(&bridge)
            .args(["127.0.0.1", &port.to_string()])
            .arg(dir.join("card"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("bridge.log"))?)
            .spawn()
            .context("starting the card bridge")?,
    );
    let tool = || {
        let mut cmd = Command::new("pkcs11-tool");
        cmd.arg("--module").arg(&module);
        cmd
    };
    let label = "OpenPGP card (User PIN)";
    let present = || {
        tool()
            .arg("-L")
            .stderr(std::process::Stdio::null())
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(label))
    };
    if !wait_for(present) {
        bail!(
            "no OpenPGP card through pcscd (see {} and {})",
            dir.join("pcscd.log").display(),
            dir.join("bridge.log").display()
        );
    }
    // An OpenPGP card makes keys only with the admin PIN, into its three slots; the third
    // is left for the suites to make a key in as a user of the card would
    // (`facade::held`).
    for id in ["01", "02"] {
        run(tool()
            .args(["--token-label", label, "--login", "--login-type", "so"])
            .args([
                "--so-pin",
                OPENPGP_ADMIN_PIN,
                "--keypairgen",
                "--key-type",
                "rsa:2048",
            ])
            .args(["--id", id])
            .stdout(std::process::Stdio::null()))?;
    }
    let mut env = TokenEnv::default();
    env.set("PKCS11_MODULE", module.to_string_lossy());
    env.set("PKCS11_TOKEN_LABEL", label);
    env.set("PKCS11_TOKEN_PIN", OPENPGP_PIN);
    env.set("PKCS11_TOKEN_SO_PIN", OPENPGP_ADMIN_PIN);
    Ok((env, server))
}

/// A venv under target/ on Debian's Python (its cryptography package) with jcecard, made
/// once; its python. `--no-deps`: jcecard's other dependency, a Rust extension, is not
/// used by the card logic.
fn jcecard_venv() -> Result<PathBuf> {
    let venv = crate::system::workspace_root().join("target/opensc-venv");
    let python = venv.join("bin/python");
    let ready = || {
        Command::new(&python)
            .args(["-c", "import jcecard.main"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready() {
        return Ok(python);
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv)?;
    }
    eprintln!("xtask: making {} with {JCECARD} (PyPI)", venv.display());
    run(Command::new("/usr/bin/python3")
        .args(["-m", "venv", "--system-site-packages"])
        .arg(&venv)
        .stdout(std::process::Stdio::null()))?;
    run(Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-deps",
            JCECARD,
        ])
        .stdout(std::io::stderr()))?;
    if !ready() {
        bail!(
            "{JCECARD} is installed in {} but does not import",
            venv.display()
        );
    }
    Ok(python)
}

/// A TCP port on loopback that is free, and whose successor is free too.
fn free_port_pair() -> Result<u16> {
    for _ in 0..20 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no two free neighbouring ports on 127.0.0.1")
}

/// The SoftHSM token of `backend` served by `p11-kit server` on a unix socket under
/// `dir`, and reached through p11-kit's client module: a module on "another machine",
/// every call going over p11-kit's RPC. The variables are those of a test token, plus
/// `P11_KIT_SERVER_ADDRESS`; the server runs while the returned value lives.
pub fn p11_kit_remote(dir: &Path, backend: &TokenEnv) -> Result<(TokenEnv, Server)> {
    let client = || {
        find_library(
            &["/usr/lib64/pkcs11/p11-kit-client.so"],
            "pkcs11/p11-kit-client.so",
        )
    };
    ensure_package("p11-kit-modules", "p11-kit's client module", || {
        client().is_some()
    })?;
    ensure_package("p11-kit", "the p11-kit command", || have_program("p11-kit"))?;
    let Some(client) = client() else {
        bail!("p11-kit-client.so not found after installing p11-kit-modules");
    };
    let var = |name: &str| {
        backend
            .vars()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
            .with_context(|| format!("the backend token has no {name}"))
    };
    let dir = fresh_dir(dir)?;
    let socket = dir.join("p11-kit.sock");
    // -f: in the foreground, so that the child is the server itself.
    let child = Command::new("p11-kit")
        .args(["server", "-f", "-s", "-n"])
        .arg(&socket)
        .arg("--provider")
        .arg(var("PKCS11_MODULE")?)
        .arg(format!("pkcs11:token={LABEL}"))
        .envs(backend.vars())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("server.log"))?)
        .spawn()
        .context("starting p11-kit server")?;
    let server = Server::child(child);
    if !wait_for(|| socket.exists()) {
        bail!(
            "p11-kit server did not open {} (see {})",
            socket.display(),
            dir.join("server.log").display()
        );
    }
    let mut env = TokenEnv::test_token(&client);
    env.set(
        "P11_KIT_SERVER_ADDRESS",
        format!("unix:path={}", socket.display()),
    );
    Ok((env, server))
}
