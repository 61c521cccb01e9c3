//! Server-provided DPoP nonces (RFC 9449 §9), stateless: a nonce is its
//! issue time and an HMAC of it, so any replica holding the same
//! `nonce_secret` accepts what another issued, and nothing is stored.
//!
//! A nonce limits how far ahead a client could have signed proofs (one
//! stolen from a compromised client goes stale within `nonce_lifetime`);
//! replay of a single proof is the replay cache's job, not the nonce's.

use std::time::Duration;

use aws_lc_rs::constant_time;
use aws_lc_rs::hmac::{self, HMAC_SHA256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::settings::config::Secret;

/// Bytes of the HMAC tag kept in a nonce: 128 bits can't be guessed.
const TAG_SIZE: usize = 16;

/// How far in the future a nonce's time may be (another replica's clock).
const CLOCK_SKEW: u64 = 5;

/// Issues and checks nonces.
pub(crate) struct Nonces {
    key: hmac::Key,
    lifetime: u64,
}

impl Nonces {
    /// Nonces keyed by `secret`, or by a random per-process key without
    /// one (then only this process accepts its nonces).
    pub(crate) fn new(secret: Option<&Secret>, lifetime: Duration) -> Self {
        let key = match secret {
            Some(secret) => hmac::Key::new(HMAC_SHA256, secret.0.as_bytes()),
            None => {
                let mut random = [0u8; 32];
                // The system RNG doesn't fail on a supported platform; a
                // key of zeros would still only weaken nonces, not auth.
                if SystemRandom::new().fill(&mut random).is_err() {
                    log::error!("no system randomness for the DPoP nonce key");
                }
                hmac::Key::new(HMAC_SHA256, &random)
            }
        };
        Nonces { key, lifetime: lifetime.as_secs().max(1) }
    }

    fn tag(&self, time: [u8; 8]) -> [u8; TAG_SIZE] {
        let mut tag = [0; TAG_SIZE];
        tag.copy_from_slice(&hmac::sign(&self.key, &time).as_ref()[..TAG_SIZE]);
        tag
    }

    /// A fresh nonce at `now` (seconds since the epoch).
    pub(crate) fn issue(&self, now: u64) -> String {
        let time = now.to_be_bytes();
        let mut nonce = [0; 8 + TAG_SIZE];
        nonce[..8].copy_from_slice(&time);
        nonce[8..].copy_from_slice(&self.tag(time));
        URL_SAFE_NO_PAD.encode(nonce)
    }

    /// The age in seconds of `nonce` if it was issued with this key within
    /// the lifetime, else `None`.
    pub(crate) fn age(&self, nonce: &str, now: u64) -> Option<u64> {
        let bytes = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        let decoded = <[u8; 8 + TAG_SIZE]>::try_from(bytes.as_slice()).ok()?;
        let (time, tag) = decoded.split_at(8);
        let time: [u8; 8] = time.try_into().ok()?;
        constant_time::verify_slices_are_equal(tag, &self.tag(time)).ok()?;
        let issued = u64::from_be_bytes(time);
        let age = now.saturating_sub(issued);
        (issued <= now + CLOCK_SKEW && age <= self.lifetime).then_some(age)
    }

    /// Whether a nonce of `age` seconds should be replaced on the next
    /// answer: past half its lifetime, so a busy client never has one go
    /// stale under it.
    pub(crate) fn is_aging(&self, age: u64) -> bool {
        age * 2 > self.lifetime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_accepted_within_their_lifetime_by_the_same_secret_only() {
        let secret = Secret("s".repeat(32));
        let nonces = Nonces::new(Some(&secret), Duration::from_secs(300));
        let nonce = nonces.issue(1_000_000);
        assert!(nonces.age(&nonce, 1_000_000).is_some());
        assert!(nonces.age(&nonce, 1_000_300) == Some(300));
        assert!(nonces.age(&nonce, 1_000_301).is_none(), "expired");
        assert!(nonces.age(&nonce, 999_990).is_none(), "issued in the future");

        let replica = Nonces::new(Some(&secret), Duration::from_secs(300));
        assert!(replica.age(&nonce, 1_000_001) == Some(1), "same secret, another process");
        let other = Nonces::new(None, Duration::from_secs(300));
        assert!(other.age(&nonce, 1_000_001).is_none(), "random key");

        let mut forged = URL_SAFE_NO_PAD.decode(&nonce).unwrap();
        forged[7] ^= 1;
        assert!(nonces.age(&URL_SAFE_NO_PAD.encode(forged), 1_000_001).is_none());
        assert!(!nonces.is_aging(150) && nonces.is_aging(151));
        for junk in ["", "abc", "!!!!", &nonce[1..]] {
            assert!(nonces.age(junk, 1_000_000).is_none(), "{junk}");
        }
    }
}
