//! Real TLS handshakes over loopback between a rustls client and a rustls server whose
//! key is on the token: TLS 1.3 and 1.2, ECDSA P-256 and RSA (PSS); the client trusts a
//! CA (a software key) that certified the token key.

use crate::defaults::session;
use p11::rustls::TokenSigningKey;
use p11::{KeyType, ObjectOptions, PublicKey};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// The token key's public half, for rcgen to certify.
struct TokenPublicKey {
    raw: Vec<u8>,
    algorithm: &'static rcgen::SignatureAlgorithm,
}

impl rcgen::PublicKeyData for TokenPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.raw
    }
    fn algorithm(&self) -> &rcgen::SignatureAlgorithm {
        self.algorithm
    }
}

#[derive(Debug)]
struct Always(Arc<CertifiedKey>);

impl ResolvesServerCert for Always {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A CA certificate, and a certificate for `localhost` on the token key it signed.
fn certify(public: &PublicKey) -> (CertificateDer<'static>, CertificateDer<'static>) {
    let (raw, algorithm) = match p11::util::public_key_of(public).unwrap() {
        p11::asn1::PublicKey::Ec { point, .. } => (point, &rcgen::PKCS_ECDSA_P256_SHA256),
        p11::asn1::PublicKey::Rsa(rsa) => (rsa.to_der().unwrap(), &rcgen::PKCS_RSA_SHA256),
        other => panic!("no certificate for {other:?} here"),
    };
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&TokenPublicKey { raw, algorithm }, &ca, &ca_key)
        .unwrap();
    (ca.der().clone(), leaf.der().clone())
}

/// One handshake in `version`, and an echo through it. It completes only when the
/// client verified the server's signature, made on the token, with the certified key.
fn handshake(
    key: TokenSigningKey,
    ca: CertificateDer<'static>,
    leaf: CertificateDer<'static>,
    version: &'static rustls::SupportedProtocolVersion,
) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certified = Arc::new(CertifiedKey::new(vec![leaf], Arc::new(key)));
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Always(certified)));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let served = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut tls = rustls::ServerConnection::new(Arc::new(server)).unwrap();
        let mut stream = rustls::Stream::new(&mut tls, &mut socket);
        let mut line = [0u8; 5];
        stream.read_exact(&mut line).unwrap();
        stream.write_all(&line).unwrap();
        stream.flush().unwrap();
    });
    let mut socket = TcpStream::connect(address).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = rustls::ClientConnection::new(Arc::new(client), name).unwrap();
    let mut stream = rustls::Stream::new(&mut tls, &mut socket);
    stream.write_all(b"hello").unwrap();
    let mut echo = [0u8; 5];
    stream.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"hello");
    assert_eq!(tls.protocol_version(), Some(version.version));
    served.join().unwrap();
}

#[test]
fn tls_13_and_12_handshakes_with_the_server_key_on_the_token() {
    let f = session();
    for (key_type, bits) in [(KeyType::EC, 256), (KeyType::RSA, 2048)] {
        let (public, private) = f
            .session
            .generate_keypair(key_type, bits, &ObjectOptions::new())
            .unwrap();
        let (ca, leaf) = certify(&public);
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let key = TokenSigningKey::new(private.clone(), &public).unwrap();
            let preferred = if key_type == KeyType::RSA {
                rustls::SignatureScheme::RSA_PSS_SHA512
            } else {
                rustls::SignatureScheme::ECDSA_NISTP256_SHA256
            };
            assert_eq!(key.schemes().first(), Some(&preferred));
            handshake(key, ca.clone(), leaf.clone(), version);
        }
    }
}
