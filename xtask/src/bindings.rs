//! `cargo xtask bindgen`: p11-sys from the PKCS#11 headers, and the name tables built from it.

use crate::system::{ensure_package, workspace_root};
use crate::tables;
use anyhow::{bail, Context, Result};
use bindgen::callbacks::{IntKind, ParseCallbacks};
use std::path::{Path, PathBuf};

/// A bindings file and the clang targets it serves. Every target of one file must
/// produce the same text: that is how one committed file is shown to fit them all.
struct Flavour {
    file: &'static str,
    targets: &'static [&'static str],
}

const FLAVOURS: &[Flavour] = &[
    Flavour {
        file: "unix.rs",
        targets: &["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"],
    },
    Flavour {
        file: "windows.rs",
        targets: &["x86_64-pc-windows-msvc"],
    },
];

/// The headers bindings are made from: the wrapper bindgen reads, the folders it
/// searches, and the line that says where the bindings came from.
struct Headers {
    wrapper: PathBuf,
    include: Vec<PathBuf>,
    source: String,
}

impl Headers {
    /// The OASIS headers in vendor-headers/.
    fn standard(root: &Path) -> Headers {
        let dir = root.join("vendor-headers");
        Headers {
            wrapper: dir.join("wrapper.h"),
            include: vec![dir],
            source: "the PKCS#11 headers in vendor-headers/".into(),
        }
    }

    /// A vendor's folder: its own wrapper.h if it has one, else one written to `out` that
    /// includes `pkcs11.h` (the vendor's, else the OASIS one) and then every other header
    /// of the folder, with the platform macros set as vendor-headers/wrapper.h sets them.
    fn vendor(root: &Path, dir: &Path, out: &Path) -> Result<Headers> {
        let standard = root.join("vendor-headers");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .with_context(|| format!("reading the header folder {}", dir.display()))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".h"))
            .collect();
        names.sort();
        if names.is_empty() {
            bail!("{} holds no .h file", dir.display());
        }
        let include = vec![dir.to_path_buf(), standard.clone()];
        let source = format!(
            "the PKCS#11 headers in {} ({}) over the OASIS 3.2 headers",
            dir.display(),
            names.join(", ")
        );
        let own = dir.join("wrapper.h");
        if own.is_file() {
            return Ok(Headers {
                wrapper: own,
                include,
                source,
            });
        }
        let extra: String = names
            .iter()
            .filter(|n| !matches!(n.as_str(), "pkcs11.h" | "pkcs11t.h" | "pkcs11f.h"))
            .map(|n| format!("#include \"{n}\"\n"))
            .collect();
        let template = std::fs::read_to_string(standard.join("wrapper.h"))
            .context("reading vendor-headers/wrapper.h")?;
        let text = template.replace(
            "#include \"pkcs11.h\"\n",
            &format!("#include \"pkcs11.h\"\n{extra}"),
        );
        std::fs::create_dir_all(out)?;
        let wrapper = out.join("wrapper.h");
        std::fs::write(&wrapper, text)?;
        Ok(Headers {
            wrapper,
            include,
            source,
        })
    }
}

/// Regenerates (or, with `check`, verifies) every generated file of the workspace from
/// vendor-headers/.
pub fn generate(check: bool) -> Result<()> {
    ensure_libclang()?;
    let root = workspace_root();
    let standard = Headers::standard(&root);
    let mut outputs = Vec::new();
    let mut unix = None;
    for (flavour, text) in flavours(&standard)? {
        if flavour.file == "unix.rs" {
            unix = Some(text.clone());
        }
        outputs.push((
            root.join("crates/p11-sys/src/bindings").join(flavour.file),
            text,
        ));
    }
    let unix = unix.context("no unix flavour")?;
    let header = std::fs::read_to_string(root.join("vendor-headers/pkcs11t.h"))
        .context("reading vendor-headers/pkcs11t.h")?;
    outputs.extend(tables::generate(&root, &unix, &header)?);

    if check {
        let stale: Vec<String> = outputs
            .iter()
            .filter(|(path, text)| std::fs::read_to_string(path).ok().as_deref() != Some(text))
            .map(|(path, _)| display(&root, path))
            .collect();
        if !stale.is_empty() {
            bail!(
                "generated files are stale: {}; run `cargo xtask bindgen`",
                stale.join(", ")
            );
        }
        println!(
            "bindgen --check: {} generated files up to date",
            outputs.len()
        );
        return Ok(());
    }
    write_all(&root, &outputs)
}

/// A standalone p11-sys crate in `out`, generated from a vendor's headers in `headers`:
/// a concrete Cargo.toml (no workspace inheritance), p11-sys's own lib.rs, bindings for
/// each flavour, a README naming the headers and carrying the OASIS notice, the LICENSE.
/// A fork swaps it in with `[patch.crates-io] p11-sys = { path = ... }`; the crates above
/// use only the standard items, so they build against it unchanged.
pub fn fork(headers: &Path, out: &Path) -> Result<()> {
    ensure_libclang()?;
    let root = workspace_root();
    let vendor = Headers::vendor(&root, headers, out)?;
    let mut outputs = Vec::new();
    for (flavour, text) in flavours(&vendor)? {
        outputs.push((out.join("src/bindings").join(flavour.file), text));
    }
    let sys = root.join("crates/p11-sys");
    let read = |path: &str| {
        std::fs::read_to_string(sys.join(path)).with_context(|| format!("reading p11-sys/{path}"))
    };
    outputs.push((out.join("src/lib.rs"), read("src/lib.rs")?));
    outputs.push((out.join("LICENSE"), read("LICENSE")?));
    let readme = read("README.md")?;
    let licence = readme
        .split("## Licence")
        .nth(1)
        .context("p11-sys/README.md has no Licence section")?;
    outputs.push((
        out.join("README.md"),
        format!(
            "# p11-sys, generated from a vendor's headers\n\n\
             Raw FFI bindings to PKCS#11 (Cryptoki) 3.2 and the vendor's extensions, generated \
             by `cargo xtask bindgen --headers {} --out {}` from {}.\n\n\
             Swap it in for p11-sys under the p11 crates with\n\n\
             ```toml\n[patch.crates-io]\np11-sys = {{ path = \"{}\" }}\n```\n\n\
             ## Licence{licence}",
            headers.display(),
            out.display(),
            vendor.source,
            out.display(),
        ),
    ));
    let version = workspace_field(&root, "version")?;
    outputs.push((
        out.join("Cargo.toml"),
        format!(
            "[package]\n\
             name = \"p11-sys\"\n\
             description = \"Raw FFI bindings to PKCS#11 (Cryptoki) 3.2 with a vendor's extensions\"\n\
             version = \"{version}\"\n\
             edition = \"{}\"\n\
             rust-version = \"{}\"\n\
             license = \"{}\"\n\
             publish = false\n\n\
             [lib]\npath = \"src/lib.rs\"\n",
            workspace_field(&root, "edition")?,
            workspace_field(&root, "rust-version")?,
            workspace_field(&root, "license")?,
        ),
    ));
    write_all(out, &outputs)
}

/// A `[workspace.package]` field of the workspace's Cargo.toml.
fn workspace_field(root: &Path, field: &str) -> Result<String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let package = manifest
        .split("[workspace.package]")
        .nth(1)
        .context("no [workspace.package] in Cargo.toml")?;
    package
        .lines()
        .take_while(|line| !line.starts_with('['))
        .find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == field).then(|| value.trim().trim_matches('"').to_owned())
        })
        .with_context(|| format!("no {field} in [workspace.package]"))
}

/// Each flavour's bindings from `headers`; a flavour's targets must agree.
fn flavours(headers: &Headers) -> Result<Vec<(&'static Flavour, String)>> {
    let mut out = Vec::new();
    for flavour in FLAVOURS {
        let mut text: Option<String> = None;
        for target in flavour.targets {
            let fresh = bindings_for(headers, target)?;
            match &text {
                None => text = Some(fresh),
                Some(first) if *first != fresh => bail!(
                    "bindings for {target} differ from those for {}: \
                     {} cannot serve both",
                    flavour.targets[0],
                    flavour.file
                ),
                Some(_) => {}
            }
        }
        if let Some(text) = text {
            out.push((flavour, text));
        }
    }
    Ok(out)
}

fn write_all(root: &Path, outputs: &[(PathBuf, String)]) -> Result<()> {
    for (path, text) in outputs {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", display(root, path));
    }
    Ok(())
}

fn display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// bindgen loads libclang at run time; install it when it is not there.
fn ensure_libclang() -> Result<()> {
    ensure_package("libclang-dev", "libclang (needed by bindgen)", || {
        if std::env::var_os("LIBCLANG_PATH").is_some() {
            return true;
        }
        let dirs = ["/usr/lib", "/usr/lib64", "/usr/local/lib"];
        dirs.iter().any(|dir| has_libclang(Path::new(dir), 2))
    })
}

fn has_libclang(dir: &Path, depth: u32) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("libclang") && name.contains(".so") && !name.contains("cpp") {
            return true;
        }
        depth > 0 && path.is_dir() && has_libclang(&path, depth - 1)
    })
}

fn bindings_for(headers: &Headers, target: &str) -> Result<String> {
    let wrapper = &headers.wrapper;
    if !wrapper.is_file() {
        bail!(
            "{} not found: the header folder needs a wrapper.h that defines the \
             platform macros and includes pkcs11.h (copy vendor-headers/wrapper.h)",
            wrapper.display()
        );
    }
    let mut builder = bindgen::Builder::default()
        .header(wrapper.to_string_lossy())
        .clang_arg(format!("--target={target}"));
    for dir in &headers.include {
        builder = builder.clang_arg(format!("-I{}", dir.display()));
    }
    let bindings = builder
        .raw_line(format!(
            "// Generated by `cargo xtask bindgen` from {}.",
            headers.source
        ))
        .raw_line("// Do not edit: change the headers or the generator, then run it again.")
        .allowlist_type("CK_.*")
        .allowlist_var("CK.*")
        // `(~0UL)` is evaluated as 64 bits whatever the target; p11-sys writes it by hand.
        .blocklist_item("CK_UNAVAILABLE_INFORMATION")
        .use_core()
        .ctypes_prefix("::core::ffi")
        .derive_default(true)
        .formatter(bindgen::Formatter::Prettyplease)
        .parse_callbacks(Box::new(TypedConstants))
        .generate()
        .with_context(|| format!("bindgen failed on {} for {target}", wrapper.display()))?;
    Ok(bindings.to_string())
}

/// Gives each `#define`d constant the C type it belongs to (`CKA_*` as `CK_ATTRIBUTE_TYPE`,
/// ...), rather than bindgen's guess from its literal.
#[derive(Debug)]
struct TypedConstants;

impl ParseCallbacks for TypedConstants {
    fn int_macro(&self, name: &str, _value: i64) -> Option<IntKind> {
        constant_type(name).map(|name| IntKind::Custom {
            name,
            is_signed: false,
        })
    }
}

/// The C type of a constant, by its name. Longer prefixes come first.
fn constant_type(name: &str) -> Option<&'static str> {
    const BY_PREFIX: &[(&str, &str)] = &[
        ("CK_TRUE", "CK_BBOOL"),
        ("CK_FALSE", "CK_BBOOL"),
        ("CK_INVALID_HANDLE", "CK_OBJECT_HANDLE"),
        ("CK_OTP_FORMAT_", "CK_ULONG"),
        ("CK_OTP_PARAM_", "CK_ULONG"),
        ("CK_OTP_", "CK_OTP_PARAM_TYPE"),
        ("CK_CERTIFICATE_CATEGORY_", "CK_CERTIFICATE_CATEGORY"),
        ("CK_SECURITY_DOMAIN_", "CK_JAVA_MIDP_SECURITY_DOMAIN"),
        (
            "CK_SP800_108_DKM_LENGTH_SUM_",
            "CK_SP800_108_DKM_LENGTH_METHOD",
        ),
        ("CK_SP800_108_", "CK_PRF_DATA_TYPE"),
        ("CK_", "CK_ULONG"),
        ("CKA_", "CK_ATTRIBUTE_TYPE"),
        ("CKC_", "CK_CERTIFICATE_TYPE"),
        ("CKD_", "CK_EC_KDF_TYPE"),
        ("CKF_", "CK_FLAGS"),
        ("CKG_MGF1_", "CK_RSA_PKCS_MGF_TYPE"),
        ("CKG_", "CK_GENERATOR_FUNCTION"),
        ("CKH_HEDGE_", "CK_HEDGE_TYPE"),
        ("CKH_DETERMINISTIC_", "CK_HEDGE_TYPE"),
        ("CKH_", "CK_HW_FEATURE_TYPE"),
        ("CKK_", "CK_KEY_TYPE"),
        ("CKM_", "CK_MECHANISM_TYPE"),
        ("CKN_", "CK_NOTIFICATION"),
        ("CKO_", "CK_OBJECT_CLASS"),
        (
            "CKP_PKCS5_PBKD2_",
            "CK_PKCS5_PBKD2_PSEUDO_RANDOM_FUNCTION_TYPE",
        ),
        ("CKP_ML_DSA_", "CK_ML_DSA_PARAMETER_SET_TYPE"),
        ("CKP_SLH_DSA_", "CK_SLH_DSA_PARAMETER_SET_TYPE"),
        ("CKP_ML_KEM_", "CK_ML_KEM_PARAMETER_SET_TYPE"),
        ("CKP_", "CK_PROFILE_ID"),
        ("CKR_", "CK_RV"),
        ("CKS_LAST_VALIDATION_", "CK_SESSION_VALIDATION_FLAGS_TYPE"),
        ("CKS_", "CK_STATE"),
        ("CKT_", "CK_TRUST"),
        ("CKU_", "CK_USER_TYPE"),
        ("CKV_AUTHORITY_TYPE_", "CK_VALIDATION_AUTHORITY_TYPE"),
        ("CKV_TYPE_", "CK_VALIDATION_TYPE"),
        ("CKZ_DATA_", "CK_RSA_PKCS_OAEP_SOURCE_TYPE"),
        ("CKZ_SALT_", "CK_PKCS5_PBKDF2_SALT_SOURCE_TYPE"),
    ];
    BY_PREFIX
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, ty)| *ty)
}
