//! The seed's ECDSA example: local domain parameters for secp256r1, a key pair, a
//! signature with the default ECDSA_SHA512 (composed from SHA512 and ECDSA on tokens that
//! lack it, such as SoftHSM, where python-pkcs11's same example fails).
use p11::asn1::ec;
use p11::{
    AttributeType, KeyType, Library, ObjectOptions, OpenOptions, Sign, Template, TokenFilter,
    Verify,
};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let data = b"INPUT DATA";

    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    let params = Template::new().with(
        AttributeType::EC_PARAMS,
        ec::encode_named_curve_parameters("secp256r1")?,
    );
    let ecparams = session.local_domain_parameters(KeyType::EC, params);
    let (public, private) = ecparams.generate_keypair(&ObjectOptions::new())?;
    let signature = private.sign(data)?;

    assert!(public.verify(data, &signature)?);
    println!(
        "ECDSA P-256 with SHA-512: {}-byte r||s signature",
        signature.len()
    );
    Ok(())
}
