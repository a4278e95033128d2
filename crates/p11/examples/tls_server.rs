//! A TLS server whose private key never leaves the token: an ECDSA P-256 key on the
//! token, its certificate issued by a CA whose key is on the token too (`p11::rcgen`),
//! and a rustls server on loopback answering one HTTPS request from a rustls client that
//! trusts that CA. Run with `--features rustls,rcgen` (`cargo xtask demo` does).
use p11::rcgen::{rcgen, TokenKeyPair};
use p11::rustls::{tls, TokenSigningKey};
use p11::{KeyType, Library, ObjectOptions, OpenOptions, TokenFilter};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use tls::pki_types::ServerName;
use tls::sign::CertifiedKey;

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

    // A CA on the token: its key pair and self-signed certificate.
    let (public, private) = session.generate_keypair(KeyType::EC, 256, &ObjectOptions::new())?;
    let ca_key = TokenKeyPair::new(private, &public)?;
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "p11 example CA");
    ca.serial_number = Some(ca_key.random_serial()?);
    let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key)?;

    // The server's key, on the token, and its certificate from that CA.
    let (public, private) = session.generate_keypair(KeyType::EC, 256, &ObjectOptions::new())?;
    let server_key = TokenKeyPair::new(private.clone(), &public)?;
    let mut leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
    leaf.serial_number = Some(server_key.random_serial()?);
    let leaf = leaf.signed_by(&server_key, &ca)?;
    let key = TokenSigningKey::new(private, &public)?;
    println!("server key on the token, offering {:?}", key.schemes());
    let certified = CertifiedKey::new(vec![leaf.der().clone()], Arc::new(key));

    let provider = Arc::new(tls::crypto::aws_lc_rs::default_provider());
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
    roots.add(ca.der().clone())?;
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
