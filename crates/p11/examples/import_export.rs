//! Importing and exporting keys and certificates: public keys out as SubjectPublicKeyInfo
//! and PEM, back in through util; PKCS #1 for RSA; an X.509 certificate in.
use p11::asn1::{pem, CertificateInfo, PublicKey as Asn1PublicKey};
use p11::{util, KeyType, Library, ObjectOptions, OpenOptions, TokenFilter};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let session = token.open(&OpenOptions::new().rw().user_pin(var("PKCS11_TOKEN_PIN")?))?;

    for (key_type, bits) in [
        (KeyType::RSA, 2048),
        (KeyType::DSA, 1024),
        (KeyType::EC, 256),
    ] {
        let (public, _) = session.generate_keypair(key_type, bits, &ObjectOptions::new())?;
        let spki = public.to_spki_der()?;
        println!(
            "{key_type}: {} bytes of SubjectPublicKeyInfo\n{}",
            spki.len(),
            public.to_pem()?.lines().next().unwrap_or_default()
        );
        if let Asn1PublicKey::Rsa(rsa) = util::public_key_of(&public)? {
            println!("  as PKCS #1 RSAPublicKey: {} bytes", rsa.to_der()?.len());
        }
        let imported = session.import_public_key(&spki, &ObjectOptions::new().label("imported"))?;
        assert_eq!(imported.to_spki_der()?, spki);
    }

    let (_, der) = pem::decode(include_str!("data/ca.pem"))?;
    let certificate =
        session.import_certificate(&der, &ObjectOptions::new().label("example CA"))?;
    let info = CertificateInfo::from_der(&der)?;
    println!(
        "certificate valid {:?} to {:?}, {} bytes of subject",
        info.not_before,
        info.not_after,
        info.subject.len()
    );
    println!("its public key: {:?}", info.public_key()?);
    certificate.destroy()?;
    Ok(())
}
