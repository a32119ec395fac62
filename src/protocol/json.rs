//! Strict JSON reading for options and config: exactly one JSON value (nothing after
//! it), and a wrong key or type reported with the key's name (`client_id: invalid type,
//! expected a string`) — never with the value, which may be a secret.

use serde::Deserialize;

use crate::error::Error;

/// serde's message without any value it quotes: "invalid type: integer `42`, expected a
/// string" becomes "invalid type, expected a string". Syntax errors carry no value.
fn without_value(msg: &str) -> String {
    let msg = msg.split(" at line ").next().unwrap_or(msg);
    for kind in ["invalid type", "invalid value", "invalid length", "unknown variant"] {
        if let Some(rest) = msg.strip_prefix(kind) {
            return match rest.rfind(", expected ") {
                Some(i) => format!("{kind}{}", &rest[i..]),
                None => kind.to_owned(),
            };
        }
    }
    msg.to_owned()
}

/// Every JSON input of the library is an object: serde would also read a struct from an
/// array (fields in order), which hides a caller's mistake.
pub fn is_object_text(json: &str) -> bool {
    json.trim_start().starts_with('{')
}

pub fn from_str<'de, T: Deserialize<'de>>(what: &str, json: &'de str) -> Result<T, Error> {
    if !is_object_text(json) {
        return Err(Error::invalid(format!("{what} must be a JSON object")));
    }
    let de = &mut serde_json::Deserializer::from_str(json);
    let fail = |path: String, msg: String| {
        if path.is_empty() || path == "." {
            Error::invalid(format!("{what}: {msg}"))
        } else {
            Error::invalid(format!("{what} `{path}`: {msg}"))
        }
    };
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        fail(path, without_value(&e.into_inner().to_string()))
    })?;
    // One value and nothing after it: `{"client_id":"x"} trailing` is refused.
    de.end().map_err(|_| fail(String::new(), "unexpected text after the JSON value".into()))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        a: String,
    }

    #[test]
    fn names_the_key() {
        let e = super::from_str::<T>("config", r#"{"a":42}"#).unwrap_err();
        assert_eq!(e.message(), "config `a`: invalid type, expected a string");
        let e = super::from_str::<T>("config", r#"{"a":123456789}"#).unwrap_err();
        assert!(!e.message().contains("123456789"), "{}", e.message());
        let e = super::from_str::<T>("config", r#"{"a":["hunter2"]}"#).unwrap_err();
        assert!(!e.message().contains("hunter2"), "{}", e.message());
        let e = super::from_str::<T>("config", r#"{"a":"x","b":1}"#).unwrap_err();
        assert!(e.message().contains("unknown field `b`"), "{}", e.message());
        let e = super::from_str::<T>("config", "{").unwrap_err();
        assert!(e.message().starts_with("config"), "{}", e.message());
    }

    #[test]
    fn only_objects() {
        let e = super::from_str::<T>("options", r#"["x"]"#).unwrap_err();
        assert_eq!(e.message(), "options must be a JSON object");
        assert!(super::from_str::<T>("options", " \n {\"a\":\"x\"}").is_ok());
    }

    #[test]
    fn nothing_after_the_value() {
        assert!(super::from_str::<T>("config", r#"{"a":"x"}"#).is_ok());
        assert!(super::from_str::<T>("config", "{\"a\":\"x\"}  \n").is_ok(), "whitespace is fine");
        for bad in [r#"{"a":"x"} trailing"#, r#"{"a":"x"}{}"#, r#"{"a":"x"},"#] {
            let e = super::from_str::<T>("config", bad).unwrap_err();
            assert!(e.message().contains("after the JSON value"), "{bad}: {}", e.message());
        }
    }
}
