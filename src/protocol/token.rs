//! Token responses and the supertoken: what the engine stores, emits and restores.
//! Expiry is absolute (Unix ms), computed from the time the response arrived.

use serde_json::{Map, Value};

use super::UnixMs;
use crate::error::{Error, Status};
use crate::secret::Secret;

/// A token set as the engine keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Supertoken {
    pub access_token: Secret,
    pub token_type: String,
    /// `None` when the server gave no lifetime: then the token counts as valid until the
    /// server says otherwise, and no proactive refresh is planned.
    pub expires_at: Option<UnixMs>,
    pub refresh_token: Option<Secret>,
    pub refresh_token_expires_at: Option<UnixMs>,
    pub scope: Option<String>,
    pub id_token: Option<Secret>,
    /// When this token was obtained: half its lifetime bounds the refresh window.
    pub obtained_at: UnixMs,
}

/// Minimum time between two proactive refreshes of one client, and the shortest token
/// lifetime that gets a proactive refresh at all (docs/PROTOCOL.md).
pub const PROACTIVE_FLOOR_MS: i64 = 30_000;

/// At most one refresh-token keep-alive per client in this long.
pub const KEEPALIVE_FLOOR_MS: i64 = 3_600_000;

/// Largest `expires_in` accepted (docs/PROTOCOL.md: below 2^31).
const MAX_EXPIRES_IN: i64 = (1 << 31) - 1;

fn malformed(what: impl Into<String>) -> Error {
    Error::new(Status::Http, format!("malformed token response: {}", what.into()))
}

/// A non-negative integer below 2^31, given as a number or a numeric string.
pub fn parse_seconds(v: &Value) -> Option<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))?,
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        _ => return None,
    };
    (0..=MAX_EXPIRES_IN).contains(&n).then_some(n)
}

fn opt_str(body: &Map<String, Value>, key: &str) -> Result<Option<String>, Error> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed(format!("`{key}` is not a string"))),
    }
}

fn opt_seconds(body: &Map<String, Value>, key: &str) -> Result<Option<i64>, Error> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => parse_seconds(v)
            .map(Some)
            .ok_or_else(|| malformed(format!("`{key}` is not a non-negative integer below 2^31"))),
    }
}

/// Reads an RFC 6749 §5.1 token response received at `now`.
pub fn parse_token_response(body: &Map<String, Value>, now: UnixMs) -> Result<Supertoken, Error> {
    let access_token = match opt_str(body, "access_token")? {
        Some(s) if !s.is_empty() => s,
        _ => return Err(malformed("no access_token")),
    };
    let expires_in = opt_seconds(body, "expires_in")?;
    let refresh_in = opt_seconds(body, "refresh_token_expires_in")?;
    Ok(Supertoken {
        access_token: Secret::new(access_token),
        token_type: opt_str(body, "token_type")?.unwrap_or_else(|| "Bearer".into()),
        expires_at: expires_in.map(|s| now + s * 1000),
        refresh_token: opt_str(body, "refresh_token")?.filter(|s| !s.is_empty()).map(Secret::new),
        refresh_token_expires_at: refresh_in.map(|s| now + s * 1000),
        scope: opt_str(body, "scope")?,
        id_token: opt_str(body, "id_token")?.map(Secret::new),
        obtained_at: now,
    })
}

/// Webex's guest login answer `{"token","expiresIn"}`.
pub fn parse_jwt_login_response(body: &Map<String, Value>, now: UnixMs) -> Result<Supertoken, Error> {
    let token = match opt_str(body, "token")? {
        Some(s) if !s.is_empty() => s,
        _ => return Err(malformed("no token")),
    };
    let expires_in = opt_seconds(body, "expiresIn")?;
    Ok(Supertoken {
        access_token: Secret::new(token),
        token_type: "Bearer".into(),
        expires_at: expires_in.map(|s| now + s * 1000),
        refresh_token: None,
        refresh_token_expires_at: None,
        scope: None,
        id_token: None,
        obtained_at: now,
    })
}

/// Reads the supertoken shape `wxa_set_token` takes; unknown keys are ignored so a
/// token saved by a newer version still restores.
pub fn parse_saved_token(json: &str, now: UnixMs) -> Result<Supertoken, Error> {
    let v: Value = super::json::from_str("token JSON", json)?;
    let Value::Object(mut m) = v else {
        return Err(Error::invalid("token JSON must be an object"));
    };
    let t = read_saved_token(&m, now);
    crate::secret::wipe_map(&mut m);
    t
}

/// `parse_saved_token` of an already parsed object.
pub fn read_saved_token(m: &Map<String, Value>, now: UnixMs) -> Result<Supertoken, Error> {
    let bad = |k: &str| Error::invalid(format!("token JSON: `{k}` has the wrong type or range"));
    let string = |k: &str| -> Result<Option<String>, Error> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(k)),
        }
    };
    let millis = |k: &str| -> Result<Option<i64>, Error> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().filter(|n| *n >= 0).map(Some).ok_or_else(|| bad(k)),
        }
    };
    let access_token = string("access_token")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::invalid("token JSON: `access_token` is required"))?;
    let expires_at = match millis("expires_at")? {
        Some(at) => Some(at),
        None => match m.get("expires_in") {
            None | Some(Value::Null) => None,
            Some(v) => Some(now + parse_seconds(v).ok_or_else(|| bad("expires_in"))? * 1000),
        },
    };
    Ok(Supertoken {
        access_token: Secret::new(access_token),
        token_type: string("token_type")?.unwrap_or_else(|| "Bearer".into()),
        expires_at,
        refresh_token: string("refresh_token")?.filter(|s| !s.is_empty()).map(Secret::new),
        refresh_token_expires_at: millis("refresh_token_expires_at")?,
        scope: string("scope")?,
        id_token: string("id_token")?.map(Secret::new),
        obtained_at: now,
    })
}

impl Supertoken {
    /// The payload fields of docs/PAYLOADS.md, `expires_in` counted from `now`.
    pub fn to_json_fields(&self, now: UnixMs) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("access_token".into(), self.access_token.expose().into());
        m.insert("token_type".into(), self.token_type.clone().into());
        if let Some(at) = self.expires_at {
            m.insert("expires_in".into(), ((at - now).max(0) / 1000).into());
            m.insert("expires_at".into(), at.into());
        }
        if let Some(r) = &self.refresh_token {
            m.insert("refresh_token".into(), r.expose().into());
        }
        if let Some(at) = self.refresh_token_expires_at {
            m.insert("refresh_token_expires_at".into(), at.into());
        }
        if let Some(s) = &self.scope {
            m.insert("scope".into(), s.clone().into());
        }
        if let Some(t) = &self.id_token {
            m.insert("id_token".into(), t.expose().into());
        }
        m
    }

    pub fn is_expired(&self, now: UnixMs) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    pub fn can_refresh(&self, now: UnixMs) -> bool {
        self.refresh_token.is_some() && self.refresh_token_expires_at.is_none_or(|at| at > now)
    }

    /// The refresh window: `refresh_before_expiry_ms`, but never more than half the
    /// token's lifetime, so a server issuing 60 s tokens causes no refresh loop.
    pub fn refresh_window_ms(&self, refresh_before_expiry_ms: i64) -> i64 {
        match self.expires_at {
            Some(at) => refresh_before_expiry_ms.min(((at - self.obtained_at).max(0)) / 2),
            None => 0,
        }
    }

    /// When a proactive refresh should happen, if ever: at the start of the refresh
    /// window, but never sooner than `PROACTIVE_FLOOR_MS` after the previous proactive
    /// refresh, and never for a token that lives less than the floor (a server handing
    /// out 0 or 1 s tokens must not cause a refresh storm).
    pub fn proactive_refresh_at(
        &self,
        refresh_before_expiry_ms: i64,
        last_proactive_at: Option<UnixMs>,
    ) -> Option<UnixMs> {
        let at = self.expires_at?;
        if refresh_before_expiry_ms <= 0 || at - self.obtained_at < PROACTIVE_FLOOR_MS {
            return None;
        }
        let due = at - self.refresh_window_ms(refresh_before_expiry_ms);
        Some(last_proactive_at.map_or(due, |last| due.max(last + PROACTIVE_FLOOR_MS)))
    }

    /// When to refresh so that the refresh token, which Webex extends on use, does not
    /// die for want of use: `keepalive_ms` before it expires, but at most once per
    /// `KEEPALIVE_FLOOR_MS` (a server that does not extend it causes no loop).
    pub fn keepalive_due_at(&self, keepalive_ms: i64, last_keepalive_at: Option<UnixMs>) -> Option<UnixMs> {
        self.refresh_token.as_ref()?;
        let rt_at = self.refresh_token_expires_at?;
        if keepalive_ms <= 0 {
            return None;
        }
        let due = rt_at - keepalive_ms;
        Some(last_keepalive_at.map_or(due, |last| due.max(last + KEEPALIVE_FLOOR_MS)))
    }

    /// Valid for at least `min_valid_ms` more, and not inside the refresh window.
    pub fn is_fresh(&self, now: UnixMs, min_valid_ms: i64, refresh_before_expiry_ms: i64) -> bool {
        match self.expires_at {
            None => true,
            Some(at) => {
                let margin = min_valid_ms.max(self.refresh_window_ms(refresh_before_expiry_ms.max(0)));
                at - now > margin
            }
        }
    }

    /// A refresh answer without `refresh_token` keeps the old one (docs/PROTOCOL.md).
    /// A refresh answer without `refresh_token` keeps the old one (Webex often sends
    /// none); a new `refresh_token_expires_in` still moves its expiry (Webex extends the
    /// refresh token on use).
    pub fn inherit_refresh_token(mut self, old: &Supertoken) -> Supertoken {
        if self.refresh_token.is_none() {
            self.refresh_token = old.refresh_token.clone();
            if self.refresh_token_expires_at.is_none() {
                self.refresh_token_expires_at = old.refresh_token_expires_at;
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn parses_a_full_response() {
        let t = parse_token_response(
            &obj(json!({"access_token":"a","token_type":"Bearer","expires_in":"3600","refresh_token":"r","refresh_token_expires_in":7200,"scope":"spark:all"})),
            1_000,
        )
        .unwrap();
        assert_eq!(t.expires_at, Some(3_601_000));
        assert_eq!(t.refresh_token_expires_at, Some(7_201_000));
        let f = t.to_json_fields(1_000);
        assert_eq!(f["expires_in"], 3600);
        assert_eq!(f["refresh_token"], "r");
        assert!(!format!("{t:?}").contains("\"a\""));
    }

    #[test]
    fn rejects_malformed_responses_as_http() {
        for bad in [
            json!({}),
            json!({"access_token":""}),
            json!({"access_token":5}),
            json!({"access_token":"a","expires_in":-1}),
            json!({"access_token":"a","expires_in":2147483648u64}),
            json!({"access_token":"a","expires_in":"soon"}),
            json!({"access_token":"a","expires_in":1.5}),
            json!({"access_token":"a","refresh_token":7}),
        ] {
            assert_eq!(parse_token_response(&obj(bad.clone()), 0).unwrap_err().status(), Status::Http, "{bad}");
        }
    }

    #[test]
    fn refresh_window_is_capped_at_half_the_lifetime() {
        let t = parse_token_response(&obj(json!({"access_token":"a","expires_in":60})), 0).unwrap();
        assert_eq!(t.refresh_window_ms(300_000), 30_000);
        assert_eq!(t.proactive_refresh_at(300_000, None), Some(30_000));
        assert_eq!(t.proactive_refresh_at(0, None), None);
        assert!(t.is_fresh(29_000, 0, 300_000));
        assert!(!t.is_fresh(31_000, 0, 300_000));
        assert!(!t.is_fresh(0, 61_000, 0));
        assert!(t.is_expired(60_000));
    }

    #[test]
    fn proactive_refresh_has_a_floor() {
        let tok = |expires_in: i64, now: i64| {
            parse_token_response(&obj(json!({"access_token":"a","refresh_token":"r","expires_in":expires_in})), now)
                .unwrap()
        };
        // 0 s and 1 s tokens, and anything under the floor: no proactive refresh at all.
        for e in [0, 1, 29] {
            assert_eq!(tok(e, 1_000).proactive_refresh_at(300_000, None), None, "{e}");
        }
        // At the floor: due at half its life.
        assert_eq!(tok(30, 0).proactive_refresh_at(300_000, None), Some(15_000));
        // Never sooner than 30 s after the previous proactive refresh of the client.
        assert_eq!(tok(40, 100_000).proactive_refresh_at(300_000, Some(100_000)), Some(130_000));
        assert_eq!(tok(3600, 100_000).proactive_refresh_at(300_000, Some(100_000)), Some(3_400_000));
    }

    #[test]
    fn keepalive_refreshes_before_the_refresh_token_dies() {
        let t = parse_token_response(
            &obj(
                json!({"access_token":"a","refresh_token":"r","expires_in":3600,"refresh_token_expires_in":90 * 86400}),
            ),
            0,
        )
        .unwrap();
        let week = 7 * 86_400_000;
        assert_eq!(t.keepalive_due_at(week, None), Some(83 * 86_400_000));
        assert_eq!(t.keepalive_due_at(0, None), None);
        // A server that does not extend it: no loop, at most hourly.
        assert_eq!(t.keepalive_due_at(week, Some(83 * 86_400_000)), Some(83 * 86_400_000 + KEEPALIVE_FLOOR_MS));
        let no_rt_expiry = parse_token_response(&obj(json!({"access_token":"a","refresh_token":"r"})), 0).unwrap();
        assert_eq!(no_rt_expiry.keepalive_due_at(week, None), None);
    }

    #[test]
    fn saved_token_forms() {
        let t = parse_saved_token(r#"{"access_token":"a","expires_in":10,"expires_at":99000,"x":1}"#, 0).unwrap();
        assert_eq!(t.expires_at, Some(99_000), "expires_at wins");
        let t = parse_saved_token(r#"{"access_token":"a","expires_in":10}"#, 5).unwrap();
        assert_eq!(t.expires_at, Some(10_005));
        assert!(parse_saved_token(r#"{"token_type":"Bearer"}"#, 0).is_err());
        assert!(parse_saved_token(r#"[1]"#, 0).is_err());
        assert!(parse_saved_token(r#"{"access_token":"a","expires_at":"x"}"#, 0).is_err());
    }

    #[test]
    fn refresh_keeps_the_old_refresh_token() {
        let old = parse_token_response(&obj(json!({"access_token":"a","refresh_token":"r"})), 0).unwrap();
        let new = parse_token_response(&obj(json!({"access_token":"b"})), 0).unwrap().inherit_refresh_token(&old);
        assert_eq!(new.refresh_token.unwrap().expose(), "r");
        // No new refresh token, but a new lifetime for it: the expiry moves.
        let old = parse_token_response(
            &obj(json!({"access_token":"a","refresh_token":"r","refresh_token_expires_in":10})),
            0,
        )
        .unwrap();
        let new = parse_token_response(&obj(json!({"access_token":"b","refresh_token_expires_in":7776000})), 5_000)
            .unwrap()
            .inherit_refresh_token(&old);
        assert_eq!(new.refresh_token.as_ref().unwrap().expose(), "r");
        assert_eq!(new.refresh_token_expires_at, Some(5_000 + 7_776_000_000));
    }
}
