//! The C ABI: handles, strings, status codes, callbacks and the panic barrier. The only
//! module with `extern "C"` and raw pointers; every function body runs inside
//! `boundary::run` or `boundary::run_or`, so no panic and no unwinding crosses into C.
#![allow(non_camel_case_types)]
// The C ABI takes raw pointers by design; each dereference is checked for NULL and
// documented with its contract, as rustls-ffi does.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod boundary;
mod client;
mod device;
mod handle;
mod jwt;
mod ops;
mod status;
mod strings;
mod webex;

pub use client::*;
pub use device::*;
pub use handle::*;
pub use jwt::*;
pub use ops::*;
pub use status::*;
pub use strings::wxa_string_free;
pub use webex::*;
