//! Holding a module to what was asked of a new object. Some tokens quietly make an
//! object other than the template says — OpenSC's OpenPGP card makes a token object when
//! a session object was asked, tpm2-pkcs11 makes token keys — so a user would believe a
//! persistent key ephemeral. The attributes that matter (storage, label, sensitivity,
//! extractability) are read back the first time a session asks for each value; once the
//! token has honoured it, the session trusts it with it, so making keys costs no read
//! after that (a read of three attributes is a tenth of SoftHSM's AES key generation).

use p11_core::Function;
use p11_core::{AttributeType as A, AttributeValue, Error, Object, Result, ReturnValue, Template};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// The attributes held to what was asked.
const CHECKED: [A; 4] = [A::TOKEN, A::LABEL, A::SENSITIVE, A::EXTRACTABLE];

/// An attribute and the flag asked of it (`None` for a label, whatever its text: a token
/// that keeps one label keeps them all).
type Asked = (A, Option<bool>);

/// What a session's token has been seen to honour.
#[derive(Clone, Debug, Default)]
pub(crate) struct Honoured(Arc<Mutex<HashSet<Asked>>>);

fn entry(ty: A, value: &AttributeValue) -> Asked {
    match value {
        AttributeValue::Bool(b) => (ty, Some(*b)),
        _ => (ty, None),
    }
}

impl Honoured {
    /// Checks that `object`, just made from `asked`, has what `asked` says of the
    /// attributes that matter, where the token has not yet shown that it honours them.
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] naming what differs, after destroying the object (or
    /// saying that the module would not); the module's error reading the attributes.
    pub(crate) fn check(
        &self,
        object: Object,
        asked: &Template,
        function: Function,
    ) -> Result<Object> {
        let unproven: Vec<(A, &AttributeValue)> = {
            let honoured = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            CHECKED
                .iter()
                .filter_map(|ty| asked.get(*ty).map(|value| (*ty, value)))
                .filter(|(ty, value)| !honoured.contains(&entry(*ty, value)))
                .collect()
        };
        if unproven.is_empty() {
            return Ok(object);
        }
        let (object, judged) = hold_judging(object, &unproven, function)?;
        let mut honoured = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // What the token set as asked, it is trusted with; a flag it could not set but
        // whose point it kept (see `hold`) is looked at again on the next key.
        honoured.extend(
            unproven
                .iter()
                .filter(|(ty, _)| !judged.contains(ty))
                .map(|(ty, value)| entry(*ty, value)),
        );
        Ok(object)
    }
}

/// The attributes that hold a key's secret: a sensitive key never reveals them.
const SECRET_PARTS: [A; 8] = [
    A::VALUE,
    A::PRIVATE_EXPONENT,
    A::PRIME_1,
    A::PRIME_2,
    A::EXPONENT_1,
    A::EXPONENT_2,
    A::COEFFICIENT,
    A::SEED,
];

/// Whether any part of `object`'s secret reads in the clear.
fn secret_readable(object: &Object) -> Result<bool> {
    Ok(object
        .get_present(&SECRET_PARTS)?
        .iter()
        .flatten()
        .any(|value| !matches!(value, AttributeValue::Bytes(bytes) if bytes.is_empty())))
}

/// `object`, just made, when it has each of `asked`'s values (an attribute it does not
/// have at all — kryoptic leaves `CKA_LABEL` out when none was given, a key without a
/// capability — cannot mislead). `CKA_SENSITIVE` asked true is judged by its point, not
/// its flag: a card that cannot set the flag (OpenSC's OpenPGP card reports its keys not
/// sensitive) passes when no part of the secret reads in the clear.
///
/// # Errors
/// [`Error::InvalidResponse`] naming what differs, after destroying the object (or saying
/// that the module would not); the module's error reading the attributes.
pub(crate) fn hold(
    object: Object,
    asked: &[(A, &AttributeValue)],
    function: Function,
) -> Result<Object> {
    hold_judging(object, asked, function).map(|(object, _)| object)
}

/// [`hold`], and the attributes that passed by their point rather than their value.
fn hold_judging(
    object: Object,
    asked: &[(A, &AttributeValue)],
    function: Function,
) -> Result<(Object, Vec<A>)> {
    let types: Vec<A> = asked.iter().map(|(ty, _)| *ty).collect();
    let made = object.get_attributes(&types)?;
    let mut differs = Vec::new();
    let mut judged = Vec::new();
    for ((ty, value), made) in asked.iter().zip(made) {
        match made {
            Ok(made) if made == **value => {}
            Err(e) if e.return_value() == Some(ReturnValue::AttributeTypeInvalid) => {}
            Ok(AttributeValue::Bool(false))
                if *ty == A::SENSITIVE && **value == AttributeValue::Bool(true) =>
            {
                if secret_readable(&object)? {
                    differs.push(format!(
                        "{ty} is false where true was asked, and its secret reads in the clear"
                    ));
                } else {
                    judged.push(*ty);
                }
            }
            Ok(made) => differs.push(format!("{ty} is {made:?} where {value:?} was asked")),
            Err(e) => return Err(e),
        }
    }
    if differs.is_empty() {
        return Ok((object, judged));
    }
    Err(Error::InvalidResponse {
        function,
        what: format!(
            "the token made the object otherwise than asked: {}; {}",
            differs.join(", "),
            destroyed("it", object)
        ),
    })
}

/// Destroys `object`, made otherwise than asked (or with a half that was): what became
/// of it, for the error that says why, so that no key is left behind unsaid.
fn destroyed(what: &str, object: Object) -> String {
    match object.destroy() {
        Ok(()) => format!("{what} was destroyed"),
        Err(e) => format!("{what} is still on the token: the module would not destroy it ({e})"),
    }
}

/// A key pair whose halves each pass their check; a half that fails takes the other
/// with it.
pub(crate) fn hold_pair(
    (public, private): (Object, Object),
    check_public: impl FnOnce(Object) -> Result<Object>,
    check_private: impl FnOnce(Object) -> Result<Object>,
) -> Result<(Object, Object)> {
    let public = match check_public(public) {
        Ok(made) => made,
        Err(e) => return Err(with_half(e, "its private key", private)),
    };
    match check_private(private) {
        Ok(private) => Ok((public, private)),
        Err(e) => Err(with_half(e, "its public key", public)),
    }
}

/// `error`, for one half of a pair, with what became of the other half, destroyed too.
fn with_half(error: Error, half: &str, object: Object) -> Error {
    let fate = destroyed(half, object);
    match error {
        Error::InvalidResponse { function, what } => Error::InvalidResponse {
            function,
            what: format!("{what}; {fate}"),
        },
        other => other,
    }
}
