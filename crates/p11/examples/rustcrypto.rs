//! Token keys where RustCrypto code expects a signer: an ECDSA P-256 key and an RSA key
//! on the token sign through `signature::Signer`, and RustCrypto's verifiers check the
//! signatures with the verifying keys read from the token's public keys.
//! Run with `--features rustcrypto` (`cargo xtask demo` does).
use p11::rustcrypto::signature::{Keypair, Signer, Verifier};
use p11::rustcrypto::{p256, rsa, sha2, P256Signer, RsaPssSigner};
use p11::{KeyType, Library, ObjectOptions, OpenOptions, TokenFilter};
use std::env::var;

/// Code that knows nothing of PKCS#11: any RustCrypto signer will do.
fn sign_release<S: Signer<Sig>, Sig>(signer: &S) -> Result<Sig, p11::rustcrypto::signature::Error> {
    signer.try_sign(b"release 1.0")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;

    let (public, private) = session.generate_keypair(KeyType::EC, 256, &ObjectOptions::new())?;
    let ecdsa = P256Signer::new(private, &public)?;
    let signature: p256::ecdsa::DerSignature = sign_release(&ecdsa)?;
    ecdsa.verifying_key().verify(b"release 1.0", &signature)?;
    println!(
        "ECDSA P-256 signature (DER): {} bytes, verified by p256",
        signature.as_bytes().len()
    );

    let (public, private) = session.generate_keypair(KeyType::RSA, 2048, &ObjectOptions::new())?;
    let pss = RsaPssSigner::<sha2::Sha256>::new(private, &public)?;
    let signature: rsa::pss::Signature = sign_release(&pss)?;
    pss.verifying_key().verify(b"release 1.0", &signature)?;
    println!(
        "RSA-PSS signature: {} bytes, verified by rsa",
        Box::<[u8]>::from(signature).len()
    );
    Ok(())
}
