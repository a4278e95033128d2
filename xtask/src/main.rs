//! `cargo xtask`: the project's automation.
//!
//! ```text
//! cargo xtask bindgen [--check]                  regenerate p11-sys and the name tables
//! cargo xtask bindgen --headers DIR --out DIR     a standalone p11-sys from a vendor's headers
//! cargo xtask softhsm DIR                         a fresh SoftHSM token under DIR, as export lines
//! cargo xtask nss DIR                             a fresh NSS database under DIR, as export lines
//! cargo xtask kryoptic DIR                        a fresh kryoptic (PKCS#11 3.2) token, as export lines
//! cargo xtask test                                fmt, clippy, docs, bindgen --check, then the tests
//! cargo xtask compat [MODULE...]                  the suites on each module; docs/compatibility.md
//! cargo xtask sanitize                          the real-module tests under ASan and valgrind
//! cargo xtask demo [--no-post-quantum]            p11 and the examples against a fresh token
//! cargo xtask bench [--rpc] [ARGS]                benches against a fresh token, and ratios
//! cargo xtask callgrind                           instructions per call, p11 next to raw
//! cargo xtask fuzz [SECONDS]                      every p11-asn1 fuzz target, bounded
//! cargo xtask public-api [--bless]                the public API listings checked, or written
//! cargo xtask msrv                                what the published crates pull supports their MSRV
//! ```

mod bindings;
mod compat;
mod kryoptic;
mod public_api;
mod run;
mod system;
mod tables;
mod tokens;

use anyhow::{bail, Result};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  bindgen [--check]                  regenerate crates/p11-sys (and the name tables) from
                                     vendor-headers/; --check fails when stale
  bindgen --headers DIR --out DIR    a standalone p11-sys crate in OUT from a vendor's headers
                                     in DIR (over the OASIS ones), to swap in with [patch]
  softhsm DIR                        install SoftHSM if needed, make a token under DIR,
                                     print the export lines for it
  nss DIR                            an NSS softoken database under DIR, as export lines
  kryoptic DIR                       build kryoptic (PKCS#11 3.2, post-quantum) once into
                                     target/kryoptic/, make a token under DIR, print the
                                     export lines for it
  test                               fmt, clippy, docs, bindgen --check, the packaged crates built
                                     and doc-tested, the vendor fork built and run, fresh tokens,
                                     cargo test, the core and facade suites on every module
                                     compat knows (failing on any failure not the module's own),
                                     then sanitize
  compat [MODULE...]                 the real-module suites on each module (softhsm, nss, kryoptic,
                                     opencryptoki, tpm2, opensc, p11-kit-trust, p11-kit-remote;
                                     all without names), outcomes kept in target/compat/,
                                     docs/compatibility.md written from them
  sanitize                           the real-module and fault tests under AddressSanitizer
                                     and valgrind memcheck
  demo [--no-post-quantum]           the p11 command, then every example, against a fresh
                                     SoftHSM token; then the post-quantum example on kryoptic
                                     (built from source the first time), unless told not to
  bench [--rpc] [ARGS]               p11-core's and p11's benches (the pool's from 1, 4 and 8
                                     threads too) against a fresh SoftHSM token, then each path's
                                     time over the raw call's (ARGS: criterion); --rpc: the
                                     facade's search and pool benches through p11-kit's RPC
  callgrind                          instructions per call (core: random, digest, typed attribute
                                     read; facade: HMAC, CMAC and ECDSA signing, ECDSA through a
                                     pool), p11 by the raw function list, counted by callgrind
  fuzz [SECONDS]                     every p11-asn1 fuzz target for SECONDS (30) each
  public-api [--bless]               each library crate's public API (rustdoc JSON) against its
                                     listing in docs/public-api/; --bless writes the listings
  msrv                               every package the published crates build on (all features,
                                     Cargo.lock) supports their rust-version (part of test)";

fn main() -> ExitCode {
    match dispatch(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(args: Vec<String>) -> Result<()> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["bindgen"] => bindings::generate(false),
        ["bindgen", "--check"] => bindings::generate(true),
        ["bindgen", "--headers", headers, "--out", out] => {
            bindings::fork(&PathBuf::from(headers), &PathBuf::from(out))
        }
        ["softhsm", dir] => {
            let token = tokens::softhsm(&PathBuf::from(dir))?;
            print!("{}", token.export_lines());
            Ok(())
        }
        ["nss", dir] => {
            print!("{}", tokens::nss(&PathBuf::from(dir))?.export_lines());
            Ok(())
        }
        ["kryoptic", dir] => {
            print!("{}", tokens::kryoptic(&PathBuf::from(dir))?.export_lines());
            Ok(())
        }
        ["test"] => run::test(),
        ["compat", rest @ ..] => compat::compat(rest),
        ["sanitize"] => run::sanitize(),
        ["demo", rest @ ..] => run::demo(rest),
        ["bench", rest @ ..] => run::bench(rest),
        ["callgrind"] => run::callgrind(),
        ["msrv"] => run::check_msrv(&system::workspace_root()),
        ["fuzz", rest @ ..] => run::fuzz(rest),
        ["public-api"] => public_api::check(&system::workspace_root(), false),
        ["public-api", "--bless"] => public_api::check(&system::workspace_root(), true),
        ["help" | "--help" | "-h"] | [] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => bail!("unknown command {:?}\n\n{USAGE}", args.join(" ")),
    }
}
