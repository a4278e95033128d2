//! Certificates: store an X.509 certificate as an object with the attributes util takes
//! from it, find it again by subject, and read its public key.
use p11::asn1::{pem, CertificateInfo};
use p11::{AttributeType as A, Library, ObjectOptions, OpenOptions, Template, TokenFilter};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let session = token.open(&OpenOptions::new().rw().user_pin(var("PKCS11_TOKEN_PIN")?))?;

    let (label, der) = pem::decode(include_str!("data/ca.pem"))?;
    let info = CertificateInfo::from_der(&der)?;
    let stored = session.import_certificate(&der, &ObjectOptions::new().label("p11 example CA"))?;
    let found =
        session.get_certificates(&Template::new().with(A::SUBJECT, info.subject.clone()))?;
    println!(
        "{label}: stored, found {} by subject; serial {:02x?}",
        found.len(),
        info.serial_number
    );
    println!("public key: {:?}", info.public_key()?);
    stored.destroy()?;
    Ok(())
}
