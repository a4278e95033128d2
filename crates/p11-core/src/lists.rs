//! The two-call protocol for lists: ask for the count, allocate, fetch; once, for all.

use crate::error::{Error, Result};
use crate::Function;
use crate::ReturnValue;
use p11_sys::CK_ULONG;

/// Fetches a list the PKCS#11 way: `fetch(NULL, &mut count)` for its length, then
/// `fetch(buffer, &mut count)` into a buffer of that length. A list that grew in between
/// (`CKR_BUFFER_TOO_SMALL`) is asked for again; a count above `max`, or a second count
/// beyond the buffer, is the module's error rather than an allocation or a read of it.
pub(crate) fn fetch_list<T: Copy + Default>(
    function: Function,
    max: usize,
    mut fetch: impl FnMut(*mut T, &mut CK_ULONG) -> Result<()>,
) -> Result<Vec<T>> {
    const ATTEMPTS: usize = 8;
    for _ in 0..ATTEMPTS {
        let mut count: CK_ULONG = 0;
        fetch(std::ptr::null_mut(), &mut count)?;
        let len = usize::try_from(count)
            .ok()
            .filter(|len| *len <= max)
            .ok_or_else(|| {
                Error::invalid_response(function, format!("a count of {count}, above {max}"))
            })?;
        let mut items = vec![T::default(); len];
        if len == 0 {
            return Ok(items);
        }
        match fetch(items.as_mut_ptr(), &mut count) {
            Ok(()) => {
                let written = usize::try_from(count).unwrap_or(usize::MAX);
                if written > len {
                    return Err(Error::invalid_response(
                        function,
                        format!("{written} items written into room for {len}"),
                    ));
                }
                items.truncate(written);
                return Ok(items);
            }
            Err(e) if e.return_value() == Some(ReturnValue::BufferTooSmall) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::invalid_response(
        function,
        format!("the list kept growing over {ATTEMPTS} attempts"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::check;

    #[test]
    fn a_list_that_grows_between_calls_is_fetched_again() {
        let mut answers = vec![2, 3, 3].into_iter();
        let mut current = 0;
        let list = fetch_list::<u32>(Function::GetSlotList, 16, |buf, count| {
            if buf.is_null() {
                current = answers.next().unwrap();
                *count = current;
                return Ok(());
            }
            if *count < 3 {
                *count = 3;
                return check(p11_sys::CKR_BUFFER_TOO_SMALL, Function::GetSlotList);
            }
            // SAFETY: the buffer has room for `*count` items.
            let items = unsafe { std::slice::from_raw_parts_mut(buf, *count as usize) };
            items.copy_from_slice(&[7, 8, 9]);
            Ok(())
        })
        .unwrap();
        assert_eq!(list, [7, 8, 9]);
    }

    #[test]
    fn an_absurd_count_is_an_error_not_an_allocation() {
        let err = fetch_list::<u64>(Function::GetMechanismList, 1024, |_, count| {
            *count = CK_ULONG::MAX;
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidResponse {
                function: Function::GetMechanismList,
                ..
            }
        ));
    }

    #[test]
    fn a_module_claiming_more_than_the_buffer_is_an_error() {
        let err = fetch_list::<u64>(Function::GetSlotList, 1024, |buf, count| {
            *count = if buf.is_null() { 2 } else { 5 };
            Ok(())
        })
        .unwrap_err();
        assert!(err.to_string().contains("5 items written into room for 2"));
    }
}
