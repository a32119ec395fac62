//! PKCE (RFC 7636, S256) verifiers and challenges. Randomness is the caller's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{CryptoRng, Rng};
use sha2::{Digest, Sha256};

/// RFC 3986 unreserved characters, the alphabet RFC 7636 allows in a verifier.
const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// The Webex SDK uses the longest verifier RFC 7636 allows; so do we.
pub const VERIFIER_LEN: usize = 128;

pub fn new_verifier<R: Rng + CryptoRng>(rng: &mut R) -> String {
    (0..VERIFIER_LEN).map(|_| UNRESERVED[rng.gen_range(0..UNRESERVED.len())] as char).collect()
}

/// base64url(SHA-256(verifier)) without padding: always 43 characters.
pub fn challenge_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
pub fn is_valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| UNRESERVED.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn rfc7636_appendix_b_golden() {
        assert_eq!(
            challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifier_is_128_unreserved_and_random() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let a = new_verifier(&mut rng);
        let b = new_verifier(&mut rng);
        assert_eq!(a.len(), 128);
        assert!(is_valid_verifier(&a));
        assert_ne!(a, b);
        assert_eq!(challenge_s256(&a).len(), 43);
    }

    #[test]
    fn verifier_validation() {
        assert!(!is_valid_verifier("short"));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}!", "a".repeat(50))));
    }
}
