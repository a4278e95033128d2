//! # Coming from python-pkcs11
//!
//! Each call of python-pkcs11's API reference and its p11 counterpart. Keyword arguments
//! become option structs ([`OpenOptions`](crate::OpenOptions),
//! [`ObjectOptions`](crate::ObjectOptions), [`KeyQuery`](crate::KeyQuery)) or a `_param` /
//! `_with` variant of the method (python's `mechanism_param=` / `mechanism=`).
//!
//! | python-pkcs11 | p11 |
//! |---|---|
//! | `pkcs11.lib(so)` | [`Library::load`](crate::Library::load) (`load_with` for `C_Initialize` arguments) |
//! | `lib.get_slots(token_present)` | [`lib.get_slots(token_present)`](crate::Library::get_slots) → [`Slot`](crate::Slot) |
//! | `token.slot` | [`token.slot()`](crate::Token::slot) |
//! | `lib.get_tokens(token_label=…, token_serial=…, token_flags=…, slot_flags=…, mechanisms=…)` | [`lib.get_tokens(&TokenFilter)`](crate::Library::get_tokens) (the mechanism filter works) |
//! | `lib.get_token(…)` | [`lib.get_token(&TokenFilter)`](crate::Library::get_token) → `NoSuchToken` / `MultipleTokens` |
//! | `lib.wait_for_slot_event(blocking)` | [`lib.wait_for_slot_event(blocking)`](crate::Library::wait_for_slot_event) → `Error::NoEvent` |
//! | `lib.reinitialize()` | [`lib.reinitialize()`](crate::Library::reinitialize) |
//! | `lib.finalize()`, `lib.initialized` | [`lib.finalize()`](crate::Library::finalize), [`lib.initialized()`](crate::Library::initialized) |
//! | `lib.cryptoki_version`, `manufacturer_id`, `library_description`, `library_version` | [`lib.info()?`](crate::Library::info) fields |
//! | `Slot.slot_id`, `slot_description`, `manufacturer_id`, `hardware_version`, `firmware_version`, `flags` | [`slot.id()`](crate::Slot::id), [`slot.info()`](crate::Slot::info)`?` fields |
//! | `slot.get_token()` | [`slot.get_token()`](crate::Slot::get_token) |
//! | `slot.get_mechanisms()`, `slot.get_mechanism_info(m)` | [`slot.get_mechanisms()`](crate::Slot::get_mechanisms), [`slot.get_mechanism_info(m)`](crate::Slot::get_mechanism_info) |
//! | `Token.label`, `serial`, `manufacturer_id`, `model`, versions, `flags` | `token.label()`, `token.core().info()?` fields |
//! | `token.open(rw, user_pin, so_pin, user_type)` | [`token.open(&OpenOptions::new().rw().user_pin(…))`](crate::Token::open) |
//! | `session.close()` / `with` block | drop the [`Session`](crate::Session) (logs out, closes) |
//! | `session.get_key(object_class, key_type, label, id, **attrs)` | [`session.get_key::<SecretKey>(&KeyQuery)`](crate::Session::get_key) (the class is the type; [`KeyQuery::capable_of`](crate::KeyQuery::capable_of), [`attributes`](crate::KeyQuery::attributes)); all of them: [`get_keys`](crate::Session::get_keys) |
//! | `session.get_objects(attrs)` | [`session.get_objects(&Template)`](crate::Session::get_objects) |
//! | `session.create_object(attrs)` | [`session.create_object(&Template)`](crate::Session::create_object) |
//! | `session.create_domain_parameters(key_type, attrs, local, store)` | [`session.create_domain_parameters(key_type, attrs, local, store)`](crate::Session::create_domain_parameters) |
//! | `session.generate_domain_parameters(key_type, param_length, store, …)` | [`session.generate_domain_parameters(key_type, bits, &ObjectOptions)`](crate::Session::generate_domain_parameters) |
//! | `session.generate_key(key_type, key_length, id, label, store, capabilities, mechanism, mechanism_param, template)` | [`session.generate_key(key_type, bits, &ObjectOptions)`](crate::Session::generate_key) |
//! | `session.generate_keypair(key_type, key_length, …, public_template, private_template)` | [`session.generate_keypair(key_type, bits, &ObjectOptions)`](crate::Session::generate_keypair), with [`ObjectOptions::public_template`](crate::ObjectOptions::public_template) and [`private_template`](crate::ObjectOptions::private_template) |
//! | `session.seed_random(seed)`, `session.generate_random(nbits)` | [`seed_random`](crate::Session::seed_random), [`generate_random`](crate::Session::generate_random) |
//! | `session.digest(data, mechanism)` | [`session.digest(data, mechanism)`](crate::Session::digest); streams and keys: `session.core().begin_digest` (`update`, `update_key`) |
//! | `Object[Attribute.X]`, `Object[Attribute.X] = v` | [`key.get(A::X)`](crate::Key::get), `object.get_attributes(&[…])` (one call), `object.set_attributes(&Template)` |
//! | `object.copy(attrs)`, `object.destroy()` | `object.copy(&Template)`, `object.destroy()` |
//! | `Key.key_type`, `label`, `id`, `key_length` | [`key_type()`](crate::Key::key_type), [`label()`](crate::Key::label), [`id()`](crate::Key::id), [`key_length()`](crate::Key::key_length) (EC keys too) |
//! | `SecretKey`, `PublicKey`, `PrivateKey` | [`SecretKey`](crate::SecretKey), [`PublicKey`](crate::PublicKey), [`PrivateKey`](crate::PrivateKey) |
//! | `DomainParameters.generate_keypair(…)` | [`DomainParameters::generate_keypair`](crate::DomainParameters::generate_keypair) |
//! | `Certificate` | [`Certificate`](crate::Certificate) (`value`, `info`); [`session.import_certificate`](crate::Session::import_certificate), [`session.get_certificates`](crate::Session::get_certificates) |
//! | `key.encrypt(data, mechanism, mechanism_param)` | [`encrypt`](crate::Encrypt::encrypt), [`encrypt_param`](crate::Encrypt::encrypt_param), [`encrypt_with`](crate::Encrypt::encrypt_with) |
//! | `GCMParams(nonce, aad, tag_bits)` | [`GcmParams::new(&mut nonce, aad, tag_bits)`](crate::mechanisms::GcmParams::new) (IVs of 1 to 256 bytes, not only up to 12) |
//! | `CTRParams(nonce)` | [`CtrParams::from_nonce(nonce)`](crate::mechanisms::CtrParams::from_nonce) |
//! | `key.encrypt(iterable)` (streaming) | [`key.encryptor(param)?.stream(chunks)`](crate::Encrypt::encryptor), `.writer(w)`, `.reader(r)` |
//! | `key.decrypt(…)` | [`Decrypt`](crate::Decrypt), the same three ways, and `decryptor` |
//! | `key.sign(data, …)`, `key.verify(data, signature, …)` | [`Sign`](crate::Sign), [`Verify`](crate::Verify) (composed where the token lacks the combined mechanism) |
//! | `key.sign(data, pin=)`, `key.decrypt(data, pin=)` (`ALWAYS_AUTHENTICATE` keys) | [`sign_with_pin`](crate::Sign::sign_with_pin), [`decrypt_with_pin`](crate::Decrypt::decrypt_with_pin) |
//! | `key.sign(iterable)`, `key.verify(iterable, signature)` | [`sign_chunks`](crate::Sign::sign_chunks), [`verify_chunks`](crate::Verify::verify_chunks); `signer_with` / `verifier_with` are `io::Write` |
//! | `session.digest(iterable, mechanism)`, `session.digest((data, key), mechanism)` | [`session.digest_chunks(parts, mechanism)`](crate::Session::digest_chunks): bytes and [`DigestPart::Key`](crate::DigestPart) (`C_DigestKey`) |
//! | `key.wrap_key(key, …)`, `key.unwrap_key(class, key_type, data, …)` | [`Wrap::wrap_key`](crate::Wrap::wrap_key), [`Unwrap::unwrap_key`](crate::Unwrap::unwrap_key) |
//! | `key.derive_key(key_type, key_length, mechanism_param, …)` | [`Derive::derive_key`](crate::Derive::derive_key) |
//! | `pkcs11.util.rsa/dsa/dh/ec/x509.*` | [`util`](crate::util) for templates, import ([`import_public_key`](crate::Session::import_public_key), [`import_private_key`](crate::Session::import_private_key), [`import_certificate`](crate::Session::import_certificate)) and export ([`PublicKey::to_spki_der`](crate::PublicKey::to_spki_der), [`to_pem`](crate::PublicKey::to_pem)); the DER codecs in [`asn1`](crate::asn1) |
//! | `pkcs11.util.x509.decode_x509_certificate(der, extended_set)` | [`util::certificate_template(der, CertificateAttributes::Basic / Extended)`](crate::util::certificate_template) |
//! | `pkcs11.util.biginteger(n)` | [`asn1::biginteger`](crate::asn1::biginteger) |
//! | `pkcs11.constants.DEFAULT` | [`Template::without`](crate::Template::without) |
//! | `PKCS11Error` and its subclasses | [`Error`](crate::Error): `Module { function, rv, mechanism }` with every `CKR_`, and library-side variants |
