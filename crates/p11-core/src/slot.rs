//! Slots: where tokens sit, and what mechanisms they offer.

use crate::error::{Error, Result};
use crate::handle::SlotId;
use crate::info::{padded_text, widen, MechanismFlags, SlotFlags, Version};
use crate::lists::fetch_list;
use crate::module::{lock_sessions, Module, ModuleInner};
use crate::pin::Pin;
use crate::token::Token;
use crate::Function;
use crate::{call, MechanismType};
use p11_sys::*;
use std::fmt;
use std::sync::Arc;

/// More slots than any real module has: a count above it is a module error.
const MAX_SLOTS: usize = 1 << 16;
/// More mechanisms than PKCS#11 defines, with room for a vendor's.
const MAX_MECHANISMS: usize = 1 << 16;

/// A slot of a module: a reader, a device, or a software token's place.
#[derive(Clone)]
pub struct Slot {
    module: Module,
    id: SlotId,
}

/// What a slot says of itself (`C_GetSlotInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotInfo {
    /// What the slot is.
    pub slot_description: String,
    /// Who made it.
    pub manufacturer_id: String,
    /// Whether a token is present, whether it is removable, hardware or software.
    pub flags: SlotFlags,
    /// Hardware version.
    pub hardware_version: Version,
    /// Firmware version.
    pub firmware_version: Version,
}

/// What a mechanism can do on a token, and with which key sizes (`C_GetMechanismInfo`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MechanismInfo {
    /// Smallest key size, in bits or bytes depending on the mechanism (PKCS#11 says which).
    pub min_key_size: u64,
    /// Largest key size, in the same unit.
    pub max_key_size: u64,
    /// The operations it serves.
    pub flags: MechanismFlags,
}

impl Module {
    /// The module's slots; with `token_present`, only those holding a token.
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn get_slots(&self, token_present: bool) -> Result<Vec<Slot>> {
        let gate = self.inner().enter()?;
        let ids = fetch_list(
            Function::GetSlotList,
            MAX_SLOTS,
            |buffer: *mut CK_SLOT_ID, count| {
                // SAFETY: `buffer` is NULL (a count query) or has room for `*count` ids;
                // `count` is writable.
                unsafe {
                    call!(
                        gate,
                        C_GetSlotList(CK_BBOOL::from(token_present), buffer, count)
                    )
                }
            },
        )?;
        Ok(ids
            .into_iter()
            .map(|id| self.slot(SlotId::from_ulong(id)))
            .collect())
    }

    /// The slot with this id (checked by the module when used).
    pub fn slot(&self, id: SlotId) -> Slot {
        Slot {
            module: self.clone(),
            id,
        }
    }

    /// Waits for a token to be inserted or removed and returns its slot. Without
    /// `blocking`, returns [`Error::NoEvent`] at once when nothing happened. Many software
    /// modules do not implement this (then the error says `CKR_FUNCTION_NOT_SUPPORTED`).
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn wait_for_slot_event(&self, blocking: bool) -> Result<Slot> {
        let gate = self.inner().enter()?;
        let flags = if blocking { 0 } else { CKF_DONT_BLOCK };
        let mut id: CK_SLOT_ID = 0;
        // SAFETY: `id` is writable; the reserved pointer must be NULL.
        match unsafe {
            call!(
                gate,
                C_WaitForSlotEvent(flags, &mut id, std::ptr::null_mut())
            )
        } {
            Ok(()) => Ok(self.slot(SlotId::from_ulong(id))),
            Err(e) if e.return_value() == Some(crate::ReturnValue::NoEvent) => Err(Error::NoEvent),
            Err(e) => Err(e),
        }
    }
}

impl Slot {
    /// The slot's id (opaque, chosen by the module).
    pub fn id(&self) -> SlotId {
        self.id
    }

    /// The module this slot belongs to.
    pub fn module(&self) -> &Module {
        &self.module
    }

    pub(crate) fn module_inner(&self) -> &ModuleInner {
        self.module.inner()
    }

    /// What the slot says of itself.
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn info(&self) -> Result<SlotInfo> {
        let gate = self.module_inner().enter()?;
        let mut info = CK_SLOT_INFO::default();
        // SAFETY: `info` is a writable CK_SLOT_INFO.
        unsafe { call!(gate, C_GetSlotInfo(self.id.ulong(), &mut info)) }?;
        Ok(SlotInfo {
            slot_description: padded_text(&info.slotDescription),
            manufacturer_id: padded_text(&info.manufacturerID),
            flags: SlotFlags::from_bits_retain(widen(info.flags)),
            hardware_version: info.hardwareVersion.into(),
            firmware_version: info.firmwareVersion.into(),
        })
    }

    /// The token in this slot (`CKR_TOKEN_NOT_PRESENT` when there is none).
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn token(&self) -> Result<Token> {
        Token::in_slot(self.clone())
    }

    /// The mechanisms the slot's token supports, vendor values included.
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn mechanisms(&self) -> Result<Vec<MechanismType>> {
        let gate = self.module_inner().enter()?;
        let raw = fetch_list(
            Function::GetMechanismList,
            MAX_MECHANISMS,
            |buffer: *mut CK_MECHANISM_TYPE, count| {
                // SAFETY: `buffer` is NULL (a count query) or has room for `*count` items.
                unsafe { call!(gate, C_GetMechanismList(self.id.ulong(), buffer, count)) }
            },
        )?;
        Ok(raw.into_iter().map(MechanismType::from_ck).collect())
    }

    /// The token's mechanisms, sorted, as read once for the slot and shared by every
    /// session on it (the list [`has_mechanism`](Self::has_mechanism) searches).
    ///
    /// # Errors
    /// As [`mechanisms`](Self::mechanisms), on the first call for the slot.
    pub fn cached_mechanisms(&self) -> Result<Arc<[MechanismType]>> {
        let inner = self.module_inner();
        if let Some(list) = lock_sessions(inner)
            .slots
            .get(&self.id)
            .and_then(|slot| slot.mechanisms.clone())
        {
            return Ok(list);
        }
        // Read without the book locked: the module call may be slow, and two threads
        // reading at once store equal lists.
        let mut list = self.mechanisms()?;
        list.sort_unstable();
        list.dedup();
        let list: Arc<[MechanismType]> = list.into();
        lock_sessions(inner)
            .slots
            .entry(self.id)
            .or_default()
            .mechanisms = Some(list.clone());
        Ok(list)
    }

    /// Whether the slot's token offers `mechanism`, from the slot's cached list.
    ///
    /// # Errors
    /// As [`cached_mechanisms`](Self::cached_mechanisms).
    pub fn has_mechanism(&self, mechanism: MechanismType) -> Result<bool> {
        Ok(self.cached_mechanisms()?.binary_search(&mechanism).is_ok())
    }

    /// What `mechanism` can do on this slot's token, and its key sizes.
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn mechanism_info(&self, mechanism: MechanismType) -> Result<MechanismInfo> {
        let gate = self.module_inner().enter()?;
        let mut info = CK_MECHANISM_INFO::default();
        // SAFETY: `info` is a writable CK_MECHANISM_INFO.
        unsafe {
            call!(
                gate,
                C_GetMechanismInfo(self.id.ulong(), mechanism.ck(), &mut info)
            )
        }?;
        Ok(MechanismInfo {
            min_key_size: widen(info.ulMinKeySize),
            max_key_size: widen(info.ulMaxKeySize),
            flags: MechanismFlags::from_bits_retain(widen(info.flags)),
        })
    }

    /// Initialises (or re-initialises, erasing it) the token in this slot: `C_InitToken`
    /// with the SO PIN and a label of at most 32 bytes. No session may be open on it.
    ///
    /// # Errors
    /// The module's error from `C_InitToken`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn init_token(&self, so_pin: impl Into<Pin>, label: &str) -> Result<Token> {
        let so_pin = so_pin.into();
        let mut padded = [b' '; 32];
        if label.len() > padded.len() {
            return Err(Error::TooLarge {
                what: "a token label's length",
                value: u64::try_from(label.len()).unwrap_or(u64::MAX),
                max: 32,
            });
        }
        padded[..label.len()].copy_from_slice(label.as_bytes());
        let (pin, pin_len) = so_pin.as_raw()?;
        let gate = self.module_inner().enter()?;
        // SAFETY: the PIN buffer holds `pin_len` bytes and the label 32; the module only
        // reads them.
        unsafe {
            call!(
                gate,
                C_InitToken(self.id.ulong(), pin, pin_len, padded.as_mut_ptr())
            )
        }?;
        self.token()
    }

    /// Closes every session on this slot's token, those of other handles included
    /// (`C_CloseAllSessions`). Their `Session` values become inert.
    ///
    /// # Errors
    /// The module's error from `C_CloseAllSessions`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn close_all_sessions(&self) -> Result<()> {
        self.module_inner().exclusive(|gate, book| {
            // SAFETY: a plain call on a slot id.
            let result = unsafe { call!(gate, C_CloseAllSessions(self.id.ulong())) };
            // Whatever it answered, the handles are not to be trusted again.
            book.slots.entry(self.id).or_default().close_all();
            result
        })
    }
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("id", &self.id)
            .field("module", &self.module.path())
            .finish()
    }
}

impl PartialEq for Slot {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.module == other.module
    }
}

impl Eq for Slot {}
