//! Random identifiers in the shapes Webex uses.

use rand::Rng;
use rand::distributions::Alphanumeric;

pub fn alnum(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// A random UUID v4 in its usual text form (guest person ids).
pub fn uuid_like() -> String {
    let b: [u8; 16] = rand::random();
    let hex: String = b
        .iter()
        .enumerate()
        .map(|(i, x)| match i {
            6 => format!("{:02x}", (x & 0x0f) | 0x40),
            8 => format!("{:02x}", (x & 0x3f) | 0x80),
            _ => format!("{x:02x}"),
        })
        .collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// `EMU_` + 32 upper-case hex digits; Webex's look like `ROUTER_...`.
pub fn tracking_id() -> String {
    let bits: u128 = rand::thread_rng().r#gen();
    format!("EMU_{bits:032X}")
}

/// Webex codes carry the org id as their third `_` segment.
pub fn authorization_code(org_id: &str) -> String {
    format!("{}_{}_{}", alnum(24), alnum(4), org_id)
}

/// Webex access tokens look like `<64 chars>_PF84_<org id>`.
pub fn token(org_id: &str) -> String {
    format!("{}_PF84_{}", alnum(64), org_id)
}

/// No vowels (no accidental words) and no 0/O/1/I look-alikes.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// `XXXX-XXXX`: 8 code characters, dash for readability.
pub fn user_code() -> String {
    let mut rng = rand::thread_rng();
    let mut pick = || USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())] as char;
    let first: String = (0..4).map(|_| pick()).collect();
    let second: String = (0..4).map(|_| pick()).collect();
    format!("{first}-{second}")
}

/// User codes compare without the dash, spaces or case, as people type them.
pub fn normalize_user_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}
