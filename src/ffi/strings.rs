//! Strings across the boundary: NUL-terminated UTF-8 in; library-allocated out, freed
//! by the caller with `wxa_string_free` and by nothing else.

use std::ffi::{CStr, CString, c_char};

use crate::error::Error;

/// Borrows a C string argument. NULL or invalid UTF-8 is `WXA_ERR_INVALID_ARGUMENT`.
pub fn arg<'a>(p: *const c_char, name: &str) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(Error::invalid(format!("`{name}` is NULL")));
    }
    // SAFETY: non-NULL; the caller guarantees a NUL-terminated string that outlives the call.
    unsafe { CStr::from_ptr(p) }.to_str().map_err(|_| Error::invalid(format!("`{name}` is not valid UTF-8")))
}

/// Like `arg`, but NULL means "not given".
pub fn opt_arg<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>, Error> {
    if p.is_null() { Ok(None) } else { arg(p, name).map(Some) }
}

/// Hands a string to C; the caller frees it with `wxa_string_free`.
pub fn to_c(s: impl Into<Vec<u8>>) -> Result<*mut c_char, Error> {
    CString::new(s).map(CString::into_raw).map_err(|_| Error::internal("a returned string contained a NUL byte"))
}

/// Frees a string returned by this library, wiping it first (results and tokens are
/// secrets). NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn wxa_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    super::boundary::run_or((), || {
        // SAFETY: `s` came from `to_c` (CString::into_raw) and is freed once, per the contract.
        let owned = unsafe { CString::from_raw(s) };
        zeroize::Zeroize::zeroize(&mut owned.into_bytes_with_nul());
    });
}
