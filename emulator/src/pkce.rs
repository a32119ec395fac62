//! RFC 7636 S256 verification.

use base64::Engine as _;
use sha2::{Digest, Sha256};

pub fn challenge_s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 §4.1: 43..=128 characters from the unreserved set.
pub fn is_well_formed_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

pub fn verify(challenge: &str, verifier: &str) -> bool {
    is_well_formed_verifier(verifier) && challenge_s256(verifier) == challenge
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(challenge_s256(verifier), challenge);
        assert!(verify(challenge, verifier));
        assert!(!verify(challenge, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"));
    }

    #[test]
    fn verifier_shape() {
        assert!(!is_well_formed_verifier("short"));
        assert!(!is_well_formed_verifier(&"a".repeat(129)));
        assert!(is_well_formed_verifier(&"a~.-_".repeat(25)));
        assert!(!is_well_formed_verifier(&format!("{}+", "a".repeat(50))));
    }
}
