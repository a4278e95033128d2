//! Signing and verifying with each key type's default, and RSA-PSS; DSA and ECDSA
//! signatures converted to DER for other tools.
use p11::asn1::{dsa, ec};
use p11::{
    KeyType, Library, Mechanism, MechanismType as M, ObjectOptions, OpenOptions, Sign, TokenFilter,
    Verify,
};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    let data = b"the message";

    let aes = session.generate_key(KeyType::AES, 256, &ObjectOptions::new())?;
    let mac = aes.sign(data)?;
    println!(
        "AES-CMAC: {} bytes, verifies: {}",
        mac.len(),
        aes.verify(data, &mac)?
    );

    for (key_type, bits) in [
        (KeyType::RSA, 2048),
        (KeyType::DSA, 1024),
        (KeyType::EC, 256),
        (KeyType::EC_EDWARDS, 255),
    ] {
        let (public, private) = session.generate_keypair(key_type, bits, &ObjectOptions::new())?;
        let signature = private.sign(data)?;
        println!(
            "{key_type}: {}-byte signature, verifies: {}",
            signature.len(),
            public.verify(data, &signature)?
        );
        match key_type {
            KeyType::DSA => println!(
                "  as DER Dss-Sig-Value: {} bytes",
                dsa::encode_dsa_signature(&signature)?.len()
            ),
            KeyType::EC => println!(
                "  as DER ECDSA-Sig-Value: {} bytes",
                ec::encode_ecdsa_signature(&signature)?.len()
            ),
            KeyType::RSA => {
                let pss = Mechanism::new(M::SHA256_RSA_PKCS_PSS);
                let signature = private.with_mechanism(&pss).sign(data)?;
                println!(
                    "  RSA-PSS (SHA-256, MGF1-SHA256, 32-byte salt): verifies {}",
                    public.with_mechanism(&pss).verify(data, &signature)?
                );
            }
            _ => {}
        }
    }
    Ok(())
}
