//! # Coming from python-pkcs11
//!
//! Each call of python-pkcs11's API reference, as a comment, and its p11 counterpart
//! beneath it. The block is compiled as a doc test, so a row that goes stale fails the
//! build. Keyword arguments become option structs ([`OpenOptions`](crate::OpenOptions),
//! [`ObjectOptions`](crate::ObjectOptions), [`KeyQuery`](crate::KeyQuery)) or, for an
//! operation, a step before it: `key.with_param(p)` (python's `mechanism_param=`),
//! `key.with_mechanism(m)` (`mechanism=`), `key.with_pin(pin)` (`pin=`). What runs
//! without them is [`default_mechanism`](crate::default_mechanism)'s table.
//!
//! ```no_run
//! use p11::asn1::{biginteger, CertificateInfo};
//! use p11::mechanisms::{CtrParams, Ecdh1DeriveParams, GcmParams, MlKemParameterSet};
//! use p11::util::{self, CertificateAttributes};
//! use p11::{
//!     AttributeType as A, Capabilities, Decapsulate, Decrypt, Derive, Encapsulate,
//!     Encrypt, Key, KeyQuery,
//!     KeyType, Library, Mechanism, MechanismType as M, Object, ObjectClass, ObjectOptions,
//!     OpenOptions, PrivateKey, PublicKey, SecretKey, Sign, Storage, Template, TokenFilter,
//!     Unwrap, Verify, Wrap,
//! };
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let (path, der, spki, pkcs8) = (String::new(), Vec::<u8>::new(), Vec::<u8>::new(), Vec::<u8>::new());
//! // lib = pkcs11.lib(so)
//! let lib = Library::load(&path)?;
//! // lib.cryptoki_version, manufacturer_id, library_description, library_version
//! let info = lib.info()?;
//! let _ = (info.cryptoki_version, info.manufacturer_id, info.library_description);
//! // lib.get_slots(token_present=True); slot.slot_id, slot.flags, ...
//! let slot = lib.get_slots(true)?.remove(0);
//! let (_id, _flags) = (slot.id(), slot.info()?.flags);
//! // slot.get_token(), slot.get_mechanisms(), slot.get_mechanism_info(m)
//! let _ = (slot.get_token()?, slot.get_mechanisms()?, slot.get_mechanism_info(M::AES_CBC)?);
//! // lib.get_tokens(token_label=..., ...), lib.get_token(token_label=...)
//! let _all = lib.get_tokens(&TokenFilter::new().mechanisms([M::AES_GCM]))?;
//! let token = lib.get_token(&TokenFilter::new().label("DEMO"))?;
//! // token.label, token.serial, token.flags, token.slot
//! let _ = (token.label(), token.info()?.serial_number, token.slot());
//! // lib.wait_for_slot_event(blocking=False)
//! let _ = lib.wait_for_slot_event(false);
//!
//! // with token.open(rw=True, user_pin='1234', user_type=...) as session:
//! let session = token.open(&OpenOptions::new().rw().user_pin("1234"))?;
//!
//! // session.generate_key(KeyType.AES, 256, label=, id=, store=, capabilities=, template=)
//! let options = ObjectOptions::new()
//!     .label("aes")
//!     .id(b"1".to_vec())
//!     .storage(Storage::Token)
//!     .capabilities(Capabilities::ENCRYPT | Capabilities::DECRYPT)
//!     .template(Template::new().with(A::EXTRACTABLE, true));
//! let key = session.generate_key(KeyType::AES, 256, &options)?;
//! // session.generate_keypair(KeyType.EC, ..., public_template=, private_template=)
//! let (public, private) = session.generate_keypair(
//!     KeyType::EC,
//!     256,
//!     &ObjectOptions::new().private_template(Template::new().with(A::ALWAYS_AUTHENTICATE, true)),
//! )?;
//! // session.generate_domain_parameters(KeyType.DH, 2048), params.generate_keypair()
//! let parameters = session.generate_domain_parameters(KeyType::DH, 2048, &ObjectOptions::new())?;
//! let _pair = parameters.generate_keypair(&ObjectOptions::new())?;
//! // session.create_domain_parameters(KeyType.DH, attrs, local=True / store=)
//! let attributes = Template::new().with(A::PRIME, vec![0xff; 256]).with(A::BASE, vec![2u8]);
//! let _local = session.local_domain_parameters(KeyType::DH, attributes.clone());
//! let _stored = session.create_domain_parameters(KeyType::DH, attributes, &ObjectOptions::new())?;
//! // session.get_key(object_class=, key_type=, label=, id=, **attrs)
//! let found: SecretKey = session.get_key(
//!     &KeyQuery::new().key_type(KeyType::AES).label("aes").capable_of(Capabilities::ENCRYPT),
//! )?;
//! // session.get_objects({Attribute.CLASS: ...}) — typed by class
//! for object in session.get_objects(&Template::new().with(A::CLASS, ObjectClass::SECRET_KEY))? {
//!     if let Object::SecretKey(key) = object {
//!         let _ = key.label()?;
//!     }
//! }
//! // all keys of a kind, as they are found
//! for key in session.get_keys::<PrivateKey>(&KeyQuery::new())? {
//!     let _ = key?.key_type();
//! }
//! // session.create_object(attrs)
//! let _data = session.create_object(&Template::new().with(A::CLASS, ObjectClass::DATA))?;
//! // session.seed_random(seed), session.generate_random(256)
//! session.seed_random(b"seed")?;
//! let iv = session.generate_random(128)?;
//! // session.digest(data, mechanism=Mechanism.SHA256)
//! let _ = session.digest(M::SHA256, b"data")?;
//! // session.digest((data, key, data), mechanism=...) — keys digested in the token
//! let mut digest = session.digester(M::SHA256)?;
//! digest.update(b"a")?;
//! digest.update_key(&key)?;
//! let _ = digest.finish()?;
//! // session.close() / the `with` block
//! # let other = session.clone();
//! drop(other);
//!
//! // key[Attribute.LABEL], key.label, key.id, key.key_type, key.key_length
//! let _: String = key.get(A::LABEL)?;
//! let (_label, _id, _type, _bits) = (key.label()?, key.id()?, key.key_type(), key.key_length()?);
//! // several attributes in one call
//! let (_sensitive, _len): (bool, u64) = key.get_all([A::SENSITIVE, A::VALUE_LEN])?;
//! // isinstance(key, pkcs11.SignMixin): the flags read when the key object was made
//! let _can_sign = key.capabilities()?.contains(Capabilities::SIGN);
//! // key[Attribute.LABEL] = 'new'; key.copy(label=...); key.destroy()
//! key.set_attributes(&Template::new().with(A::LABEL, "renamed"))?;
//! let copy = key.copy(&ObjectOptions::new().label("copy"))?;
//! copy.clone().destroy()?;
//!
//! // key.encrypt(data, mechanism_param=iv); key.decrypt(...)
//! let sealed = key.with_param(&iv).encrypt(b"data")?;
//! let _ = key.with_param(&iv).decrypt(&sealed)?;
//! // key.encrypt(data, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, aad, 128))
//! let mut nonce = [0u8; 12];
//! let gcm = Mechanism::with(M::AES_GCM, GcmParams::new(&mut nonce, b"aad", 128)?);
//! let _ = key.with_mechanism(&gcm).encrypt(b"data")?;
//! // CTRParams(nonce)
//! let _ctr = Mechanism::with(M::AES_CTR, CtrParams::from_nonce(&[1u8; 8])?);
//! // key.encrypt(iterable) — streams; also io::Write and io::Read
//! let mut sealed_stream = Vec::new();
//! let mut chunks = key.with_param(&iv).encryptor()?.stream([b"a".as_slice(), b"b"]);
//! while let Some(chunk) = chunks.next_chunk() {
//!     sealed_stream.extend_from_slice(chunk?);
//! }
//! // key.sign(data), key.verify(data, signature), mechanism= / mechanism_param=
//! let signature = private.sign(b"data")?;
//! assert!(public.verify(b"data", &signature)?);
//! let pss = Mechanism::new(M::ECDSA_SHA256);
//! let _ = private.with_mechanism(&pss).sign(b"data")?;
//! // key.sign(data, pin=...) for ALWAYS_AUTHENTICATE keys; key.decrypt(data, pin=)
//! let _ = private.with_pin("1234").sign(b"data")?;
//! // key.sign(iterable), key.verify(iterable, signature) — also streams and io::Write
//! let mut signer = private.signer()?;
//! for part in [b"da", b"ta"] {
//!     signer.update(part)?;
//! }
//! let mut verifier = public.verifier()?;
//! verifier.update(b"data")?;
//! assert!(verifier.finish(&signer.finish()?)?);
//! // key.wrap_key(other), key.unwrap_key(ObjectClass.SECRET_KEY, KeyType.AES, data)
//! let wrapped = key.wrap_key(&copy)?;
//! let _unwrapped: SecretKey = key.unwrap_key(KeyType::AES, &wrapped, &ObjectOptions::new())?;
//! // key.derive_key(KeyType.AES, 128, mechanism_param=ECDH1DeriveParams(...))
//! let _derived = private.with_param(Ecdh1DeriveParams::new(&[4u8; 65])).derive_key(KeyType::AES, 128, &ObjectOptions::new())?;
//! // session.generate_keypair(KeyType.ML_KEM, public_template={Attribute.PARAMETER_SET:
//! //     MLKEMParameterSet.ML_KEM_768}) (0.10.1; ML_DSA alike)
//! let ml_kem_768 = ObjectOptions::new()
//!     .public_template(Template::new().with(A::PARAMETER_SET, MlKemParameterSet::ML_KEM_768));
//! let (kem_public, kem_private) = session.generate_keypair(KeyType::ML_KEM, 0, &ml_kem_768)?;
//! // ciphertext, key = public.encapsulate_key(KeyType.AES, 256)
//! let (ciphertext, _sent) = kem_public.encapsulate_key(KeyType::AES, 256, &ObjectOptions::new())?;
//! // private.decapsulate_key(ciphertext, KeyType.AES, 256)
//! let _received = kem_private.decapsulate_key(&ciphertext, KeyType::AES, 256, &ObjectOptions::new())?;
//!
//! // pkcs11.util: decode_rsa_public_key(der), decode_ec_private_key(der), ...
//! let _ = util::decode_public_key(&p11::asn1::PublicKey::from_spki_der(&spki)?, None)?;
//! let _ = session.import_public_key(&spki, &ObjectOptions::new())?;
//! let _ = session.import_private_key(&pkcs8, &ObjectOptions::new())?;
//! // encode_rsa_public_key / encode_ec_public_key: SubjectPublicKeyInfo, PEM
//! let (_spki, _pem): (Vec<u8>, String) = (public.to_spki_der()?, public.to_pem()?);
//! // decode_x509_certificate(der, extended_set=True), import
//! let _ = util::certificate_template(&der, CertificateAttributes::Extended)?;
//! let certificate = session.import_certificate(&der, &ObjectOptions::new().label("ca"))?;
//! let _: CertificateInfo = certificate.info()?;
//! // pkcs11.util.biginteger(n)
//! let _ = biginteger(&[0, 1, 0, 1]);
//! // the templates p11 sends (AttributeMapper.public_key_template, ...)
//! let _: Template = ObjectOptions::new().public_key_template(KeyType::RSA);
//! // pkcs11.constants.DEFAULT: leave an attribute to the token
//! let _ = Template::new().without(A::SENSITIVE);
//! // PIN management and token set-up: session.set_pin(old, new), session.init_pin(pin)
//! // (as the SO), slot.init_token(so_pin, label), session.logout(), session.close()
//! session.set_pin("1234", "4321")?;
//! let so = token.open(&OpenOptions::new().rw().so_pin("5678"))?;
//! so.init_pin("1234")?;
//! so.logout()?;
//! so.close()?;
//! let _fresh: p11::Token = slot.init_token("5678", "FRESH")?;
//! // lib.reinitialize(), lib.finalize(), lib.initialized
//! lib.reinitialize()?;
//! assert!(lib.initialized());
//! lib.finalize()?;
//! # let _: Option<PublicKey> = None;
//! # Ok(()) }
//! ```
//!
//! python's `AttributeMapper` is [`AttributeMapper`](crate::AttributeMapper), given with
//! [`OpenOptions::attribute_mapper`](crate::OpenOptions::attribute_mapper); its default
//! templates are [`ObjectOptions`](crate::ObjectOptions)'s. `PKCS11Error` and its
//! subclasses are [`Error`](crate::Error): `Module { function, rv, mechanism }` with
//! every `CKR_`, and library-side variants.
