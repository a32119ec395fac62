//! The numbers of the C API — statuses and event types — written once. Each `codes!` table
//! below generates the Rust enum, its `ALL`, number and name lookups, and the C constants
//! (`WXA_OK`, `WXA_EVENT_DONE`, ...); build.rs reads the same tables to write the header's
//! `#define`s. The bindings ask the library for the names (`wxa_status_name`,
//! `wxa_event_name`). Numbers are ABI: they never change once released; new ones are
//! appended.

/// `#[c(C_NAME)]` gives a variant its C constant; `#[c(C_NAME, "name")]` also gives it
/// another name (an event's payload `type`), which is then what `name()` returns.
macro_rules! codes {
    (
        $(#[doc = $doc:literal])*
        pub enum $Enum:ident in $consts:ident {
            $( $(#[doc = $vdoc:literal])* #[c($cname:ident $(, $alias:literal)?)] $Variant:ident = $num:literal, )*
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum $Enum {
            $( $(#[doc = $vdoc])* $Variant = $num, )*
        }

        impl $Enum {
            pub const ALL: &'static [$Enum] = &[$($Enum::$Variant),*];

            pub fn from_code(code: i32) -> Option<$Enum> {
                match code {
                    $( $num => Some($Enum::$Variant), )*
                    _ => None,
                }
            }

            pub fn code(self) -> i32 {
                self as i32
            }

            /// The C constant's spelling, e.g. `"WXA_ERR_OAUTH"`.
            pub fn c_name(self) -> &'static str {
                match self {
                    $( $Enum::$Variant => stringify!($cname), )*
                }
            }

            /// What the library calls it in JSON and in the bindings: the status's C name,
            /// an event's payload `type`.
            pub fn name(self) -> &'static str {
                match self {
                    $( $Enum::$Variant => codes!(@name $cname $(, $alias)?), )*
                }
            }

            /// `name()` as a NUL-terminated C string with static storage.
            pub fn name_cstr(self) -> &'static std::ffi::CStr {
                match self {
                    $( $Enum::$Variant => const {
                        match std::ffi::CStr::from_bytes_with_nul(
                            concat!(codes!(@name $cname $(, $alias)?), "\0").as_bytes()) {
                            Ok(c) => c,
                            Err(_) => panic!("a name with a NUL byte"),
                        }
                    }, )*
                }
            }
        }

        /// The C constants of this table, as `#define`d in the header.
        #[allow(non_upper_case_globals, dead_code)]
        pub mod $consts {
            $( $(#[doc = $vdoc])* pub const $cname: i32 = $num; )*
        }
    };
    (@name $cname:ident) => { stringify!($cname) };
    (@name $cname:ident, $alias:literal) => { $alias };
}

codes! {
    /// The outcome of a call or an operation (docs/C-API.md "Status codes").
    pub enum Status in status_consts {
        /// success
        #[c(WXA_OK)] Ok = 0,
        /// wxa_wait timed out; the operation still runs
        #[c(WXA_PENDING)] Pending = 1,
        /// NULL pointer, bad UTF-8, malformed or invalid JSON/config
        #[c(WXA_ERR_INVALID_ARGUMENT)] InvalidArgument = 2,
        /// redirect state missing, unknown, expired, replayed or forged
        #[c(WXA_ERR_STATE_MISMATCH)] StateMismatch = 3,
        /// the server answered with an OAuth error (`error` tells which)
        #[c(WXA_ERR_OAUTH)] OAuth = 4,
        /// unexpected HTTP status or unparseable body
        #[c(WXA_ERR_HTTP)] Http = 5,
        /// connection, TLS or I/O failure (also an unreachable token store)
        #[c(WXA_ERR_NETWORK)] Network = 6,
        /// request or operation timed out
        #[c(WXA_ERR_TIMEOUT)] Timeout = 7,
        /// 429 still answered after the retries allowed
        #[c(WXA_ERR_RATE_LIMITED)] RateLimited = 8,
        /// the device code expired before the user approved it
        #[c(WXA_ERR_EXPIRED)] Expired = 9,
        /// canceled by wxa_cancel, wxa_free, or superseded (logout, wxa_set_token)
        #[c(WXA_ERR_CANCELED)] Canceled = 10,
        /// no token, or no way to get one (no refresh token)
        #[c(WXA_ERR_NOT_AUTHORIZED)] NotAuthorized = 11,
        /// no such operation id on this client
        #[c(WXA_ERR_UNKNOWN_OPERATION)] UnknownOperation = 12,
        /// a bug: a caught panic or broken invariant
        #[c(WXA_ERR_INTERNAL)] Internal = 13,
        /// the id_token of a Login with Webex (OIDC) failed validation; no token was stored
        #[c(WXA_ERR_ID_TOKEN)] IdToken = 14,
    }
}

codes! {
    /// What an event reports (docs/C-API.md "Operations and events"); its name is the payload's
    /// `type`, as the Webex SDK names its events.
    pub enum EventType in event_consts {
        /// an operation ended (success or failure); payload: its result
        #[c(WXA_EVENT_DONE, "done")] Done = 1,
        /// the client's token changed (exchange, refresh, JWT, device, import)
        #[c(WXA_EVENT_TOKEN_REFRESH, "token:refresh")] TokenRefresh = 2,
        /// the token is invalid or expired and cannot be refreshed
        #[c(WXA_EVENT_UNAUTHORIZED, "unauthorized")] Unauthorized = 3,
        /// an authorization step failed (also reported in its done)
        #[c(WXA_EVENT_AUTH_ERROR, "auth:error")] AuthError = 4,
        /// device login: user code ready
        #[c(WXA_EVENT_USER_CODE, "getUserCodeSuccess")] UserCode = 5,
        /// device login: the device authorization request failed
        #[c(WXA_EVENT_USER_CODE_FAILURE, "getUserCodeFailure")] UserCodeFailure = 6,
        /// device login: a poll answered pending
        #[c(WXA_EVENT_AUTHORIZATION_PENDING, "authorizationPending")] AuthorizationPending = 7,
        /// device login: tokens granted
        #[c(WXA_EVENT_AUTHORIZATION_SUCCESS, "authorizationSuccess")] AuthorizationSuccess = 8,
        /// device login: terminal error or expiry
        #[c(WXA_EVENT_AUTHORIZATION_FAILURE, "authorizationFailure")] AuthorizationFailure = 9,
        /// device login canceled (wxa_cancel, wxa_free or expiry clean-up)
        #[c(WXA_EVENT_POLLING_CANCELED, "pollingCanceled")] PollingCanceled = 10,
        /// the token was revoked and cleared
        #[c(WXA_EVENT_LOGOUT, "logout")] Logout = 11,
        /// a guest token nears expiry and the engine cannot re-sign it: call wxa_login_with_jwt
        #[c(WXA_EVENT_JWT_REFRESH, "jwt:refresh")] JwtRefresh = 12,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_dense_and_names_agree() {
        for (i, s) in Status::ALL.iter().enumerate() {
            assert_eq!(s.code(), i as i32);
            assert_eq!(Status::from_code(s.code()), Some(*s));
            assert_eq!(s.name(), s.c_name());
            assert_eq!(s.name_cstr().to_str().unwrap(), s.name());
        }
        for (i, e) in EventType::ALL.iter().enumerate() {
            assert_eq!(e.code(), i as i32 + 1);
            assert!(e.c_name().starts_with("WXA_EVENT_"));
            assert_eq!(e.name_cstr().to_str().unwrap(), e.name());
        }
        assert_eq!(Status::OAuth.name(), "WXA_ERR_OAUTH");
        assert_eq!(EventType::TokenRefresh.name(), "token:refresh");
        assert_eq!(status_consts::WXA_ERR_INTERNAL, 13);
        assert_eq!(event_consts::WXA_EVENT_JWT_REFRESH, 12);
        assert_eq!(Status::from_code(15), None);
        assert_eq!(EventType::from_code(0), None);
    }
}
