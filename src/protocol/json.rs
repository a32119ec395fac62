//! Strict JSON reading for options and config: a wrong key or type is reported with
//! the key's name (`client_id: invalid type ...`), not a line and column.

use serde::de::DeserializeOwned;

use crate::error::Error;

pub fn from_str<T: DeserializeOwned>(what: &str, json: &str) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // serde_json appends " at line L column C"; the key name says more.
        let msg = inner.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
        if path.is_empty() || path == "." {
            Error::invalid(format!("{what}: {msg}"))
        } else {
            Error::invalid(format!("{what} `{path}`: {msg}"))
        }
    })
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
        assert_eq!(e.message(), "config `a`: invalid type: integer `42`, expected a string");
        let e = super::from_str::<T>("config", r#"{"a":"x","b":1}"#).unwrap_err();
        assert!(e.message().contains("unknown field `b`"), "{}", e.message());
        let e = super::from_str::<T>("config", "{").unwrap_err();
        assert!(e.message().starts_with("config"), "{}", e.message());
    }
}
