//! The sealed record: one byte format for the file store and the Redis store, so a
//! record can move from one to the other unchanged (`Store::export` / `Store::import`).
//!
//! Byte layout (version 1; integers big-endian):
//!
//! ```text
//! offset  size  field
//!      0     4  magic "WXAS"
//!      4     1  format version = 1
//!      5     1  kind: 1 = token record, 2 = pending login
//!      6     8  generation (u64; 0 for a pending login)
//!     14     8  client id tag: SHA-256("webex-auth client id\0" || client_id)[..8]
//!     22     8  key id:        SHA-256("webex-auth key id\0" || key)[..8]
//!     30    24  nonce (XChaCha20-Poly1305, fresh from the OS RNG for every write)
//!     54     n  ciphertext of: 1 byte presence (1 = token, 0 = logged out) || token bytes
//!   54+n    16  Poly1305 tag
//! ```
//!
//! Associated data = bytes 0..30 (the whole header) || u32 len || client_id || u32 len ||
//! context, where context is empty for a token and the pending-login id for a pending
//! login. So the header (version, kind, generation) cannot be altered, a record cannot
//! be fed to another client id, and a pending blob can never be read as a token, nor
//! moved to another pending id. Overhead: 71 bytes per record.
//!
//! The two tags in the clear exist only to say precisely what is wrong before the AEAD
//! check: "written for another client id" and "sealed with another key". Both are
//! truncated hashes: the client id is not a secret, and 8 bytes of a hash of a random
//! 256-bit key reveal nothing usable about it. A record that passes both tags and still
//! fails authentication was modified. What the format cannot stop: someone with write
//! access to the store putting back an older, genuine record of the same client id.

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::Error;

pub const MAGIC: &[u8; 4] = b"WXAS";
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 30;
pub const NONCE_LEN: usize = 24;
pub const TAG_LEN: usize = 16;
/// Bytes a record adds to the token it holds: header, nonce, presence byte, tag.
pub const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + 1 + TAG_LEN;
/// The largest record the store accepts (1 MiB): tokens are a few KiB.
pub const MAX_RECORD: usize = 1 << 20;

/// What a record holds: the two kinds never open as each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Token = 1,
    Pending = 2,
}

/// The 32-byte store key; wiped on drop, never shown.
#[derive(Clone)]
pub struct Key(Zeroizing<[u8; 32]>);

impl Key {
    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        Key(Zeroizing::new(bytes))
    }

    fn id(&self) -> [u8; 8] {
        tag8(b"webex-auth key id\0", &self.0[..])
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(***)")
    }
}

fn tag8(domain: &[u8], data: &[u8]) -> [u8; 8] {
    let mut h = Sha256::new();
    h.update(domain);
    h.update(data);
    let d = h.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

fn client_tag(client_id: &str) -> [u8; 8] {
    tag8(b"webex-auth client id\0", client_id.as_bytes())
}

fn associated_data(header: &[u8], client_id: &str, context: &str) -> Vec<u8> {
    let mut ad = Vec::with_capacity(header.len() + 8 + client_id.len() + context.len());
    ad.extend_from_slice(header);
    ad.extend_from_slice(&(client_id.len() as u32).to_be_bytes());
    ad.extend_from_slice(client_id.as_bytes());
    ad.extend_from_slice(&(context.len() as u32).to_be_bytes());
    ad.extend_from_slice(context.as_bytes());
    ad
}

/// What a record opened to.
pub struct Opened {
    pub generation: u64,
    /// None: the record is a logout tombstone.
    pub payload: Option<Zeroizing<Vec<u8>>>,
}

/// Seals `payload` (None = tombstone) into a new record with a fresh nonce.
pub fn seal(
    key: &Key,
    kind: Kind,
    generation: u64,
    client_id: &str,
    context: &str,
    payload: Option<&[u8]>,
) -> Result<Vec<u8>, Error> {
    let body_len = 1 + payload.map_or(0, <[u8]>::len);
    if HEADER_LEN + NONCE_LEN + body_len + TAG_LEN > MAX_RECORD {
        return Err(Error::invalid(format!("the value to store is larger than {MAX_RECORD} bytes")));
    }
    let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + body_len + TAG_LEN);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(kind as u8);
    out.extend_from_slice(&generation.to_be_bytes());
    out.extend_from_slice(&client_tag(client_id));
    out.extend_from_slice(&key.id());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    out.extend_from_slice(&nonce);
    out.push(u8::from(payload.is_some()));
    out.extend_from_slice(payload.unwrap_or_default());
    let ad = associated_data(&out[..HEADER_LEN], client_id, context);
    let cipher = XChaCha20Poly1305::new(&chacha20poly1305::Key::from(*key.0));
    let tag = cipher
        .encrypt_inout_detached(&XNonce::from(nonce), &ad, (&mut out[HEADER_LEN + NONCE_LEN..]).into())
        .map_err(|_| Error::internal("the store could not encrypt the value"))?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Opens a record. `what` names where it came from ("the store file /x", "Redis key k")
/// and goes into error messages; nothing of the record's content ever does.
pub fn open(key: &Key, kind: Kind, client_id: &str, context: &str, record: &[u8], what: &str) -> Result<Opened, Error> {
    let generation = check_header(kind, client_id, record, what)?;
    if record[22..30] != key.id() {
        return Err(Error::invalid(format!(
            "{what} was sealed with another key (token_store.key does not match the one it was written with)"
        )));
    }
    let (head, rest) = record.split_at(HEADER_LEN);
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let (body, tag) = sealed.split_at(sealed.len() - TAG_LEN);
    let ad = associated_data(head, client_id, context);
    let mut plain = Zeroizing::new(body.to_vec());
    let cipher = XChaCha20Poly1305::new(&chacha20poly1305::Key::from(*key.0));
    let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at NONCE_LEN");
    let tag: [u8; TAG_LEN] = tag.try_into().expect("split at TAG_LEN");
    cipher
        .decrypt_inout_detached(&XNonce::from(nonce), &ad, plain.as_mut_slice().into(), &tag.into())
        .map_err(|_| Error::invalid(format!("{what} cannot be decrypted with this key or was modified")))?;
    let payload = match plain.first() {
        Some(1) => Some(Zeroizing::new(plain[1..].to_vec())),
        Some(0) if plain.len() == 1 => None,
        _ => return Err(Error::invalid(format!("{what} holds an authenticated but malformed value"))),
    };
    Ok(Opened { generation, payload })
}

/// Checks everything in the clear (length, magic, version, kind, client id) and returns
/// the generation, which is trustworthy only after `open` authenticated it.
pub fn check_header(kind: Kind, client_id: &str, record: &[u8], what: &str) -> Result<u64, Error> {
    if record.len() < OVERHEAD {
        return Err(Error::invalid(format!(
            "{what} is truncated ({} bytes, a record has at least {OVERHEAD})",
            record.len()
        )));
    }
    if &record[..4] != MAGIC {
        return Err(Error::invalid(format!("{what} is not a webex-auth store record")));
    }
    if record[4] != VERSION {
        return Err(Error::invalid(format!(
            "{what} has unknown format version {} (this library reads version {VERSION})",
            record[4]
        )));
    }
    if record[5] != kind as u8 {
        let found = match record[5] {
            1 => "a token record",
            2 => "a pending login",
            _ => "an unknown kind of record",
        };
        return Err(Error::invalid(format!("{what} holds {found}, not {}", kind.noun())));
    }
    if record[14..22] != client_tag(client_id) {
        return Err(Error::invalid(format!("{what} was written for another client id")));
    }
    Ok(u64::from_be_bytes(record[6..14].try_into().expect("8 bytes")))
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Token => "a token record",
            Kind::Pending => "a pending login",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> Key {
        Key::from_bytes([b; 32])
    }

    #[test]
    fn round_trip_and_layout() {
        let rec = seal(&key(1), Kind::Token, 7, "cid", "", Some(b"tok")).unwrap();
        assert_eq!(rec.len(), OVERHEAD + 3);
        assert_eq!(&rec[..4], MAGIC);
        assert_eq!(rec[4], VERSION);
        assert_eq!(u64::from_be_bytes(rec[6..14].try_into().unwrap()), 7);
        let o = open(&key(1), Kind::Token, "cid", "", &rec, "r").unwrap();
        assert_eq!(o.generation, 7);
        assert_eq!(o.payload.as_deref().map(Vec::as_slice), Some(&b"tok"[..]));
        let t = seal(&key(1), Kind::Token, 8, "cid", "", None).unwrap();
        assert!(open(&key(1), Kind::Token, "cid", "", &t, "r").unwrap().payload.is_none());
    }

    #[test]
    fn nonces_differ_between_writes() {
        let a = seal(&key(1), Kind::Token, 1, "cid", "", Some(b"x")).unwrap();
        let b = seal(&key(1), Kind::Token, 1, "cid", "", Some(b"x")).unwrap();
        assert_ne!(a[30..54], b[30..54]);
    }

    #[test]
    fn domains_are_separate() {
        let p = seal(&key(1), Kind::Pending, 0, "cid", "abc", Some(b"x")).unwrap();
        let e = open(&key(1), Kind::Token, "cid", "", &p, "r").err().unwrap();
        assert!(e.message().contains("pending login"), "{e}");
        let e = open(&key(1), Kind::Pending, "cid", "abd", &p, "r").err().unwrap();
        assert!(e.message().contains("modified"), "{e}");
        let e = open(&key(2), Kind::Pending, "cid", "abc", &p, "r").err().unwrap();
        assert!(e.message().contains("another key"), "{e}");
    }

    #[test]
    fn key_debug_is_hidden() {
        assert_eq!(format!("{:?}", key(7)), "Key(***)");
    }
}
