//! A TLS server whose private key never leaves the token: an ECDSA P-256 key on the
//! token, a certificate for it from a throwaway CA, and a rustls server on loopback
//! answering one HTTPS request from a rustls client that trusts that CA.
//! Run with `--features rustls` (`cargo xtask demo` does).
use p11::rustls::{tls, TokenSigningKey};
use p11::{KeyType, Library, ObjectOptions, OpenOptions, TokenFilter};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use tls::pki_types::{CertificateDer, ServerName};
use tls::sign::CertifiedKey;

/// The token key's public point, for the CA to certify.
struct TokenPoint(Vec<u8>);

impl rcgen::PublicKeyData for TokenPoint {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// Serves the server's one certified key whatever the client asks.
#[derive(Debug)]
struct OneKey(Arc<CertifiedKey>);

impl tls::server::ResolvesServerCert for OneKey {
    fn resolve(&self, _: tls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(std::env::var("PKCS11_MODULE")?)?;
    let label = std::env::var("PKCS11_TOKEN_LABEL")?;
    let token = lib.get_token(&TokenFilter::new().label(label))?;
    let session = token.open(&OpenOptions::new().user_pin(std::env::var("PKCS11_TOKEN_PIN")?))?;

    // The server's key, on the token, and its certificate from a throwaway CA.
    let (public, private) = session.generate_keypair(KeyType::EC, 256, &ObjectOptions::new())?;
    let p11::asn1::PublicKey::Ec { point, .. } = p11::util::public_key_of(&public)? else {
        return Err("an EC key was asked for".into());
    };
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key)?;
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?.signed_by(
        &TokenPoint(point),
        &ca,
        &ca_key,
    )?;
    let key = TokenSigningKey::new(private, &public)?;
    println!("server key on the token, offering {:?}", key.schemes());
    let certified = CertifiedKey::new(vec![leaf.der().clone()], Arc::new(key));

    let provider = Arc::new(tls::crypto::ring::default_provider());
    let server = tls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(OneKey(Arc::new(certified))));
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let serving = std::thread::spawn(move || -> Result<(), std::io::Error> {
        let (mut socket, _) = listener.accept()?;
        let mut connection =
            tls::ServerConnection::new(Arc::new(server)).map_err(std::io::Error::other)?;
        let mut stream = tls::Stream::new(&mut connection, &mut socket);
        let mut request = [0u8; 18];
        stream.read_exact(&mut request)?;
        stream.write_all(b"HTTP/1.0 200 OK\r\n\r\nsigned on the token\n")?;
        connection.send_close_notify();
        connection.complete_io(&mut socket)?;
        Ok(())
    });

    // A client that trusts the CA.
    let mut roots = tls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca.der().to_vec()))?;
    let client = tls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut socket = TcpStream::connect(address)?;
    let mut connection =
        tls::ClientConnection::new(Arc::new(client), ServerName::try_from("localhost")?)?;
    let mut stream = tls::Stream::new(&mut connection, &mut socket);
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    println!(
        "{:?} handshake done; the server said: {}",
        connection.protocol_version(),
        response.lines().last().unwrap_or_default()
    );
    serving.join().map_err(|_| "the server thread panicked")??;
    Ok(())
}
