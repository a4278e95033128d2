//! Object search: `C_FindObjects*` as an iterator that fetches handles in batches.

use crate::call;
use crate::error::{Error, Result};
use crate::handle::ObjectHandle;
use crate::object::Object;
use crate::session::{OperationGuard, OperationKind, Session};
use crate::template::{RawTemplate, Template};
use crate::Function;
use p11_sys::*;
use std::fmt;

/// Handles fetched per `C_FindObjects` call unless told otherwise.
const BATCH: usize = 64;
/// The most handles p11 asks for in one call, whatever it is told.
const MAX_BATCH: usize = 1 << 16;

/// The objects matching a template, fetched from the token in batches (of 64 unless
/// [`batch_size`](Self::batch_size) says otherwise). Holds the
/// session's search (PKCS#11 allows one at a time per session) until dropped; dropping it
/// early ends the search. Owns a clone of the session, so it can be stored or moved.
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct FindObjects {
    guard: OperationGuard<'static>,
    /// The handles of the last call; sized for the batch on the first.
    batch: Vec<CK_OBJECT_HANDLE>,
    /// Handles asked for per call.
    room: usize,
    next: usize,
    len: usize,
    finished: bool,
}

impl Session {
    /// The objects matching `template` (all the session can see, for an empty one).
    ///
    /// The search holds the session's operation until dropped: other threads' operations
    /// wait, and this thread gets [`Error::OperationInProgress`] if it starts one meanwhile.
    ///
    /// # Errors
    /// The module's error from `C_FindObjectsInit`; a template p11 cannot encode.
    pub fn find_objects(&self, template: &Template) -> Result<FindObjects> {
        let mut raw = RawTemplate::new(template, self.attribute_mapper())?;
        let guard = self.hold_operation(OperationKind::Find)?.into_owned();
        let gate = self.enter()?;
        // No session closes or logs out while the module gathers what it finds (see
        // `object_sweep`).
        let sweep = self
            .module_inner()
            .object_sweep
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // SAFETY: the template is valid for reading during the call.
        unsafe {
            call!(
                gate,
                C_FindObjectsInit(self.raw_handle(), raw.as_mut_ptr(), raw.count())
            )
        }?;
        drop((sweep, gate));
        Ok(FindObjects {
            guard,
            batch: Vec::new(),
            room: BATCH,
            next: 0,
            len: 0,
            finished: false,
        })
    }

    /// Every object matching `template`.
    ///
    /// # Errors
    /// As [`find_objects`](Self::find_objects), and the module's error from `C_FindObjects`.
    pub fn get_objects(&self, template: &Template) -> Result<Vec<Object>> {
        self.find_objects(template)?.collect()
    }

    /// The profiles the token says it implements (PKCS#11 3.0): the `CKA_PROFILE_ID` of
    /// each of its profile objects (`CKO_PROFILE`), in the order found. Empty for a
    /// token that names none (every 2.x token).
    ///
    /// # Errors
    /// As [`get_objects`](Self::get_objects), and the module's error reading the ids.
    pub fn profiles(&self) -> Result<Vec<crate::ProfileId>> {
        let template =
            Template::new().with(crate::AttributeType::CLASS, crate::ObjectClass::PROFILE);
        self.find_objects(&template)?
            .map(|object| {
                let id: u64 = object?.get(crate::AttributeType::PROFILE_ID)?;
                Ok(crate::ProfileId::new(id))
            })
            .collect()
    }

    /// The one key matching `template` (typically some of class, key type, label and
    /// id): [`Error::NoSuchKey`] when none does, [`Error::MultipleObjects`] when several do.
    ///
    /// # Errors
    /// As above, and as [`get_objects`](Self::get_objects).
    pub fn get_key(&self, template: &Template) -> Result<Object> {
        let mut found = self.find_objects(template)?;
        let first = found.next().transpose()?;
        let second = found.next().transpose()?;
        match (first, second) {
            (None, _) => Err(Error::NoSuchKey(template.clone())),
            (Some(key), None) => Ok(key),
            (Some(_), Some(_)) => Err(Error::MultipleObjects(template.clone())),
        }
    }
}

impl FindObjects {
    /// Fetches `size` handles per `C_FindObjects` call from now on (at most 65,536):
    /// fewer calls for a large search, less room for a small one.
    pub fn batch_size(mut self, size: std::num::NonZeroUsize) -> Self {
        self.room = size.get().min(MAX_BATCH);
        self
    }

    fn fetch(&mut self) -> Result<()> {
        if self.batch.len() != self.room {
            self.batch = vec![CK_INVALID_HANDLE; self.room];
        }
        let room = self.batch.len();
        self.guard.touch();
        let session = self.guard.session();
        let gate = session.enter()?;
        let mut count: CK_ULONG = 0;
        // SAFETY: `batch` has room for `room` handles; `count` is writable.
        unsafe {
            call!(
                gate,
                C_FindObjects(
                    session.raw_handle(),
                    self.batch.as_mut_ptr(),
                    room as CK_ULONG,
                    &mut count
                )
            )
        }?;
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if count > room {
            return Err(Error::invalid_response(
                Function::FindObjects,
                format!("{count} handles in room for {room}"),
            ));
        }
        self.next = 0;
        self.len = count;
        self.finished = count == 0;
        Ok(())
    }
}

impl Iterator for FindObjects {
    type Item = Result<Object>;

    fn next(&mut self) -> Option<Result<Object>> {
        if self.next == self.len {
            if self.finished {
                return None;
            }
            if let Err(e) = self.fetch() {
                self.finished = true;
                return Some(Err(e));
            }
            if self.finished {
                return None;
            }
        }
        let handle = self.batch[self.next];
        self.next += 1;
        Some(Ok(self
            .guard
            .session()
            .object(ObjectHandle::from_ulong(handle))))
    }
}

impl Drop for FindObjects {
    fn drop(&mut self) {
        let session = self.guard.session();
        if let Ok(gate) = session.enter() {
            // SAFETY: ends the search this value began.
            let _ = unsafe { call!(gate, C_FindObjectsFinal(session.raw_handle())) };
        }
    }
}

impl fmt::Debug for FindObjects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FindObjects")
            .field("session", &self.guard.session().handle())
            .field("buffered", &(self.len - self.next))
            .field("finished", &self.finished)
            .finish()
    }
}
