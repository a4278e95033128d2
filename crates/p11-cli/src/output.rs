//! Human text or JSON, and errors with a hint at what to do.

use p11::Error;
use p11::ReturnValue;
use serde_json::{json, Value};
use std::io::Write as _;

/// Where results go: stdout, as text or as JSON.
pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    /// Prints `value` as JSON with `--json`, else the text `human` makes of it.
    pub fn print(&self, value: Value, human: impl FnOnce(&Value) -> String) {
        if self.json {
            say(&format!("{value:#}"));
        } else {
            let text = human(&value);
            if !text.is_empty() {
                say(text.trim_end());
            }
        }
    }
}

/// Writes a line to stdout. A reader that went away (`p11 objects | head -1`) ends the
/// command quietly, as it ends other Unix tools; any other failure is an error exit.
fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        let _ = writeln!(std::io::stderr(), "error: writing the output: {e}");
        std::process::exit(i32::from(crate::status::FAILED));
    }
}

/// A command line clap did not understand: its message (JSON on stdout with `--json`,
/// else clap's own), exit status 2; `--help` and `--version` as clap prints them.
pub fn usage(error: &clap::Error) -> std::process::ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return std::process::ExitCode::SUCCESS;
    }
    if std::env::args_os().any(|arg| arg == "--json") {
        let message = error.render().to_string();
        // The paragraph before the usage line: what was wrong, and which argument.
        let what = message
            .lines()
            .take_while(|line| !line.trim().is_empty())
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
        say(&format!(
            "{:#}",
            json!({ "error": what.trim_start_matches("error: "), "usage": message })
        ));
    } else {
        let _ = error.print();
    }
    std::process::ExitCode::from(crate::status::USAGE)
}

/// A JSON string's text, or "" (for text output).
pub fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

/// Prints the error with its causes and, where p11 can tell, what to do about it; as a
/// JSON object on stdout with `--json`.
pub fn error(error: &anyhow::Error, json: bool) {
    let causes: Vec<String> = error.chain().map(|cause| cause.to_string()).collect();
    let hint = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<Error>().and_then(hint));
    if json {
        say(&format!(
            "{:#}",
            json!({ "error": causes.join(": "), "hint": hint })
        ));
        return;
    }
    eprintln!("error: {}", causes.join(": "));
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
}

fn hint(error: &Error) -> Option<&'static str> {
    if let Error::Module { function, rv, .. } = error {
        return Some(match (*function, *rv) {
            (p11::Function::Initialize, ReturnValue::ArgumentsBad) => {
                "this module wants an init string: NSS's softoken, for one, needs \
                 --init-args \"configdir='sql:DIR'\" (or PKCS11_INIT_ARGS)"
            }
            (_, ReturnValue::PinIncorrect | ReturnValue::PinInvalid | ReturnValue::PinLenRange) => {
                "check the PIN (--pin, PKCS11_TOKEN_PIN, a URI's pin-source); tokens lock \
                 after a few wrong tries"
            }
            (_, ReturnValue::PinLocked) => {
                "the PIN is locked: the security officer must set a new one (init-pin)"
            }
            (_, ReturnValue::UserNotLoggedIn) => "log in: pass --pin or set PKCS11_TOKEN_PIN",
            (_, ReturnValue::MechanismInvalid) => "`p11 mechanisms` lists what the token offers",
            (_, ReturnValue::TokenWriteProtected) => "the token is read-only",
            _ => return None,
        });
    }
    Some(match error {
        Error::Load { .. } | Error::NotAModule { .. } => {
            "check --module (or PKCS11_MODULE): it must name a PKCS#11 shared library"
        }
        Error::NoSuchToken { .. } | Error::MultipleTokens { .. } => {
            "name one token with --token LABEL or a pkcs11: URI; `p11 tokens` lists them"
        }
        Error::NoSuchKey(_) | Error::MultipleObjects(_) => {
            "`p11 objects` lists the token's objects and their URIs"
        }
        _ => return None,
    })
}

/// A spec name from what a user types: `ec-edwards` → `CKK_EC_EDWARDS` for `prefix`
/// `CKK_`; names already prefixed, numbers and vendor names pass unchanged but for case.
pub fn spec_name(typed: &str, prefix: &str) -> String {
    let upper = typed.to_ascii_uppercase().replace('-', "_");
    let numeric = upper.starts_with(|c: char| c.is_ascii_digit());
    if numeric || upper.starts_with(prefix) {
        upper
    } else {
        format!("{prefix}{upper}")
    }
}
