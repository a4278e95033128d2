//! The module, its slots, tokens and mechanisms; setting a token and its PINs up.

use crate::connect::{prompt, Connection, Login};
use crate::output::{text, Output};
use anyhow::{bail, Context, Result};
use p11::TokenInfo;
use p11::Uri;
use serde_json::{json, Value};
use std::fmt::Write;

/// The names of the flags set, as `A|B`.
fn names<F: bitflags::Flags>(flags: F) -> String {
    let set: Vec<&str> = flags.iter_names().map(|(name, _)| name).collect();
    set.join("|")
}

pub fn info(connection: &Connection, out: &Output) -> Result<()> {
    let info = connection.library.info()?;
    let value = json!({
        "cryptoki_version": info.cryptoki_version.to_string(),
        "manufacturer": info.manufacturer_id,
        "description": info.library_description,
        "library_version": info.library_version.to_string(),
        // PKCS #11 2.x modules have no interface list.
        "interfaces": connection.library.module().interfaces().unwrap_or_default().iter()
            .map(|i| match i.version {
                Some(version) => format!("{} {version}", i.name),
                None => i.name.clone(),
            }).collect::<Vec<_>>(),
    });
    out.print(value, |v| {
        format!(
            "Cryptoki   {}\nLibrary    {} {} ({})\nInterfaces {}",
            text(&v["cryptoki_version"]),
            text(&v["description"]),
            text(&v["library_version"]),
            text(&v["manufacturer"]),
            v["interfaces"].as_array().map_or(String::new(), |all| {
                all.iter().map(text).collect::<Vec<_>>().join(", ")
            }),
        )
    });
    Ok(())
}

pub fn slots(connection: &Connection, out: &Output) -> Result<()> {
    let mut slots = Vec::new();
    for slot in connection.library.get_slots(false)? {
        let info = slot.info()?;
        slots.push(json!({
            "id": slot.id().raw(),
            "description": info.slot_description,
            "manufacturer": info.manufacturer_id,
            "flags": names(info.flags),
            "token_present": info.flags.contains(p11::SlotFlags::TOKEN_PRESENT),
        }));
    }
    out.print(Value::Array(slots), |v| {
        let mut s = String::new();
        for slot in v.as_array().into_iter().flatten() {
            let _ = writeln!(
                s,
                "slot {:<12} {} ({}) [{}]",
                slot["id"],
                text(&slot["description"]),
                text(&slot["manufacturer"]),
                text(&slot["flags"])
            );
        }
        s
    });
    Ok(())
}

/// A token's URI: what it says of itself.
pub fn token_uri(info: &TokenInfo) -> Uri {
    let given = |text: &String| Some(text.clone()).filter(|t| !t.is_empty());
    let mut uri = Uri::new();
    uri.token = given(&info.label);
    uri.manufacturer = given(&info.manufacturer_id);
    uri.model = given(&info.model);
    uri.serial = given(&info.serial_number);
    uri
}

pub fn tokens(connection: &Connection, out: &Output) -> Result<()> {
    let mut tokens = Vec::new();
    for slot in connection.library.get_slots(true)? {
        let info = slot.get_token()?.info()?;
        tokens.push(json!({
            "slot": slot.id().raw(),
            "label": info.label,
            "manufacturer": info.manufacturer_id,
            "model": info.model,
            "serial": info.serial_number,
            "flags": names(info.flags),
            "uri": token_uri(&info).to_string(),
        }));
    }
    out.print(Value::Array(tokens), |v| {
        let mut s = String::new();
        for token in v.as_array().into_iter().flatten() {
            let _ = writeln!(
                s,
                "{:<32} slot {}, {} {} #{}\n  {}\n  [{}]",
                text(&token["label"]),
                token["slot"],
                text(&token["manufacturer"]),
                text(&token["model"]),
                text(&token["serial"]),
                text(&token["uri"]),
                text(&token["flags"]),
            );
        }
        s
    });
    Ok(())
}

pub fn mechanisms(connection: &Connection, out: &Output) -> Result<()> {
    let slot = connection.token()?.slot();
    let mut mechanisms = Vec::new();
    for mechanism in slot.get_mechanisms()? {
        let info = slot.get_mechanism_info(mechanism)?;
        mechanisms.push(json!({
            "name": mechanism.to_string(),
            "min_key_size": info.min_key_size,
            "max_key_size": info.max_key_size,
            "flags": names(info.flags),
        }));
    }
    out.print(Value::Array(mechanisms), |v| {
        let mut s = String::new();
        for m in v.as_array().into_iter().flatten() {
            let _ = writeln!(
                s,
                "{:<36} {:>6}..{:<6} {}",
                text(&m["name"]),
                m["min_key_size"],
                m["max_key_size"],
                text(&m["flags"])
            );
        }
        s
    });
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct InitToken {
    /// The slot's id (`p11 slots`).
    #[arg(long)]
    slot: u64,
    /// The new token's label (at most 32 bytes).
    #[arg(long)]
    label: String,
}

pub fn init_token(connection: &Connection, args: &InitToken, out: &Output) -> Result<()> {
    let slot = connection
        .library
        .get_slots(false)?
        .into_iter()
        .find(|slot| slot.id().raw() == args.slot)
        .with_context(|| format!("the module has no slot {} (`p11 slots`)", args.slot))?;
    let so_pin = connection.so_pin()?;
    let token = slot.init_token(so_pin.as_str(), &args.label)?;
    let info = token.info()?;
    out.print(
        json!({ "label": info.label, "uri": token_uri(&info).to_string() }),
        |v| format!("initialised {}", text(&v["uri"])),
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct NewPin {
    /// The new user PIN (else `PKCS11_NEW_PIN`, else a prompt, twice).
    #[arg(long, env = "PKCS11_NEW_PIN", hide_env_values = true)]
    new_pin: Option<String>,
}

impl NewPin {
    fn pin(&self) -> Result<zeroize::Zeroizing<String>> {
        if let Some(pin) = &self.new_pin {
            return Ok(zeroize::Zeroizing::new(pin.clone()));
        }
        let pin = prompt("New user PIN: ")?;
        if *pin != *prompt("Again: ")? {
            bail!("the two PINs differ");
        }
        Ok(pin)
    }
}

pub fn init_pin(connection: &Connection, args: &NewPin, out: &Output) -> Result<()> {
    let session = connection.session(Login::SecurityOfficer)?;
    session.init_pin(args.pin()?.as_str())?;
    out.print(json!({ "done": "init-pin" }), |_| "user PIN set".into());
    Ok(())
}

pub fn set_pin(connection: &Connection, args: &NewPin, out: &Output) -> Result<()> {
    let old = connection.user_pin()?;
    let session = connection.session_with_pin(old.as_str())?;
    session.set_pin(old.as_str(), args.pin()?.as_str())?;
    out.print(json!({ "done": "set-pin" }), |_| "user PIN changed".into());
    Ok(())
}
