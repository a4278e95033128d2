//! The seed's Diffie-Hellman example: shared RFC 3526 parameters, two parties, the same
//! AES key derived on both sides.
use p11::{
    AttributeType as A, Derive, Key, KeyType, Library, ObjectOptions, OpenOptions, Template,
    TokenFilter,
};
use std::env::var;

const RFC3526_2048: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF",
);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let prime: Vec<u8> = (0..RFC3526_2048.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&RFC3526_2048[i..i + 2], 16))
        .collect::<Result<_, _>>()?;

    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    let attributes = Template::new()
        .with(A::PRIME, prime)
        .with(A::BASE, vec![2u8]);
    let parameters = session.local_domain_parameters(KeyType::DH, attributes);
    let (public, private) = parameters.generate_keypair(&ObjectOptions::new())?;
    let (their_public, their_private) = parameters.generate_keypair(&ObjectOptions::new())?;

    // Exchange public values; each derives the session key from the other's.
    let ours: Vec<u8> = public.get(A::VALUE)?;
    let theirs: Vec<u8> = their_public.get(A::VALUE)?;
    let readable = ObjectOptions::new().template(
        Template::new()
            .with(A::SENSITIVE, false)
            .with(A::EXTRACTABLE, true),
    );
    let key = private
        .with_param(&theirs)
        .derive_key(KeyType::AES, 128, &readable)?;
    let their_key = their_private
        .with_param(&ours)
        .derive_key(KeyType::AES, 128, &readable)?;

    assert_eq!(
        key.get::<Vec<u8>>(A::VALUE)?,
        their_key.get::<Vec<u8>>(A::VALUE)?
    );
    println!("DH over RFC 3526 group 14: both parties derived the same AES-128 key");
    Ok(())
}
