//! Object search: `C_FindObjects*` as an iterator that fetches handles in batches.

use crate::call;
use crate::error::{Error, Result};
use crate::object::Object;
use crate::session::{OperationGuard, OperationKind, Session};
use crate::template::{RawTemplate, Template};
use p11_sys::*;
use std::fmt;

/// Handles fetched per `C_FindObjects` call.
const BATCH: usize = 64;

/// The objects matching a template, fetched from the token in batches of 64. Holds the
/// session's search (PKCS#11 allows one at a time per session) until dropped; dropping it
/// early ends the search.
pub struct FindObjects<'s> {
    session: &'s Session,
    batch: [CK_OBJECT_HANDLE; BATCH],
    next: usize,
    len: usize,
    finished: bool,
    _search: OperationGuard<'s>,
}

impl Session {
    /// The objects matching `template` (all the session can see, for an empty one).
    ///
    /// The search holds the session's operation until dropped: another thread's waits,
    /// and this thread gets [`Error::OperationInProgress`] if it starts one meanwhile.
    pub fn find_objects(&self, template: &Template) -> Result<FindObjects<'_>> {
        let search = self.hold_operation(OperationKind::Find)?;
        let mut raw = RawTemplate::new(template)?;
        let module = self.module_inner();
        // SAFETY: the template is valid for reading during the call.
        unsafe {
            call!(
                module,
                C_FindObjectsInit(self.handle(), raw.as_mut_ptr(), raw.count())
            )
        }?;
        Ok(FindObjects {
            session: self,
            batch: [CK_INVALID_HANDLE; BATCH],
            next: 0,
            len: 0,
            finished: false,
            _search: search,
        })
    }

    /// Every object matching `template`.
    pub fn get_objects(&self, template: &Template) -> Result<Vec<Object>> {
        self.find_objects(template)?.collect()
    }

    /// The one key matching `template` (typically some of class, key type, label and
    /// id): [`Error::NoSuchKey`] when none does, [`Error::MultipleObjects`] when several do.
    pub fn get_key(&self, template: &Template) -> Result<Object> {
        let mut found = self.find_objects(template)?;
        let first = found.next().transpose()?;
        let second = found.next().transpose()?;
        match (first, second) {
            (None, _) => Err(Error::NoSuchKey(format!("{template:?}"))),
            (Some(key), None) => Ok(key),
            (Some(_), Some(_)) => Err(Error::MultipleObjects(format!("{template:?}"))),
        }
    }
}

impl FindObjects<'_> {
    fn fetch(&mut self) -> Result<()> {
        let mut count: CK_ULONG = 0;
        let module = self.session.module_inner();
        // SAFETY: `batch` has room for BATCH handles; `count` is writable.
        unsafe {
            call!(
                module,
                C_FindObjects(
                    self.session.handle(),
                    self.batch.as_mut_ptr(),
                    BATCH as CK_ULONG,
                    &mut count
                )
            )
        }?;
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if count > BATCH {
            return Err(Error::invalid_response(
                "C_FindObjects",
                format!("{count} handles in room for {BATCH}"),
            ));
        }
        self.next = 0;
        self.len = count;
        self.finished = count == 0;
        Ok(())
    }
}

impl Iterator for FindObjects<'_> {
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
        Some(Ok(self.session.object(handle)))
    }
}

impl Drop for FindObjects<'_> {
    fn drop(&mut self) {
        let module = self.session.module_inner();
        // SAFETY: ends the search this value began.
        let _ = unsafe { call!(module, C_FindObjectsFinal(self.session.handle())) };
    }
}

impl fmt::Debug for FindObjects<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FindObjects")
            .field("session", &self.session.handle())
            .field("buffered", &(self.len - self.next))
            .field("finished", &self.finished)
            .finish()
    }
}
