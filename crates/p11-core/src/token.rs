//! Tokens: what they are, finding them, and opening sessions on them.

use crate::error::{Error, Quoted, Result};
use crate::info::{available, padded_text, widen, SessionLimit, SlotFlags, TokenFlags, Version};
use crate::module::Module;
use crate::session::{Access, Session};
use crate::slot::Slot;
use crate::{call, MechanismType, ReturnValue};
use p11_sys::*;
use std::fmt;

/// A token: the device or software store in a slot that holds keys and objects.
#[derive(Clone)]
pub struct Token {
    slot: Slot,
    label: String,
    serial: String,
}

/// What a token says of itself (`C_GetTokenInfo`). Counts the token declines to give are
/// `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// The label given at initialisation.
    pub label: String,
    /// Who made the token.
    pub manufacturer_id: String,
    /// Its model.
    pub model: String,
    /// Its serial number, as the text PKCS#11 stores it.
    pub serial_number: String,
    /// What it is and its PIN states.
    pub flags: TokenFlags,
    /// The most sessions it allows.
    pub max_session_count: SessionLimit,
    /// Sessions open on it now (all applications).
    pub session_count: Option<u64>,
    /// The most read/write sessions it allows.
    pub max_rw_session_count: SessionLimit,
    /// Read/write sessions open on it now.
    pub rw_session_count: Option<u64>,
    /// The longest PIN it accepts.
    pub max_pin_len: u64,
    /// The shortest PIN it accepts.
    pub min_pin_len: u64,
    /// Memory for public objects, in bytes.
    pub total_public_memory: Option<u64>,
    /// Free memory for public objects.
    pub free_public_memory: Option<u64>,
    /// Memory for private objects, in bytes.
    pub total_private_memory: Option<u64>,
    /// Free memory for private objects.
    pub free_private_memory: Option<u64>,
    /// Hardware version.
    pub hardware_version: Version,
    /// Firmware version.
    pub firmware_version: Version,
    /// The token's clock (`YYYYMMDDhhmmssxx`), when it has one.
    pub utc_time: Option<String>,
}

pub(crate) fn token_info(slot: &Slot) -> Result<TokenInfo> {
    let gate = slot.module_inner().enter()?;
    let mut info = CK_TOKEN_INFO::default();
    // SAFETY: `info` is a writable CK_TOKEN_INFO.
    unsafe { call!(gate, C_GetTokenInfo(slot.id().ulong(), &mut info)) }?;
    let flags = TokenFlags::from_bits_retain(widen(info.flags));
    let utc_time = padded_text(&info.utcTime);
    Ok(TokenInfo {
        label: padded_text(&info.label),
        manufacturer_id: padded_text(&info.manufacturerID),
        model: padded_text(&info.model),
        serial_number: padded_text(&info.serialNumber),
        flags,
        max_session_count: SessionLimit::from_raw(info.ulMaxSessionCount),
        session_count: available(info.ulSessionCount),
        max_rw_session_count: SessionLimit::from_raw(info.ulMaxRwSessionCount),
        rw_session_count: available(info.ulRwSessionCount),
        max_pin_len: widen(info.ulMaxPinLen),
        min_pin_len: widen(info.ulMinPinLen),
        total_public_memory: available(info.ulTotalPublicMemory),
        free_public_memory: available(info.ulFreePublicMemory),
        total_private_memory: available(info.ulTotalPrivateMemory),
        free_private_memory: available(info.ulFreePrivateMemory),
        hardware_version: info.hardwareVersion.into(),
        firmware_version: info.firmwareVersion.into(),
        utc_time: (flags.contains(TokenFlags::CLOCK_ON_TOKEN) && !utc_time.is_empty())
            .then_some(utc_time),
    })
}

impl Token {
    pub(crate) fn in_slot(slot: Slot) -> Result<Token> {
        let info = token_info(&slot)?;
        Ok(Token {
            slot,
            label: info.label,
            serial: info.serial_number,
        })
    }

    /// The slot the token is in.
    pub fn slot(&self) -> &Slot {
        &self.slot
    }

    /// The label, as read when this value was made.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The serial number, as read when this value was made.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// What the token says of itself now (session counts, free memory, PIN flags, ...).
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn info(&self) -> Result<TokenInfo> {
        token_info(&self.slot)
    }

    /// Opens a session on the token. Log in with [`Session::login`].
    ///
    /// ```no_run
    /// use p11_core::{Access, Module, TokenFilter, UserType};
    ///
    /// let module = Module::load("/usr/lib/softhsm/libsofthsm2.so")?;
    /// let token = module.get_token(&TokenFilter::new().label("TEST"))?;
    /// let session = token.open(Access::ReadWrite)?;
    /// session.login(UserType::USER, "1234")?;
    /// # Ok::<(), p11_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn open(&self, access: Access) -> Result<Session> {
        Session::open(self.slot.clone(), access)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("label", &self.label)
            .field("serial", &self.serial)
            .field("slot", &self.slot.id())
            .finish()
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

/// Which tokens [`Module::get_tokens`] returns: those matching every criterion set.
/// The default matches every token present.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use = "a builder does nothing until used"]
pub struct TokenFilter {
    label: Option<String>,
    serial: Option<String>,
    token_flags: Option<TokenFlags>,
    slot_flags: Option<SlotFlags>,
    mechanisms: Vec<MechanismType>,
    /// What a PKCS#11 URI asks of the token, its slot and its library beyond label and
    /// serial.
    uri: Option<crate::Uri>,
}

impl TokenFilter {
    /// Matches every token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only the token with this label.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Only the token with this serial number.
    pub fn serial(mut self, serial: impl Into<String>) -> Self {
        self.serial = Some(serial.into());
        self
    }

    /// Only tokens with all of these flags set.
    pub fn token_flags(mut self, flags: TokenFlags) -> Self {
        self.token_flags = Some(flags);
        self
    }

    /// Only tokens in slots with all of these flags set.
    pub fn slot_flags(mut self, flags: SlotFlags) -> Self {
        self.slot_flags = Some(flags);
        self
    }

    /// Only tokens that support every one of these mechanisms.
    pub fn mechanisms(mut self, mechanisms: impl IntoIterator<Item = MechanismType>) -> Self {
        self.mechanisms.extend(mechanisms);
        self
    }

    /// Only the tokens a PKCS#11 URI names: its token, slot and library attributes (the
    /// object attributes are for searching the token: [`Uri::object_template`]), among
    /// the initialised tokens (as p11tool searches): a URI without `token=` finds the one
    /// initialised token beside SoftHSM's always-present free one.
    ///
    /// [`Uri::object_template`]: crate::Uri::object_template
    pub fn uri(mut self, uri: &crate::Uri) -> Self {
        if let Some(label) = &uri.token {
            self.label = Some(label.clone());
        }
        if let Some(serial) = &uri.serial {
            self.serial = Some(serial.clone());
        }
        self.uri = Some(uri.clone());
        self
    }

    fn matches(&self, slot: &Slot, info: &TokenInfo) -> Result<bool> {
        if self.label.as_ref().is_some_and(|l| *l != info.label)
            || self
                .serial
                .as_ref()
                .is_some_and(|s| *s != info.serial_number)
            || self.token_flags.is_some_and(|f| !info.flags.contains(f))
        {
            return Ok(false);
        }
        if let Some(flags) = self.slot_flags {
            if !slot.info()?.flags.contains(flags) {
                return Ok(false);
            }
        }
        if let Some(uri) = &self.uri {
            if !info.flags.contains(TokenFlags::TOKEN_INITIALIZED)
                || !uri.matches_token(slot, info)?
            {
                return Ok(false);
            }
        }
        if !self.mechanisms.is_empty() {
            let offered = slot.mechanisms()?;
            if !self.mechanisms.iter().all(|m| offered.contains(m)) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl fmt::Display for TokenFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(label) = &self.label {
            parts.push(format!("label {}", Quoted(label)));
        }
        if let Some(serial) = &self.serial {
            parts.push(format!("serial {}", Quoted(serial)));
        }
        if let Some(flags) = self.token_flags {
            parts.push(format!("token flags {flags:?}"));
        }
        if let Some(flags) = self.slot_flags {
            parts.push(format!("slot flags {flags:?}"));
        }
        if !self.mechanisms.is_empty() {
            let names: Vec<String> = self.mechanisms.iter().map(|m| m.to_string()).collect();
            parts.push(format!("mechanisms {}", names.join(", ")));
        }
        if let Some(uri) = &self.uri {
            // The URI as written, its PIN left out.
            let mut shown = uri.clone();
            shown.pin_value = None;
            parts.push(format!("URI {}", Quoted(&shown.to_string())));
        }
        if parts.is_empty() {
            f.write_str("any token")
        } else {
            f.write_str(&parts.join(" and "))
        }
    }
}

impl Module {
    /// The tokens present that match `filter`, in slot order.
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn get_tokens(&self, filter: &TokenFilter) -> Result<Vec<Token>> {
        Ok(self.survey(filter)?.matching)
    }

    /// The one token that matches `filter`: [`Error::NoSuchToken`] when none does,
    /// [`Error::MultipleTokens`] when several do. A token away for a moment
    /// (`CKR_TOKEN_NOT_PRESENT` while it was read) is looked for once more; the tokens
    /// an error lists are those present in the same look that found none.
    ///
    /// # Errors
    /// [`Error::NoSuchToken`] (listing the tokens present) when none matches,
    /// [`Error::MultipleTokens`] when several do; the module's error reading them.
    pub fn get_token(&self, filter: &TokenFilter) -> Result<Token> {
        let mut survey = self.survey(filter)?;
        if survey.matching.is_empty() && survey.away > 0 {
            survey = self.survey(filter)?;
        }
        let Survey {
            mut matching,
            present,
            ..
        } = survey;
        match matching.len() {
            0 => Err(Error::NoSuchToken {
                filter: filter.to_string(),
                available: present,
            }),
            1 => Ok(matching.remove(0)),
            count => Err(Error::MultipleTokens {
                count,
                filter: filter.to_string(),
            }),
        }
    }

    /// One look at every slot with a token: those matching `filter`, the labels of all
    /// that answered, and how many were away meanwhile.
    fn survey(&self, filter: &TokenFilter) -> Result<Survey> {
        let mut survey = Survey::default();
        for slot in self.get_slots(true)? {
            // A token removed since the slot list was read is simply not there.
            let info = match token_info(&slot) {
                Ok(info) => info,
                Err(e) if is_token_gone(&e) => {
                    survey.away += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            survey.present.push(info.label.clone());
            if filter.matches(&slot, &info)? {
                survey.matching.push(Token {
                    slot,
                    label: info.label,
                    serial: info.serial_number,
                });
            }
        }
        Ok(survey)
    }
}

#[derive(Default)]
struct Survey {
    matching: Vec<Token>,
    present: Vec<String>,
    away: usize,
}

fn is_token_gone(e: &Error) -> bool {
    matches!(
        e.return_value(),
        Some(ReturnValue::TokenNotPresent | ReturnValue::TokenNotRecognized)
    )
}
