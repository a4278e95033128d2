//! Lists a module's library info, its slots, their tokens, and each token's mechanisms
//! with their key sizes and flags.
//!
//! ```sh
//! PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so cargo run -p p11-core --example tokens
//! ```

use p11_core::{Error, MechanismFlags, Module};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::var("PKCS11_MODULE")
        .map_err(|_| "set PKCS11_MODULE to the path of a PKCS#11 module")?;
    let module = Module::load(&path)?;
    let info = module.info()?;
    println!("Module      {path}");
    println!(
        "Library     {} {} ({}), Cryptoki {}, interface {}",
        info.manufacturer_id,
        info.library_description,
        info.library_version,
        info.cryptoki_version,
        module.interface_version()
    );

    for slot in module.get_slots(false)? {
        let slot_info = slot.info()?;
        println!(
            "\nSlot {:#x}  {} [{}]",
            slot.id(),
            slot_info.slot_description,
            flag_names(slot_info.flags.iter_names())
        );
        let token = match slot.token() {
            Ok(token) => token,
            Err(e @ Error::Module { .. }) => {
                println!("  no usable token: {e}");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let t = token.info()?;
        println!(
            "  Token {:?}  serial {}  {} {}  [{}]",
            t.label,
            t.serial_number,
            t.manufacturer_id,
            t.model,
            flag_names(t.flags.iter_names())
        );
        let open = t.session_count.map_or("unknown".into(), |n| n.to_string());
        println!(
            "  PIN length {}..{}; sessions open: {open}, allowed: {}",
            t.min_pin_len, t.max_pin_len, t.max_session_count
        );
        let mechanisms = slot.mechanisms()?;
        println!("  {} mechanisms:", mechanisms.len());
        println!("    {:<40} {:>7} {:>7}  flags", "mechanism", "min", "max");
        for mechanism in mechanisms {
            let m = slot.mechanism_info(mechanism)?;
            println!(
                "    {:<40} {:>7} {:>7}  {}",
                mechanism.to_string(),
                m.min_key_size,
                m.max_key_size,
                flag_names(
                    m.flags
                        .iter_names()
                        .filter(|(_, f)| *f != MechanismFlags::HW)
                )
            );
        }
    }
    Ok(())
}

fn flag_names<'a, T>(names: impl Iterator<Item = (&'a str, T)>) -> String {
    names.map(|(name, _)| name).collect::<Vec<_>>().join(" ")
}
