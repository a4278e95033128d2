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
        let object = hold(object, &unproven, function)?;
        let mut honoured = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        honoured.extend(unproven.iter().map(|(ty, value)| entry(*ty, value)));
        Ok(object)
    }
}

/// `object`, just made, when it has each of `asked`'s values (an attribute it does not
/// have at all — kryoptic leaves `CKA_LABEL` out when none was given, a key without a
/// capability — cannot mislead).
///
/// # Errors
/// [`Error::InvalidResponse`] naming what differs, after destroying the object (or saying
/// that the module would not); the module's error reading the attributes.
pub(crate) fn hold(
    object: Object,
    asked: &[(A, &AttributeValue)],
    function: Function,
) -> Result<Object> {
    let types: Vec<A> = asked.iter().map(|(ty, _)| *ty).collect();
    let made = object.get_attributes(&types)?;
    let mut differs = Vec::new();
    for ((ty, value), made) in asked.iter().zip(made) {
        match made {
            Ok(made) if made == **value => {}
            Err(e) if e.return_value() == Some(ReturnValue::AttributeTypeInvalid) => {}
            Ok(made) => differs.push(format!("{ty} is {made:?} where {value:?} was asked")),
            Err(e) => return Err(e),
        }
    }
    if differs.is_empty() {
        return Ok(object);
    }
    let fate = match object.destroy() {
        Ok(()) => "it was destroyed".to_owned(),
        Err(e) => format!("the module would not destroy it ({e})"),
    };
    Err(Error::InvalidResponse {
        function,
        what: format!(
            "the token made the object otherwise than asked: {}; {fate}",
            differs.join(", ")
        ),
    })
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
        Err(e) => {
            let _ = private.destroy();
            return Err(e);
        }
    };
    match check_private(private) {
        Ok(private) => Ok((public, private)),
        Err(e) => {
            let _ = public.destroy();
            Err(e)
        }
    }
}
