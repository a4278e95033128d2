//! Objects on a token: making, copying, destroying them, and their attributes.

use crate::attribute::{AttributeKind, AttributeType, AttributeValue, ObjectClass};
use crate::error::{Error, Result};
use crate::handle::ObjectHandle;
use crate::info::widen;
use crate::mapper::{kind_of, AttributeMapper};
use crate::pin::Pin;
use crate::session::Session;
use crate::template::{RawTemplate, Template};
use crate::Function;
use crate::{call, MechanismType, ReturnValue};
use p11_sys::*;
use std::fmt;
use std::mem::size_of;
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// The largest attribute value p11 will allocate for. A module claiming more is wrong.
const MAX_ATTRIBUTE_LEN: usize = 64 << 20;

/// The length a module claims for an attribute's value, refused when p11 would not
/// allocate that much.
fn allocatable_len(ty: AttributeType, len: CK_ULONG) -> Result<usize> {
    usize::try_from(len)
        .ok()
        .filter(|len| *len <= MAX_ATTRIBUTE_LEN)
        .ok_or_else(|| {
            Error::invalid_response(
                Function::GetAttributeValue,
                format!("{ty} is {len} bytes long, more than p11 will allocate"),
            )
        })
}

/// An object on a token: a handle together with the session it belongs to (which stays
/// open while the object value lives).
#[derive(Clone)]
pub struct Object {
    session: Session,
    handle: CK_OBJECT_HANDLE,
    /// The length of its RSA modulus in bytes, once read (`None` inside: not told).
    modulus_len: OnceLock<Option<usize>>,
}

/// What an object is, by its class.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// `CKO_DATA`.
    Data,
    /// `CKO_CERTIFICATE`.
    Certificate,
    /// `CKO_PUBLIC_KEY`.
    PublicKey,
    /// `CKO_PRIVATE_KEY`.
    PrivateKey,
    /// `CKO_SECRET_KEY`.
    SecretKey,
    /// `CKO_DOMAIN_PARAMETERS`.
    DomainParameters,
    /// Any other class (hardware features, mechanisms, profiles, a vendor's).
    Other(ObjectClass),
}

impl From<ObjectClass> for ObjectKind {
    fn from(class: ObjectClass) -> Self {
        match class {
            ObjectClass::DATA => Self::Data,
            ObjectClass::CERTIFICATE => Self::Certificate,
            ObjectClass::PUBLIC_KEY => Self::PublicKey,
            ObjectClass::PRIVATE_KEY => Self::PrivateKey,
            ObjectClass::SECRET_KEY => Self::SecretKey,
            ObjectClass::DOMAIN_PARAMETERS => Self::DomainParameters,
            other => Self::Other(other),
        }
    }
}

impl Session {
    /// Creates an object from `template` (`C_CreateObject`): data, a certificate, an
    /// imported key, domain parameters.
    ///
    /// # Errors
    /// The module's error from `C_CreateObject`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn create_object(&self, template: &Template) -> Result<Object> {
        self.new_object(template, |gate, attributes, count, handle| {
            // SAFETY: the template's attributes and values are valid for reading; `handle`
            // is writable.
            unsafe {
                call!(
                    gate,
                    C_CreateObject(self.raw_handle(), attributes, count, handle)
                )
            }
        })
    }

    /// The object with this handle, on this session (checked by the module when used).
    pub fn object(&self, handle: ObjectHandle) -> Object {
        Object {
            session: self.clone(),
            handle: handle.ulong(),
            modulus_len: OnceLock::new(),
        }
    }
}

impl Object {
    /// The object's handle.
    pub fn handle(&self) -> ObjectHandle {
        ObjectHandle::from_ulong(self.handle)
    }

    pub(crate) fn raw_handle(&self) -> CK_OBJECT_HANDLE {
        self.handle
    }

    /// The session the object is used through.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The same object used through `session`, another session of this application on
    /// the same token: handles belong to the application, not to the session that found
    /// them (PKCS #11 §5.7), so a key found once serves every pooled session. What was read
    /// of the object (its modulus length) comes along.
    ///
    /// # Errors
    /// [`Error::OtherToken`] when `session` is on another slot or module, where the
    /// handle would name something else or nothing.
    pub fn in_session(&self, session: &Session) -> Result<Object> {
        if session.slot() != self.session.slot() {
            return Err(Error::OtherToken);
        }
        Ok(Object {
            session: session.clone(),
            handle: self.handle,
            modulus_len: self.modulus_len.clone(),
        })
    }

    /// The object's class.
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn class(&self) -> Result<ObjectClass> {
        match self.get_attribute(AttributeType::CLASS)? {
            AttributeValue::ObjectClass(class) => Ok(class),
            other => Err(Error::AttributeKind {
                attribute: AttributeType::CLASS,
                expected: AttributeKind::ObjectClass,
                found: format!("{other:?}"),
            }),
        }
    }

    /// What the object is.
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn kind(&self) -> Result<ObjectKind> {
        self.class().map(ObjectKind::from)
    }

    /// A copy of the object with `changes` applied (`C_CopyObject`).
    ///
    /// # Errors
    /// The module's error from `C_CopyObject`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn copy(&self, changes: &Template) -> Result<Object> {
        self.session
            .new_object(changes, |gate, attributes, count, handle| {
                // SAFETY: as for C_CreateObject.
                unsafe {
                    call!(
                        gate,
                        C_CopyObject(
                            self.session.raw_handle(),
                            self.handle,
                            attributes,
                            count,
                            handle
                        )
                    )
                }
            })
    }

    /// Destroys the object on the token (`C_DestroyObject`).
    ///
    /// # Errors
    /// The module's error from `C_DestroyObject`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn destroy(self) -> Result<()> {
        let gate = self.session.enter()?;
        // SAFETY: plain handles.
        unsafe {
            call!(
                gate,
                C_DestroyObject(self.session.raw_handle(), self.handle)
            )
        }
    }

    /// What a read of each of `types` would give, without reading them
    /// (`C_GetAttributeValue` with no buffers, as cryptoki's `get_attribute_info`): its
    /// length, or why it cannot be read. Where several cannot and the module's answer
    /// does not say which is which, each of those is asked about alone.
    ///
    /// # Errors
    /// The module's error other than the per-attribute ones, or p11's when the session
    /// is gone or a length is absurd.
    pub fn attribute_info(&self, types: &[AttributeType]) -> Result<Vec<AttributeInfo>> {
        // No buffer: the module says the length only.
        let unbuffered = |type_| CK_ATTRIBUTE {
            type_,
            pValue: std::ptr::null_mut(),
            ulValueLen: 0,
        };
        let mut attributes: Vec<CK_ATTRIBUTE> =
            types.iter().map(|ty| unbuffered(ty.ck())).collect();
        let rv = self.get_raw(&mut attributes)?;
        let unavailable = attributes
            .iter()
            .filter(|a| a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
            .count();
        attributes
            .iter()
            .map(|attribute| {
                if attribute.ulValueLen != CK_UNAVAILABLE_INFORMATION {
                    let ty = AttributeType::from_ck(attribute.type_);
                    return Ok(AttributeInfo::Available(allocatable_len(
                        ty,
                        attribute.ulValueLen,
                    )?));
                }
                let why = if unavailable == 1 || types.len() == 1 {
                    rv
                } else {
                    self.get_raw(&mut [unbuffered(attribute.type_)])?
                };
                Ok(match why {
                    ReturnValue::AttributeSensitive => AttributeInfo::Sensitive,
                    ReturnValue::AttributeTypeInvalid => AttributeInfo::TypeInvalid,
                    _ => AttributeInfo::Unavailable,
                })
            })
            .collect()
    }

    /// The object's size on the token, in bytes (`C_GetObjectSize`).
    ///
    /// # Errors
    /// The module's error from `C_GetObjectSize`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn size(&self) -> Result<u64> {
        let mut size: CK_ULONG = 0;
        let gate = self.session.enter()?;
        // SAFETY: `size` is writable.
        unsafe {
            call!(
                gate,
                C_GetObjectSize(self.session.raw_handle(), self.handle, &mut size)
            )
        }?;
        Ok(widen(size))
    }

    /// Changes attributes (`C_SetAttributeValue`).
    ///
    /// # Errors
    /// The module's error from `C_SetAttributeValue`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn set_attributes(&self, changes: &Template) -> Result<()> {
        let mut raw = RawTemplate::new(changes, self.session.attribute_mapper())?;
        let gate = self.session.enter()?;
        // SAFETY: as for C_CreateObject.
        unsafe {
            call!(
                gate,
                C_SetAttributeValue(
                    self.session.raw_handle(),
                    self.handle,
                    raw.as_mut_ptr(),
                    raw.count()
                )
            )
        }
    }

    /// One attribute. A sensitive or absent attribute is the module's error
    /// (`CKR_ATTRIBUTE_SENSITIVE`, `CKR_ATTRIBUTE_TYPE_INVALID`).
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn get_attribute(&self, ty: AttributeType) -> Result<AttributeValue> {
        if let Some(value) = self.read_short(ty)? {
            return Ok(value);
        }
        let mut values = self.get_attributes(&[ty])?;
        values.pop().unwrap_or_else(|| {
            Err(Error::invalid_response(
                Function::GetAttributeValue,
                "no value returned",
            ))
        })
    }

    /// Several attributes, read together: one `C_GetAttributeValue` when all have fixed
    /// sizes, two otherwise. Each comes back on its own: a sensitive, absent or
    /// unavailable attribute is an error in its place, and does not fail the others.
    ///
    /// # Errors
    /// The module's error from `C_GetAttributeValue`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn get_attributes(&self, types: &[AttributeType]) -> Result<Vec<Result<AttributeValue>>> {
        self.read_all(types, true)
    }

    /// Several attributes in one call, each `None` where the object has no value p11 may
    /// read — absent, sensitive, unavailable or malformed — without further calls to
    /// learn why: for facts that may be missing, such as a key's capability flags read
    /// together with its class.
    ///
    /// # Errors
    /// The module's error when the call itself failed (a closed session, ...).
    pub fn get_present(&self, types: &[AttributeType]) -> Result<Vec<Option<AttributeValue>>> {
        let values = self.read_all(types, false)?;
        Ok(values.into_iter().map(Result::ok).collect())
    }

    /// Each of `types` in place, read by [`fill`](Self::fill); `explain` as in
    /// [`outcome`](Self::outcome).
    fn read_all(
        &self,
        types: &[AttributeType],
        explain: bool,
    ) -> Result<Vec<Result<AttributeValue>>> {
        let mapper = self.session.attribute_mapper();
        let mut reads: Vec<Read> = types.iter().map(|ty| Read::new(*ty, mapper)).collect();
        let mut attributes: Vec<CK_ATTRIBUTE> = reads.iter_mut().map(Read::attribute).collect();
        let status = self.fill(&mut reads, &mut attributes, mapper)?;
        Ok(reads
            .into_iter()
            .zip(&attributes)
            .map(|(read, attribute)| self.outcome(read, attribute, status, mapper, explain))
            .collect())
    }

    /// [`get_attributes`](Self::get_attributes) for a fixed number of attributes, kept
    /// on the stack (typed reads).
    pub(crate) fn get_attribute_array<const N: usize>(
        &self,
        types: [AttributeType; N],
    ) -> Result<[Result<AttributeValue>; N]> {
        let mapper = self.session.attribute_mapper();
        let mut reads = types.map(|ty| Read::new(ty, mapper));
        let mut attributes = reads.each_mut().map(|read| read.attribute());
        let status = self.fill(&mut reads, &mut attributes, mapper)?;
        let mut attributes = attributes.iter();
        Ok(reads.map(|read| match attributes.next() {
            Some(attribute) => self.outcome(read, attribute, status, mapper, true),
            None => Err(Error::invalid_response(
                Function::GetAttributeValue,
                "fewer values than attributes asked for",
            )),
        }))
    }

    /// A short value read in one call into room on the stack, for the attributes that
    /// are short as a rule (text: labels, applications; `CKA_ID`): `None` when it does
    /// not fit ([`SHORT`] bytes), the session has a mapper, or the attribute is of
    /// another kind — the general reading (length, then value) follows. Its own error
    /// otherwise: one attribute asked, so the call's return value is its.
    fn read_short(&self, ty: AttributeType) -> Result<Option<AttributeValue>> {
        let kind = ty.kind();
        if !(kind == AttributeKind::Text || ty == AttributeType::ID)
            || self.session.attribute_mapper().is_some()
        {
            return Ok(None);
        }
        let mut room = [0u8; SHORT];
        let mut attribute = [CK_ATTRIBUTE {
            type_: ty.ck(),
            pValue: room.as_mut_ptr().cast(),
            ulValueLen: SHORT as CK_ULONG,
        }];
        match self.get_raw(&mut attribute)? {
            ReturnValue::Ok => {}
            ReturnValue::BufferTooSmall => return Ok(None),
            rv => {
                return Err(Error::Module {
                    function: Function::GetAttributeValue,
                    rv,
                    mechanism: None,
                })
            }
        }
        let Some(written) = usize::try_from(attribute[0].ulValueLen)
            .ok()
            .and_then(|len| room.get(..len))
        else {
            // Unavailable with CKR_OK, or more than the room: the general reading says.
            return Ok(None);
        };
        decode_flat(ty, kind, written, None).map(Some)
    }

    /// Values all of fixed size (flags, classes, lengths) in one call into words on the
    /// stack, for typed reads to decode in place: `None` when one is not of fixed size,
    /// the session has a mapper, or the call failed — the general reading then says
    /// which attribute failed, and why.
    pub(crate) fn read_words<const N: usize>(
        &self,
        types: [AttributeType; N],
    ) -> Result<Option<[Word; N]>> {
        if self.session.attribute_mapper().is_some() {
            return Ok(None);
        }
        if !types.iter().all(|ty| Word::size_of(ty.kind()).is_some()) {
            return Ok(None);
        }
        let mut words = types.map(|ty| {
            let kind = ty.kind();
            Word::new(ty, kind, Word::size_of(kind).unwrap_or(0))
        });
        let mut attributes = words.each_mut().map(Word::attribute);
        if self.get_raw(&mut attributes)? != ReturnValue::Ok {
            return Ok(None);
        }
        for (word, attribute) in words.iter_mut().zip(&attributes) {
            word.len = attribute.ulValueLen;
        }
        Ok(Some(words))
    }

    /// The reading protocol shared by every attribute read: one call for the values of
    /// known size and the lengths of the others, a second (and a third for nested
    /// templates) for those. Leaves each read's bytes and length in place.
    fn fill(
        &self,
        reads: &mut [Read],
        attributes: &mut [CK_ATTRIBUTE],
        mapper: Option<&dyn AttributeMapper>,
    ) -> Result<Status> {
        let first = self.get_raw(attributes)?;

        // Size the values whose length was unknown, and fetch them.
        let mut pending = Vec::new();
        for (i, (read, attribute)) in reads.iter_mut().zip(attributes.iter()).enumerate() {
            if read.buffer.is_none() && attribute.ulValueLen != CK_UNAVAILABLE_INFORMATION {
                match read.allocate(attribute.ulValueLen) {
                    Ok(()) => pending.push(i),
                    Err(e) => read.failure = Some(e),
                }
            }
        }
        let mut second = None;
        if !pending.is_empty() {
            let mut subset: Vec<CK_ATTRIBUTE> =
                pending.iter().map(|i| reads[*i].attribute()).collect();
            second = Some(self.get_raw(&mut subset)?);
            // Nested templates: the module has now said each member's type and length.
            let mut nested_pending = false;
            for (slot, i) in pending.iter().enumerate() {
                attributes[*i] = subset[slot];
                if reads[*i].size_nested(mapper)? {
                    nested_pending = true;
                }
            }
            if nested_pending {
                let mut subset: Vec<CK_ATTRIBUTE> =
                    pending.iter().map(|i| reads[*i].attribute()).collect();
                second = Some(self.get_raw(&mut subset)?);
                for (slot, i) in pending.iter().enumerate() {
                    attributes[*i] = subset[slot];
                }
            }
        }

        let unavailable = attributes
            .iter()
            .filter(|a| a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
            .count();
        let rv = second.filter(|rv| *rv != ReturnValue::Ok).unwrap_or(first);
        Ok(Status {
            rv,
            unavailable,
            count: reads.len(),
        })
    }

    /// One read's result, once [`fill`](Self::fill) has run. With `explain`, an
    /// unavailable value's error is its own, asked for alone when the call's return value
    /// may name another's.
    fn outcome(
        &self,
        read: Read,
        attribute: &CK_ATTRIBUTE,
        status: Status,
        mapper: Option<&dyn AttributeMapper>,
        explain: bool,
    ) -> Result<AttributeValue> {
        let module_error = |rv| Error::Module {
            function: Function::GetAttributeValue,
            rv,
            mechanism: None,
        };
        if status.rv != ReturnValue::Ok && status.unavailable == 0 {
            // The call failed but marked no attribute: nothing it wrote can be trusted.
            // Which one failed is unknown when there were several: ask for each alone.
            return if status.count == 1 {
                Err(module_error(status.rv))
            } else {
                self.get_attribute(read.ty)
            };
        }
        if let Some(e) = read.failure {
            Err(e)
        } else if attribute.ulValueLen == CK_UNAVAILABLE_INFORMATION {
            // The call's one return value names one of the failures; with several,
            // ask for this one alone to learn its own (or its value, should the module
            // give it now: an object changed meanwhile).
            if explain && (status.unavailable > 1 || status.rv == ReturnValue::Ok) {
                return self.read_alone(read.ty);
            }
            if status.rv == ReturnValue::Ok {
                return Err(Error::invalid_response(
                    Function::GetAttributeValue,
                    format!("CKR_OK with {} marked unavailable", read.ty),
                ));
            }
            Err(module_error(status.rv))
        } else {
            read.decode(attribute.ulValueLen, mapper)
        }
    }

    /// `C_GetAttributeValue` on `attributes`, accepting the return values that report on
    /// single attributes.
    fn get_raw(&self, attributes: &mut [CK_ATTRIBUTE]) -> Result<ReturnValue> {
        let gate = self.session.enter()?;
        let count = crate::template::ulong_len(attributes.len(), "the attribute list")?;
        // SAFETY: each attribute's pValue is NULL or points at ulValueLen writable bytes
        // owned by the caller's `Read`s, alive across the call.
        let result = unsafe {
            call!(
                gate,
                C_GetAttributeValue(
                    self.session.raw_handle(),
                    self.handle,
                    attributes.as_mut_ptr(),
                    count
                )
            )
        };
        match result {
            Ok(()) => Ok(ReturnValue::Ok),
            Err(Error::Module {
                rv:
                    rv @ (ReturnValue::AttributeSensitive
                    | ReturnValue::AttributeTypeInvalid
                    | ReturnValue::BufferTooSmall),
                ..
            }) => Ok(rv),
            Err(e) => Err(e),
        }
    }

    /// An upper bound on what `mechanism` makes of `input_len` bytes with this key, or
    /// `None` to ask the module: for RSA the modulus's length, read from the key once
    /// (the length alone, one call) and kept — exactly the output, so that no module
    /// can pass spare room off as output, and no length query is needed (kryoptic's
    /// fails for raw RSA).
    pub(crate) fn output_bound(
        &self,
        mechanism: MechanismType,
        operation: p11_mechanisms::Operations,
        input_len: usize,
    ) -> Option<usize> {
        if !mechanism.output_is_modulus() {
            return mechanism.output_bound(operation, input_len);
        }
        *self.modulus_len.get_or_init(|| {
            let mut probe = [CK_ATTRIBUTE {
                type_: CKA_MODULUS,
                pValue: std::ptr::null_mut(),
                ulValueLen: 0,
            }];
            match self.get_raw(&mut probe) {
                // A modulus of up to 64 kbit; anything else is no answer to trust.
                Ok(ReturnValue::Ok) => usize::try_from(probe[0].ulValueLen)
                    .ok()
                    .filter(|len| (1..=8192).contains(len)),
                _ => None,
            }
        })
    }

    /// `ty` read by itself, its failure its own: never explained further, so a module
    /// that keeps marking it unavailable meets no loop.
    fn read_alone(&self, ty: AttributeType) -> Result<AttributeValue> {
        let mut values = self.read_all(&[ty], false)?;
        values.pop().unwrap_or_else(|| {
            Err(Error::invalid_response(
                Function::GetAttributeValue,
                "no value returned",
            ))
        })
    }
}

/// The room a short value (a label, an id) is first read into.
const SHORT: usize = 64;

/// A fixed-size value (a `CK_BBOOL` or a `CK_ULONG`) read into a word in place: no
/// allocation. The module writes it at the word's address, so its first `len` bytes in
/// memory are the value.
pub(crate) struct Word {
    ty: AttributeType,
    kind: AttributeKind,
    value: CK_ULONG,
    /// The value's size, which the module was given.
    size: usize,
    /// What the module says it wrote.
    len: CK_ULONG,
}

impl Word {
    /// The size of a value of `kind` when it is fixed.
    fn size_of(kind: AttributeKind) -> Option<usize> {
        match kind {
            AttributeKind::Bool => Some(size_of::<CK_BBOOL>()),
            AttributeKind::Ulong
            | AttributeKind::ObjectClass
            | AttributeKind::KeyType
            | AttributeKind::CertificateType
            | AttributeKind::Mechanism => Some(size_of::<CK_ULONG>()),
            _ => None,
        }
    }

    /// A word for `ty` of `kind`, given `size` bytes ([`size_of`](Self::size_of)).
    fn new(ty: AttributeType, kind: AttributeKind, size: usize) -> Word {
        Word {
            ty,
            kind,
            value: 0,
            size,
            len: 0,
        }
    }

    fn attribute(&mut self) -> CK_ATTRIBUTE {
        CK_ATTRIBUTE {
            type_: self.ty.ck(),
            pValue: (&mut self.value as *mut CK_ULONG).cast(),
            // At most a CK_ULONG's size.
            ulValueLen: self.size as CK_ULONG,
        }
    }

    /// `decode` on the bytes written, as long as the module says it wrote no more than
    /// it was given.
    fn decode_with<T>(&self, decode: impl FnOnce(&[u8]) -> Result<T>) -> Result<T> {
        let bytes = self.value.to_ne_bytes();
        match usize::try_from(self.len)
            .ok()
            .filter(|len| *len <= self.size)
            .and_then(|len| bytes.get(..len))
        {
            Some(written) => decode(written),
            None => Err(Error::invalid_response(
                Function::GetAttributeValue,
                format!(
                    "{} claims {} bytes in a buffer of {}",
                    self.ty, self.len, self.size
                ),
            )),
        }
    }

    /// The value as `T`.
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] for a length beyond the word; [`Error::AttributeKind`]
    /// when `T` is of another kind.
    pub(crate) fn decode<T: crate::typed::FromAttribute>(&self) -> Result<T> {
        self.decode_with(|bytes| T::from_bytes(self.ty, self.kind, bytes))
    }
}

/// A flat value's bytes, by the one decoder: the session's mapper, else p11's own.
fn decode_flat(
    ty: AttributeType,
    kind: AttributeKind,
    bytes: &[u8],
    mapper: Option<&dyn AttributeMapper>,
) -> Result<AttributeValue> {
    match mapper {
        Some(mapper) => mapper.decode(ty, kind, bytes),
        None => AttributeValue::decode(ty, kind, bytes),
    }
}

/// How a [`fill`](Object::fill) went, for each read's outcome.
#[derive(Clone, Copy)]
struct Status {
    /// The return value of the call that decides: the second's when it failed.
    rv: ReturnValue,
    /// How many attributes the module marked unavailable.
    unavailable: usize,
    /// How many attributes were read.
    count: usize,
}

/// One attribute being read: its buffer, and what went wrong with it, if anything.
struct Read {
    ty: AttributeType,
    kind: AttributeKind,
    buffer: Option<Buffer>,
    failure: Option<Error>,
}

enum Buffer {
    Word(Word),
    Bytes(Zeroizing<Vec<u8>>),
    /// `CK_ULONG`-aligned, for values the module writes as `CK_ULONG`s.
    Ulongs(Vec<CK_ULONG>),
    /// A nested template: its attributes, and a buffer for each.
    Nested(Vec<CK_ATTRIBUTE>, Vec<Read>),
}

impl Read {
    /// A read whose buffer is ready when the value's size is fixed; of the kind the
    /// session's mapper says, if it has one.
    fn new(ty: AttributeType, mapper: Option<&dyn AttributeMapper>) -> Read {
        let kind = kind_of(mapper, ty);
        let buffer = Word::size_of(kind).map(|size| Buffer::Word(Word::new(ty, kind, size)));
        Read {
            ty,
            kind,
            buffer,
            failure: None,
        }
    }

    fn attribute(&mut self) -> CK_ATTRIBUTE {
        let (pointer, len) = match &mut self.buffer {
            None => (std::ptr::null_mut(), 0),
            Some(Buffer::Word(word)) => return word.attribute(),
            Some(Buffer::Bytes(b)) => (b.as_mut_ptr() as CK_VOID_PTR, b.len()),
            Some(Buffer::Ulongs(u)) => (
                u.as_mut_ptr() as CK_VOID_PTR,
                u.len() * size_of::<CK_ULONG>(),
            ),
            Some(Buffer::Nested(n, _)) => (
                n.as_mut_ptr() as CK_VOID_PTR,
                n.len() * size_of::<CK_ATTRIBUTE>(),
            ),
        };
        CK_ATTRIBUTE {
            type_: self.ty.ck(),
            pValue: pointer,
            // Buffers are at most MAX_ATTRIBUTE_LEN, which fits any CK_ULONG.
            ulValueLen: len as CK_ULONG,
        }
    }

    /// A buffer for a value of `len` bytes, as the module reported it.
    fn allocate(&mut self, len: CK_ULONG) -> Result<()> {
        let len = allocatable_len(self.ty, len)?;
        self.buffer = Some(match self.kind {
            // A word of spare capacity: some SoftHSM releases write a mechanism list one
            // element past its end.
            AttributeKind::Mechanisms => {
                let words = len.div_ceil(size_of::<CK_ULONG>());
                let mut buffer = Vec::with_capacity(words + 1);
                buffer.resize(words, 0);
                Buffer::Ulongs(buffer)
            }
            AttributeKind::Template => {
                if len % size_of::<CK_ATTRIBUTE>() != 0 {
                    return Err(Error::invalid_response(
                        Function::GetAttributeValue,
                        format!(
                            "{} is {len} bytes, not a whole number of attributes",
                            self.ty
                        ),
                    ));
                }
                let count = len / size_of::<CK_ATTRIBUTE>();
                Buffer::Nested(vec![CK_ATTRIBUTE::default(); count], Vec::new())
            }
            _ => Buffer::Bytes(Zeroizing::new(vec![0; len])),
        });
        Ok(())
    }

    /// After the module filled in a nested template's member types and lengths, gives
    /// each member a buffer. `true` when another call is needed to fetch them.
    fn size_nested(&mut self, mapper: Option<&dyn AttributeMapper>) -> Result<bool> {
        let Some(Buffer::Nested(attributes, members)) = &mut self.buffer else {
            return Ok(false);
        };
        if !members.is_empty() || attributes.is_empty() {
            return Ok(false);
        }
        // Every member in place first: the attributes point into them, so the vector
        // must not move once pointers are taken.
        members.extend(
            attributes
                .iter()
                .map(|a| Read::new(AttributeType::from_ck(a.type_), mapper)),
        );
        for (member, attribute) in members.iter_mut().zip(attributes.iter_mut()) {
            if member.buffer.is_none() {
                member.allocate(attribute.ulValueLen)?;
            }
            *attribute = member.attribute();
        }
        Ok(true)
    }

    fn decode(
        self,
        written: CK_ULONG,
        mapper: Option<&dyn AttributeMapper>,
    ) -> Result<AttributeValue> {
        let (ty, kind) = (self.ty, self.kind);
        let bad = |what: String| Error::invalid_response(Function::GetAttributeValue, what);
        let len = usize::try_from(written).unwrap_or(usize::MAX);
        let flat = |bytes: &[u8]| decode_flat(ty, kind, bytes, mapper);
        let beyond = |room: usize| bad(format!("{ty} claims {len} bytes in a buffer of {room}"));
        match self.buffer {
            None => Err(bad(format!("no buffer was sized for {ty}"))),
            Some(Buffer::Word(mut word)) => {
                word.len = written;
                word.decode_with(|bytes| decode_flat(ty, kind, bytes, mapper))
            }
            Some(Buffer::Bytes(bytes)) if len > bytes.len() => Err(beyond(bytes.len())),
            // Opaque values keep their (zeroized) buffer rather than being copied.
            Some(Buffer::Bytes(mut bytes))
                if mapper.is_none()
                    && matches!(
                        kind,
                        AttributeKind::Bytes | AttributeKind::BigInteger | AttributeKind::Unknown
                    ) =>
            {
                bytes.truncate(len);
                Ok(AttributeValue::Bytes(bytes))
            }
            Some(Buffer::Bytes(bytes)) => flat(&bytes[..len]),
            Some(Buffer::Ulongs(words)) => {
                let word = size_of::<CK_ULONG>();
                if len % word != 0 || len > words.len() * word {
                    return Err(bad(format!("{ty} is {len} bytes, not whole CK_ULONGs")));
                }
                Ok(AttributeValue::Mechanisms(
                    words[..len / word]
                        .iter()
                        .map(|w| MechanismType::from_ck(*w))
                        .collect(),
                ))
            }
            Some(Buffer::Nested(attributes, mut members)) => {
                // The module must have written each member into the buffer p11 gave it.
                // One that answers with its own attribute array (pointers into its own
                // memory: NSS's softoken) left p11's buffers as they were.
                for (member, attribute) in members.iter_mut().zip(&attributes) {
                    let ours = member.attribute();
                    if attribute.type_ != ours.type_ || attribute.pValue != ours.pValue {
                        return Err(bad(format!(
                            "{ty}: the module answered with attributes of its own instead \
                             of filling the buffers given for them"
                        )));
                    }
                }
                let mut template = Template::new();
                for (member, attribute) in members.into_iter().zip(&attributes) {
                    let ty = member.ty;
                    template.set(ty, member.decode(attribute.ulValueLen, mapper)?);
                }
                Ok(AttributeValue::Template(template))
            }
        }
    }
}

/// What reading an attribute would give ([`Object::attribute_info`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeInfo {
    /// A value of this many bytes (0: empty).
    Available(usize),
    /// The attribute is sensitive or unextractable (`CKR_ATTRIBUTE_SENSITIVE`).
    Sensitive,
    /// The object has no such attribute (`CKR_ATTRIBUTE_TYPE_INVALID`).
    TypeInvalid,
    /// The module marked it unavailable without saying why.
    Unavailable,
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Object")
            .field("handle", &self.handle)
            .field("session", &self.session.raw_handle())
            .finish()
    }
}

/// Two objects are equal when they are the same handle on the same session.
impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        self.handle == other.handle && self.session.raw_handle() == other.session.raw_handle()
    }
}

impl Eq for Object {}

/// The key an operation uses, with the PIN a key marked `CKA_ALWAYS_AUTHENTICATE` asks
/// for on every use, given right after the operation begins: `&key`, or
/// `key.with_pin(pin)`. Signing and decryption take it, one-shot and streamed.
///
/// ```no_run
/// # fn demo(session: &p11_core::Session, key: &p11_core::Object) -> p11_core::Result<()> {
/// use p11_core::{Mechanism, MechanismType};
/// let mechanism = Mechanism::new(MechanismType::ECDSA_SHA256);
/// let signature = session.sign(&mechanism, key.with_pin("1234"), b"data")?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct KeyUse<'a> {
    pub(crate) key: &'a Object,
    pub(crate) pin: Option<Pin>,
}

impl<'a> From<&'a Object> for KeyUse<'a> {
    fn from(key: &'a Object) -> Self {
        KeyUse { key, pin: None }
    }
}

impl Object {
    /// This key with the PIN it asks for on every use (`CKA_ALWAYS_AUTHENTICATE`), for
    /// [`Session::sign`], [`Session::decrypt`] and their streams.
    pub fn with_pin(&self, pin: impl Into<Pin>) -> KeyUse<'_> {
        KeyUse {
            key: self,
            pin: Some(pin.into()),
        }
    }
}

impl From<&Object> for p11_mechanisms::KeyHandle {
    /// The key named in a mechanism parameter (`CONCATENATE_BASE_AND_KEY`'s second key,
    /// MQV's second pair).
    fn from(object: &Object) -> Self {
        p11_mechanisms::KeyHandle::from_ck(object.raw_handle())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::Date;

    #[test]
    fn an_absurd_length_is_an_error_not_an_allocation() {
        let mut read = Read::new(AttributeType::VALUE, None);
        let err = read.allocate(CK_ULONG::MAX).unwrap_err();
        assert!(
            err.to_string().contains("more than p11 will allocate"),
            "{err}"
        );
        let mut nested = Read::new(AttributeType::WRAP_TEMPLATE, None);
        assert!(
            nested.allocate(7).is_err(),
            "not a whole number of CK_ATTRIBUTEs"
        );
    }

    /// NSS's softoken answers a nested template by copying its own attribute array
    /// over the caller's, so the members' buffers stay untouched: decoding them would
    /// give zeros (a class of DATA, a key type of RSA, false flags) as if read.
    #[test]
    fn a_nested_template_answered_with_the_modules_own_pointers_is_an_error() {
        let mut nested = Read::new(AttributeType::WRAP_TEMPLATE, None);
        nested
            .allocate(size_of::<CK_ATTRIBUTE>() as CK_ULONG)
            .unwrap();
        let Some(Buffer::Nested(attributes, _)) = &mut nested.buffer else {
            panic!("a nested buffer");
        };
        attributes[0].type_ = AttributeType::CLASS.ck();
        attributes[0].ulValueLen = size_of::<CK_ULONG>() as CK_ULONG;
        assert!(nested.size_nested(None).unwrap());
        let mut elsewhere: CK_ULONG = 4;
        let Some(Buffer::Nested(attributes, _)) = &mut nested.buffer else {
            panic!("a nested buffer");
        };
        attributes[0].pValue = &mut elsewhere as *mut CK_ULONG as CK_VOID_PTR;
        let err = nested
            .decode(size_of::<CK_ATTRIBUTE>() as CK_ULONG, None)
            .unwrap_err();
        assert!(err.to_string().contains("attributes of its own"), "{err}");
    }

    #[test]
    fn a_length_beyond_the_buffer_is_an_error_not_a_read() {
        let mut read = Read::new(AttributeType::LABEL, None);
        read.allocate(4).unwrap();
        let err = read.decode(5, None).unwrap_err();
        assert!(
            err.to_string().contains("claims 5 bytes in a buffer of 4"),
            "{err}"
        );
        let boolean = Read::new(AttributeType::TOKEN, None);
        assert!(boolean.decode(2, None).is_err());
        let ulong = Read::new(AttributeType::VALUE_LEN, None);
        assert!(ulong.decode(3, None).is_err());
    }

    #[test]
    fn a_word_decodes_to_its_type_only_within_its_size_and_kind() {
        let mut flag = Word::new(AttributeType::SIGN, AttributeKind::Bool, 1);
        // The module writes one byte at the word's address.
        let mut written = [0; size_of::<CK_ULONG>()];
        written[0] = 1;
        flag.value = CK_ULONG::from_ne_bytes(written);
        flag.len = 1;
        assert!(flag.decode::<bool>().unwrap());
        assert!(matches!(
            flag.decode::<u64>(),
            Err(Error::AttributeKind { .. })
        ));
        flag.len = 2;
        let err = flag.decode::<bool>().unwrap_err();
        assert!(
            err.to_string().contains("claims 2 bytes in a buffer of 1"),
            "{err}"
        );
        let word = size_of::<CK_ULONG>();
        let mut class = Word::new(AttributeType::CLASS, AttributeKind::ObjectClass, word);
        class.value = CKO_SECRET_KEY;
        class.len = word as CK_ULONG;
        assert_eq!(
            class.decode::<ObjectClass>().unwrap(),
            ObjectClass::SECRET_KEY
        );
        class.len = CK_UNAVAILABLE_INFORMATION;
        assert!(class.decode::<ObjectClass>().is_err());
    }

    #[test]
    fn values_decode_by_their_kind() {
        let mut read = Read::new(AttributeType::START_DATE, None);
        read.allocate(8).unwrap();
        if let Some(Buffer::Bytes(b)) = &mut read.buffer {
            b.copy_from_slice(b"20251231");
        }
        assert_eq!(
            read.decode(8, None).unwrap(),
            AttributeValue::Date(Date::new(2025, 12, 31))
        );
        let mut empty = Read::new(AttributeType::END_DATE, None);
        empty.allocate(0).unwrap();
        assert_eq!(empty.decode(0, None).unwrap(), AttributeValue::Date(None));
    }
}
