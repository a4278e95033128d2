//! Real TLS handshakes over loopback between a rustls client and a rustls server whose
//! key is on the token: TLS 1.3 and 1.2, ECDSA P-256 and RSA (PSS), and the client
//! authenticating with a token key of its own; both trust a CA, its key on the token
//! too, that certified the token keys (`p11::rcgen`).

use crate::defaults::session;
use p11::rcgen::{rcgen, TokenKeyPair};
use p11::rustls::TokenSigningKey;
use p11::{KeyType, MechanismType as M};
use rustls::client::ResolvesClientCert;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

#[derive(Debug)]
struct Always(Arc<CertifiedKey>);

impl ResolvesServerCert for Always {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

impl ResolvesClientCert for Always {
    fn resolve(&self, _: &[&[u8]], _: &[rustls::SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A CA whose key is on the token too: its self-signed certificate and its issuer.
struct Ca {
    issuer: rcgen::CertifiedIssuer<'static, TokenKeyPair>,
}

impl Ca {
    fn new(session: &p11::Session, options: &p11::ObjectOptions) -> Ca {
        let (public, private) = session.generate_keypair(KeyType::EC, 256, options).unwrap();
        let key = TokenKeyPair::new(private, &public).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.serial_number = Some(key.random_serial().unwrap());
        Ca {
            issuer: rcgen::CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    /// A certificate for `localhost` on the token key pair, for `purpose`, signed by
    /// the CA's token key.
    fn certify(
        &self,
        subject: &TokenKeyPair,
        purpose: rcgen::ExtendedKeyUsagePurpose,
    ) -> CertificateDer<'static> {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.extended_key_usages = vec![purpose];
        params.serial_number = Some(subject.random_serial().unwrap());
        params
            .signed_by(subject, &self.issuer)
            .unwrap()
            .der()
            .clone()
    }
}

/// One handshake in `version`, the client authenticating with `client`'s key, and an
/// echo through it. It completes only when each side verified the other's signature,
/// made on the token, with the certified key.
fn handshake(
    ca: &Ca,
    server: Arc<CertifiedKey>,
    client: Arc<CertifiedKey>,
    version: &'static rustls::SupportedProtocolVersion,
) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.issuer.der().clone()).unwrap();
    let roots = Arc::new(roots);
    let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
        .build()
        .unwrap();
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(Always(server)));
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(Always(client)));

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
        // The client's certificate chain, as the server verified it.
        assert!(tls
            .peer_certificates()
            .is_some_and(|chain| !chain.is_empty()));
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
fn tls_13_and_12_handshakes_with_server_and_client_keys_on_the_token() {
    let f = session();
    // TLS 1.3 signs with RSA by PSS: the token's, or composed from its hash and raw PSS.
    let used = [
        M::EC_KEY_PAIR_GEN,
        M::ECDSA,
        M::RSA_PKCS_KEY_PAIR_GEN,
        M::RSA_PKCS_PSS,
        M::SHA512,
    ];
    if !p11_tests::offers(&f.session, &used) {
        return;
    }
    let ca = Ca::new(&f.session, &f.options());
    // The client's key: ECDSA P-256, on the token too.
    let (client_public, client_private) = f
        .session
        .generate_keypair(KeyType::EC, 256, &f.options())
        .unwrap();
    let client_pair = TokenKeyPair::new(client_private.clone(), &client_public).unwrap();
    let client_cert = ca.certify(&client_pair, rcgen::ExtendedKeyUsagePurpose::ClientAuth);
    for (key_type, bits) in [(KeyType::EC, 256), (KeyType::RSA, 2048)] {
        let (public, private) = f
            .session
            .generate_keypair(key_type, bits, &f.options())
            .unwrap();
        let pair = TokenKeyPair::new(private.clone(), &public).unwrap();
        let leaf = ca.certify(&pair, rcgen::ExtendedKeyUsagePurpose::ServerAuth);
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let key = TokenSigningKey::new(private.clone(), &public).unwrap();
            let preferred = if key_type == KeyType::RSA {
                rustls::SignatureScheme::RSA_PSS_SHA512
            } else {
                rustls::SignatureScheme::ECDSA_NISTP256_SHA256
            };
            assert_eq!(key.schemes().first(), Some(&preferred));
            let server = Arc::new(CertifiedKey::new(vec![leaf.clone()], Arc::new(key)));
            let client_key = TokenSigningKey::new(client_private.clone(), &client_public).unwrap();
            let client = Arc::new(CertifiedKey::new(
                vec![client_cert.clone()],
                Arc::new(client_key),
            ));
            handshake(&ca, server, client, version);
        }
    }
}
