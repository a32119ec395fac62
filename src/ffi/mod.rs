//! The C ABI: handles, strings, status codes, callbacks and the panic barrier. The only
//! module with `extern "C"` and raw pointers; every function body runs inside
//! `boundary::run`, so no panic and no unwinding crosses into C.
#![allow(non_camel_case_types)]

mod boundary;
mod client;
mod device;
mod handle;
mod jwt;
mod ops;
mod status;
mod strings;

pub use client::*;
pub use device::*;
pub use handle::*;
pub use jwt::*;
pub use ops::*;
pub use status::*;
pub use strings::wxa_string_free;
