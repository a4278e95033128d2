//! What a new user builds first, outside the workspace, on the packaged crates: a key
//! found by a PKCS#11 URI without `token=`, a RustCrypto signer on it whose signature
//! `p256` verifies, and a TLS 1.3 handshake with that key, whose certificate the key
//! itself issued. The token comes from `PKCS11_MODULE` and `PKCS11_TOKEN_PIN`.
use p11::rcgen::TokenKeyPair;
use p11::rustcrypto::P256Signer;
use p11::rustls::TokenSigningKey;
use p11::{Key, KeyQuery, KeyType, Library, ObjectOptions, OpenOptions, PrivateKey, PublicKey};
use p11::{Storage, TokenFilter, Uri};
use rustls::pki_types::ServerName;
use std::error::Error;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// Serves the one certified key whatever the client asks.
#[derive(Debug)]
struct OneKey(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for OneKey {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let lib = Library::load(std::env::var("PKCS11_MODULE")?)?;
    let pin = std::env::var("PKCS11_TOKEN_PIN")?;
    let label = format!("downstream-{}", std::process::id());

    // A key pair kept on the token, then found again by a URI that names no token:
    // the one initialised token that has it.
    let uri: Uri = format!("pkcs11:object={label};type=private").parse()?;
    let token = lib.get_token(&TokenFilter::new().uri(&uri))?;
    let session = token.open(&OpenOptions::new().rw().user_pin(pin.as_str()))?;
    let options = ObjectOptions::new().label(&label).storage(Storage::Token);
    let (public, made) = session.generate_keypair(KeyType::EC, 256, &options)?;
    let private: PrivateKey = session.get_key(&KeyQuery::new().uri(&uri))?;
    assert_eq!(private.handle(), made.handle(), "the URI found another key");
    println!("found {uri} without token=");

    let outcome = sign_and_serve(&private, &public);
    private.destroy()?;
    public.destroy()?;
    outcome
}

fn sign_and_serve(private: &PrivateKey, public: &PublicKey) -> Result<(), Box<dyn Error>> {
    // RustCrypto: the token signs, p256 verifies with the point read from the token.
    let signer = P256Signer::new(private.clone(), public)?;
    let signature: p256::ecdsa::Signature = signature::Signer::try_sign(&signer, b"downstream")?;
    let p11::asn1::PublicKey::Ec { point, .. } = p11::util::public_key_of(public)? else {
        return Err("not an EC key".into());
    };
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)?;
    signature::Verifier::verify(&verifying, b"downstream", &signature)?;
    println!("ECDSA P-256 signature from the token verified by p256");

    // rcgen: the token key issues its own certificate.
    let issuer = TokenKeyPair::new(private.clone(), public)?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
    params.serial_number = Some(issuer.random_serial()?);
    let certificate = params.self_signed(&issuer)?;

    // rustls: a TLS 1.3 server with the token key, a client trusting that certificate.
    let key = Arc::new(TokenSigningKey::new(private.clone(), public)?);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(OneKey(Arc::new(rustls::sign::CertifiedKey::new(
            vec![certificate.der().clone()],
            key,
        )))));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate.der().clone())?;
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let serving = std::thread::spawn(move || -> Result<(), std::io::Error> {
        let (mut socket, _) = listener.accept()?;
        let mut connection =
            rustls::ServerConnection::new(Arc::new(server)).map_err(std::io::Error::other)?;
        let mut stream = rustls::Stream::new(&mut connection, &mut socket);
        let mut hello = [0u8; 5];
        stream.read_exact(&mut hello)?;
        stream.write_all(b"signed on the token")?;
        connection.send_close_notify();
        connection.complete_io(&mut socket)?;
        Ok(())
    });
    let mut socket = TcpStream::connect(address)?;
    let mut connection =
        rustls::ClientConnection::new(Arc::new(client), ServerName::try_from("localhost")?)?;
    let mut stream = rustls::Stream::new(&mut connection, &mut socket);
    stream.write_all(b"hello")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    serving.join().map_err(|_| "the server thread panicked")??;
    assert_eq!(connection.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));
    assert_eq!(answer, "signed on the token");
    println!("TLS 1.3 handshake with the token key and the certificate it issued itself");
    Ok(())
}
