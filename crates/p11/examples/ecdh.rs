//! The seed's EC Diffie-Hellman example: parameters for P-256, two parties, the same key
//! derived from each other's point (given raw, as the standard says).
use p11::asn1::ec;
use p11::mechanisms::Ecdh1DeriveParams;
use p11::{
    AttributeType as A, Derive, Key, KeyType, Library, ObjectOptions, OpenOptions, Template,
    TokenFilter,
};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;

    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    let ecparams = Template::new().with(
        A::EC_PARAMS,
        ec::encode_named_curve_parameters("secp256r1")?,
    );
    let parameters = session.local_domain_parameters(KeyType::EC, ecparams);
    let (public, private) = parameters.generate_keypair(&ObjectOptions::new())?;
    let (their_public, their_private) = parameters.generate_keypair(&ObjectOptions::new())?;

    // CKA_EC_POINT is DER; the peer's point goes in raw.
    let point = |key: &p11::PublicKey| -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        Ok(ec::decode_ec_point(&key.get::<Vec<u8>>(A::EC_POINT)?)?)
    };
    let (ours, theirs) = (point(&public)?, point(&their_public)?);
    let readable = ObjectOptions::new().template(
        Template::new()
            .with(A::SENSITIVE, false)
            .with(A::EXTRACTABLE, true),
    );
    let key = private
        .with_param(Ecdh1DeriveParams::new(&theirs))
        .derive_key(KeyType::AES, 128, &readable)?;
    let their_key = their_private
        .with_param(Ecdh1DeriveParams::new(&ours))
        .derive_key(KeyType::AES, 128, &readable)?;

    assert_eq!(
        key.get::<Vec<u8>>(A::VALUE)?,
        their_key.get::<Vec<u8>>(A::VALUE)?
    );
    println!("ECDH on P-256: both parties derived the same AES-128 key");
    Ok(())
}
