//! The NIST post-quantum algorithms — ML-KEM (FIPS 203), ML-DSA (FIPS 204), SLH-DSA
//! (FIPS 205) — with their OIDs and key sizes, and their private keys' PKCS #8 forms
//! as the IETF LAMPS specifications write them (RFC 9881 for ML-DSA, RFC 9935 for
//! ML-KEM, RFC 9909 for SLH-DSA). Public keys go in `SubjectPublicKeyInfo` raw, with no
//! algorithm parameters ([`PublicKey::PostQuantum`](crate::PublicKey::PostQuantum)).

use crate::error::{Asn1Error, Result};
use crate::secret_der::{secret, Element, Reader, OCTET_STRING, SEQUENCE};
use std::fmt;
use zeroize::Zeroizing;

/// One parameter set of a NIST post-quantum algorithm.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // the names are the standards' own
pub enum PostQuantumAlgorithm {
    MlDsa44,
    MlDsa65,
    MlDsa87,
    MlKem512,
    MlKem768,
    MlKem1024,
    SlhDsaSha2_128s,
    SlhDsaSha2_128f,
    SlhDsaSha2_192s,
    SlhDsaSha2_192f,
    SlhDsaSha2_256s,
    SlhDsaSha2_256f,
    SlhDsaShake128s,
    SlhDsaShake128f,
    SlhDsaShake192s,
    SlhDsaShake192f,
    SlhDsaShake256s,
    SlhDsaShake256f,
}

/// Which standard a [`PostQuantumAlgorithm`] belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PostQuantumFamily {
    /// ML-KEM, FIPS 203.
    MlKem,
    /// ML-DSA, FIPS 204.
    MlDsa,
    /// SLH-DSA, FIPS 205.
    SlhDsa,
}

/// What one parameter set is: name, OID arcs, public key length, private key length.
struct Facts {
    name: &'static str,
    oid: &'static [u32],
    public_len: usize,
    private_len: usize,
}

const NIST_SIGNATURES: [u32; 8] = [2, 16, 840, 1, 101, 3, 4, 3];
const NIST_KEMS: [u32; 8] = [2, 16, 840, 1, 101, 3, 4, 4];

macro_rules! arcs {
    ($base:ident, $last:literal) => {
        &[
            $base[0], $base[1], $base[2], $base[3], $base[4], $base[5], $base[6], $base[7], $last,
        ]
    };
}

impl PostQuantumAlgorithm {
    /// Every parameter set, ML-DSA first, then ML-KEM, then SLH-DSA.
    pub const ALL: [Self; 18] = [
        Self::MlDsa44,
        Self::MlDsa65,
        Self::MlDsa87,
        Self::MlKem512,
        Self::MlKem768,
        Self::MlKem1024,
        Self::SlhDsaSha2_128s,
        Self::SlhDsaSha2_128f,
        Self::SlhDsaSha2_192s,
        Self::SlhDsaSha2_192f,
        Self::SlhDsaSha2_256s,
        Self::SlhDsaSha2_256f,
        Self::SlhDsaShake128s,
        Self::SlhDsaShake128f,
        Self::SlhDsaShake192s,
        Self::SlhDsaShake192f,
        Self::SlhDsaShake256s,
        Self::SlhDsaShake256f,
    ];

    fn facts(self) -> Facts {
        let f = |name, oid, public_len, private_len| Facts {
            name,
            oid,
            public_len,
            private_len,
        };
        match self {
            Self::MlDsa44 => f("ML-DSA-44", arcs!(NIST_SIGNATURES, 17), 1312, 2560),
            Self::MlDsa65 => f("ML-DSA-65", arcs!(NIST_SIGNATURES, 18), 1952, 4032),
            Self::MlDsa87 => f("ML-DSA-87", arcs!(NIST_SIGNATURES, 19), 2592, 4896),
            Self::MlKem512 => f("ML-KEM-512", arcs!(NIST_KEMS, 1), 800, 1632),
            Self::MlKem768 => f("ML-KEM-768", arcs!(NIST_KEMS, 2), 1184, 2400),
            Self::MlKem1024 => f("ML-KEM-1024", arcs!(NIST_KEMS, 3), 1568, 3168),
            // SLH-DSA keys are 2n (public) and 4n (private) bytes, n = 16, 24, 32.
            Self::SlhDsaSha2_128s => f("SLH-DSA-SHA2-128s", arcs!(NIST_SIGNATURES, 20), 32, 64),
            Self::SlhDsaSha2_128f => f("SLH-DSA-SHA2-128f", arcs!(NIST_SIGNATURES, 21), 32, 64),
            Self::SlhDsaSha2_192s => f("SLH-DSA-SHA2-192s", arcs!(NIST_SIGNATURES, 22), 48, 96),
            Self::SlhDsaSha2_192f => f("SLH-DSA-SHA2-192f", arcs!(NIST_SIGNATURES, 23), 48, 96),
            Self::SlhDsaSha2_256s => f("SLH-DSA-SHA2-256s", arcs!(NIST_SIGNATURES, 24), 64, 128),
            Self::SlhDsaSha2_256f => f("SLH-DSA-SHA2-256f", arcs!(NIST_SIGNATURES, 25), 64, 128),
            Self::SlhDsaShake128s => f("SLH-DSA-SHAKE-128s", arcs!(NIST_SIGNATURES, 26), 32, 64),
            Self::SlhDsaShake128f => f("SLH-DSA-SHAKE-128f", arcs!(NIST_SIGNATURES, 27), 32, 64),
            Self::SlhDsaShake192s => f("SLH-DSA-SHAKE-192s", arcs!(NIST_SIGNATURES, 28), 48, 96),
            Self::SlhDsaShake192f => f("SLH-DSA-SHAKE-192f", arcs!(NIST_SIGNATURES, 29), 48, 96),
            Self::SlhDsaShake256s => f("SLH-DSA-SHAKE-256s", arcs!(NIST_SIGNATURES, 30), 64, 128),
            Self::SlhDsaShake256f => f("SLH-DSA-SHAKE-256f", arcs!(NIST_SIGNATURES, 31), 64, 128),
        }
    }

    /// The standard's name, e.g. `ML-DSA-65`, `SLH-DSA-SHA2-128f`.
    pub fn name(self) -> &'static str {
        self.facts().name
    }

    /// The algorithm OID's arcs (NIST's `sigAlgs` and `kems` arcs).
    pub fn oid(self) -> &'static [u32] {
        self.facts().oid
    }

    /// The parameter set with this OID.
    pub fn from_oid(arcs: &[u32]) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.oid() == arcs)
    }

    /// Which standard this is.
    pub fn family(self) -> PostQuantumFamily {
        match self {
            Self::MlDsa44 | Self::MlDsa65 | Self::MlDsa87 => PostQuantumFamily::MlDsa,
            Self::MlKem512 | Self::MlKem768 | Self::MlKem1024 => PostQuantumFamily::MlKem,
            _ => PostQuantumFamily::SlhDsa,
        }
    }

    /// The public key's length in bytes (ML-KEM's encapsulation key).
    pub fn public_key_len(self) -> usize {
        self.facts().public_len
    }

    /// The private key's length in bytes: ML-DSA's and ML-KEM's expanded key (what
    /// PKCS #11 keeps in `CKA_VALUE`), SLH-DSA's whole key.
    pub fn private_key_len(self) -> usize {
        self.facts().private_len
    }

    /// Refuses a raw public key of the wrong length for this parameter set.
    pub(crate) fn check_public_key(self, key: &[u8]) -> Result<()> {
        length(
            "a post-quantum public key",
            self.public_key_len(),
            key.len(),
        )
    }

    /// The seed's length (ML-DSA's ξ, 32 bytes; ML-KEM's d‖z, 64 bytes); SLH-DSA keys
    /// have no seed form.
    pub fn seed_len(self) -> Option<usize> {
        match self.family() {
            PostQuantumFamily::MlDsa => Some(32),
            PostQuantumFamily::MlKem => Some(64),
            PostQuantumFamily::SlhDsa => None,
        }
    }
}

impl fmt::Display for PostQuantumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `[0]` IMPLICIT, primitive: the seed form of ML-DSA's and ML-KEM's private keys.
const SEED: u8 = 0x80;

/// A post-quantum private key: the seed, the expanded key, or both (ML-DSA, ML-KEM);
/// the key alone (SLH-DSA). Wiped on drop, never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct PostQuantumPrivateKey {
    algorithm: PostQuantumAlgorithm,
    seed: Option<Zeroizing<Vec<u8>>>,
    key: Option<Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for PostQuantumPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostQuantumPrivateKey")
            .field("algorithm", &self.algorithm)
            .field("seed", &self.seed.as_ref().map(|_| "<redacted>"))
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn length(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(Asn1Error::Length {
            what,
            expected: expected.to_string(),
            actual,
        })
    }
}

impl PostQuantumPrivateKey {
    /// A private key from its seed, its expanded key or both, each checked against the
    /// parameter set's length (SLH-DSA: the key, no seed).
    ///
    /// # Errors
    /// [`Asn1Error::Length`] for a part of the wrong length; [`Asn1Error::Encode`] for
    /// neither part, or a seed for SLH-DSA.
    pub fn new(
        algorithm: PostQuantumAlgorithm,
        seed: Option<&[u8]>,
        key: Option<&[u8]>,
    ) -> Result<Self> {
        let refuse = |reason: &str| Asn1Error::Encode {
            what: "a post-quantum private key",
            reason: reason.into(),
        };
        match (algorithm.seed_len(), seed) {
            (_, None) => {}
            (Some(len), Some(seed)) => length("a post-quantum seed", len, seed.len())?,
            (None, Some(_)) => return Err(refuse("SLH-DSA keys have no seed form")),
        }
        if let Some(key) = key {
            length(
                "a post-quantum private key",
                algorithm.private_key_len(),
                key.len(),
            )?;
        }
        if seed.is_none() && key.is_none() {
            return Err(refuse("neither the seed nor the key"));
        }
        Ok(Self {
            algorithm,
            seed: seed.map(secret),
            key: key.map(secret),
        })
    }

    /// The parameter set.
    pub fn algorithm(&self) -> PostQuantumAlgorithm {
        self.algorithm
    }

    /// The seed, where the key has it.
    pub fn seed(&self) -> Option<&[u8]> {
        self.seed.as_deref().map(Vec::as_slice)
    }

    /// The expanded (ML-DSA, ML-KEM) or whole (SLH-DSA) key, where the key has it.
    pub fn key(&self) -> Option<&[u8]> {
        self.key.as_deref().map(Vec::as_slice)
    }

    /// The content of PKCS #8's `privateKey` OCTET STRING: ML-DSA's and ML-KEM's
    /// `CHOICE { seed [0], expandedKey, both SEQUENCE {seed, expandedKey} }`, SLH-DSA's
    /// raw key.
    pub(crate) fn to_der(&self) -> Zeroizing<Vec<u8>> {
        match (self.seed(), self.key()) {
            (Some(seed), None) => Element::Primitive(SEED, seed).to_der(),
            (None, Some(key)) if self.algorithm.family() == PostQuantumFamily::SlhDsa => {
                secret(key)
            }
            (None, Some(key)) => Element::Primitive(OCTET_STRING, key).to_der(),
            // Both (`new` allows no key with neither).
            (seed, key) => Element::Constructed(
                SEQUENCE,
                vec![
                    Element::Primitive(OCTET_STRING, seed.unwrap_or_default()),
                    Element::Primitive(OCTET_STRING, key.unwrap_or_default()),
                ],
            )
            .to_der(),
        }
    }

    /// Reads `privateKey`'s content for `algorithm`.
    pub(crate) fn from_der(algorithm: PostQuantumAlgorithm, der: &[u8]) -> Result<Self> {
        if algorithm.family() == PostQuantumFamily::SlhDsa {
            return Self::new(algorithm, None, Some(der));
        }
        const WHAT: &str = "a post-quantum private key";
        match der.first().copied() {
            Some(SEED) => {
                let seed = Reader::outer(WHAT, der, SEED)?.rest_bytes();
                Self::new(algorithm, Some(seed), None)
            }
            Some(OCTET_STRING) => {
                let key = Reader::outer(WHAT, der, OCTET_STRING)?.rest_bytes();
                Self::new(algorithm, None, Some(key))
            }
            Some(SEQUENCE) => {
                let mut both = Reader::outer(WHAT, der, SEQUENCE)?;
                let seed = both.expect(OCTET_STRING)?;
                let key = both.expect(OCTET_STRING)?;
                both.finish()?;
                Self::new(algorithm, Some(seed), Some(key))
            }
            _ => Err(Asn1Error::Der {
                what: WHAT,
                reason: "neither a seed, an expanded key nor both".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PrivateKey, PublicKey};

    #[test]
    fn every_parameter_set_is_found_by_its_oid_and_named() {
        for algorithm in PostQuantumAlgorithm::ALL {
            assert_eq!(
                PostQuantumAlgorithm::from_oid(algorithm.oid()),
                Some(algorithm)
            );
        }
        assert_eq!(
            PostQuantumAlgorithm::MlDsa65.oid(),
            [2, 16, 840, 1, 101, 3, 4, 3, 18]
        );
        assert_eq!(
            PostQuantumAlgorithm::SlhDsaShake256f.to_string(),
            "SLH-DSA-SHAKE-256f"
        );
        assert_eq!(
            PostQuantumAlgorithm::from_oid(&[2, 16, 840, 1, 101, 3, 4, 3, 32]),
            None
        );
    }

    #[test]
    fn wrong_lengths_and_forms_are_refused() {
        let kem = PostQuantumAlgorithm::MlKem768;
        assert!(matches!(
            PostQuantumPrivateKey::new(kem, Some(&[0; 32]), None),
            Err(Asn1Error::Length { expected, actual: 32, .. }) if expected == "64"
        ));
        assert!(PostQuantumPrivateKey::new(kem, None, None).is_err());
        let slh = PostQuantumAlgorithm::SlhDsaSha2_128f;
        assert!(PostQuantumPrivateKey::new(slh, Some(&[0; 32]), Some(&[0; 64])).is_err());
        let short = PublicKey::PostQuantum {
            algorithm: kem,
            key: vec![0; 1183],
        };
        assert!(matches!(
            short.to_spki_der(),
            Err(Asn1Error::Length { actual: 1183, .. })
        ));
        // A seed of the wrong length inside otherwise good DER.
        let good = PrivateKey::PostQuantum(
            PostQuantumPrivateKey::new(PostQuantumAlgorithm::MlDsa44, Some(&[7; 32]), None)
                .unwrap(),
        )
        .to_pkcs8_der()
        .unwrap();
        let mut bad = good.to_vec();
        // ... 04 22 80 20 <32 bytes>: shorten the seed by one byte at every level.
        let at = bad.len() - 34;
        assert_eq!(bad[at - 2..at + 2], [0x04, 0x22, 0x80, 0x20]);
        bad[at - 1] = 0x21;
        bad[at + 1] = 0x1f;
        bad.pop();
        bad[1] -= 1;
        assert!(matches!(
            PrivateKey::from_pkcs8_der(&bad),
            Err(Asn1Error::Length { actual: 31, .. })
        ));
    }

    #[test]
    fn debug_shows_no_key() {
        let key =
            PostQuantumPrivateKey::new(PostQuantumAlgorithm::MlDsa44, Some(&[0xAB; 32]), None)
                .unwrap();
        let shown = format!("{:?}", PrivateKey::PostQuantum(key));
        assert!(
            shown.contains("MlDsa44") && shown.contains("redacted"),
            "{shown}"
        );
        assert!(
            !shown.contains("171") && !shown.to_lowercase().contains("ab, "),
            "{shown}"
        );
    }
}
