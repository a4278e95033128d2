//! From the command line to a session: the module (with its init string), the token (by
//! label or URI), and the PIN (flag or environment, a URI's pin-value or pin-source, or
//! a prompt).

use crate::Cli;
use anyhow::{bail, Context, Result};
use p11::InitArgs;
use p11::{Library, OpenOptions, Session, Token, TokenFilter, Uri};
use std::io::IsTerminal;

/// The loaded module and what the command line says about token and PINs.
pub struct Connection<'a> {
    pub library: Library,
    cli: &'a Cli,
    /// `--token` when it is a URI.
    uri: Option<Uri>,
}

/// Whether a session needs the user logged in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Login {
    /// Log in when a PIN is at hand (flag, environment, URI); never prompt.
    IfPin,
    /// Log in, prompting for the PIN when none is given.
    User,
    /// Log in as the security officer.
    SecurityOfficer,
}

impl<'a> Connection<'a> {
    /// Loads the module `--module` names, else the one a `--token` URI names.
    pub fn open(cli: &'a Cli) -> Result<Connection<'a>> {
        let uri = match cli.token.as_deref() {
            Some(text) if text.starts_with("pkcs11:") => Some(
                text.parse::<Uri>()
                    .context("--token is not a valid PKCS#11 URI")?,
            ),
            _ => None,
        };
        let library = match (&cli.module, &uri) {
            (Some(path), _) => {
                let mut args = InitArgs::new();
                if let Some(reserved) = &cli.init_args {
                    args = args
                        .reserved(reserved)
                        .context("--init-args must not contain a NUL byte")?;
                }
                Library::load_with(path, args)
                    .with_context(|| format!("loading the module {}", path.display()))?
            }
            (None, Some(uri)) if uri.module_path.is_some() || uri.module_name.is_some() => {
                Library::load_uri(uri).context("loading the module the --token URI names")?
            }
            _ => bail!(
                "no module given: pass --module PATH or set PKCS11_MODULE \
                 (e.g. /usr/lib/softhsm/libsofthsm2.so)"
            ),
        };
        Ok(Connection { library, cli, uri })
    }

    /// The token `--token` names; the only one present when none is named.
    pub fn token(&self) -> Result<Token> {
        let filter = match (&self.uri, self.cli.token.as_deref()) {
            (Some(uri), _) => TokenFilter::new().uri(uri),
            (None, Some(label)) => TokenFilter::new().label(label),
            (None, None) => TokenFilter::new(),
        };
        Ok(self.library.get_token(&filter)?)
    }

    /// A read/write session on the token, logged in as `login` says.
    pub fn session(&self, login: Login) -> Result<Session> {
        let token = self.token()?;
        let mut options = OpenOptions::new().rw();
        match login {
            Login::SecurityOfficer => {
                let pin = self.so_pin()?;
                options = options.so_pin(pin.as_str());
            }
            Login::User | Login::IfPin => {
                if let Some(pin) = &self.cli.pin {
                    options = options.user_pin(pin.as_str());
                } else if let Some(uri) = self.uri.as_ref().filter(|u| has_pin(u)) {
                    options = options.uri(uri)?;
                } else if login == Login::User {
                    let pin = prompt(&format!("User PIN for {}: ", token.label()))?;
                    options = options.user_pin(pin.as_str());
                }
            }
        }
        Ok(token.open(&options)?)
    }

    /// The user PIN given (`--pin`, `PKCS11_TOKEN_PIN`), else a prompt.
    pub fn user_pin(&self) -> Result<zeroize::Zeroizing<String>> {
        match &self.cli.pin {
            Some(pin) => Ok(zeroize::Zeroizing::new(pin.clone())),
            None => prompt("Current user PIN: "),
        }
    }

    /// A read/write session on the token, logged in as the user with `pin`.
    pub fn session_with_pin(&self, pin: &str) -> Result<Session> {
        Ok(self.token()?.open(&OpenOptions::new().rw().user_pin(pin))?)
    }

    /// The SO PIN: `--so-pin` or `PKCS11_TOKEN_SO_PIN`, else a prompt.
    pub fn so_pin(&self) -> Result<zeroize::Zeroizing<String>> {
        match &self.cli.so_pin {
            Some(pin) => Ok(zeroize::Zeroizing::new(pin.clone())),
            None => prompt("Security officer PIN: "),
        }
    }
}

fn has_pin(uri: &Uri) -> bool {
    uri.pin_value.is_some() || uri.pin_source.is_some()
}

/// Asks on the terminal, without echo; an error (with what to do) without one.
pub fn prompt(question: &str) -> Result<zeroize::Zeroizing<String>> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "a PIN is needed and there is no terminal to ask on: pass --pin, set \
             PKCS11_TOKEN_PIN, or name a pin-source in a --token URI"
        );
    }
    Ok(zeroize::Zeroizing::new(rpassword::prompt_password(
        question,
    )?))
}
