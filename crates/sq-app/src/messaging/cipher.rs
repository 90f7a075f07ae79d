//! Channel credentials at rest: ChaCha20-Poly1305 with a random nonce per seal. The key
//! comes from configuration (or a generated file), never from the database, so a copy of
//! the database alone does not reveal provider tokens.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};
use std::fmt;

const NONCE: usize = 12;

#[derive(Clone)]
pub struct ChannelCipher(ChaCha20Poly1305);

impl fmt::Debug for ChannelCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChannelCipher(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("channel configuration cannot be decrypted (wrong key or corrupted)")]
pub struct OpenError;

impl ChannelCipher {
    /// Any length of secret material; it is hashed (with a purpose label) into the key, so
    /// the same secret used elsewhere yields an unrelated key here.
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(b"smartqueue channel credentials v1\0");
        h.update(secret);
        let key: [u8; 32] = h.finalize().into();
        ChannelCipher(ChaCha20Poly1305::new(&Key::from(key)))
    }

    /// `nonce || ciphertext+tag`.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        // Encryption with a fresh nonce and an in-memory buffer cannot fail.
        out.extend(
            self.0
                .encrypt(&nonce, plaintext)
                .expect("ChaCha20-Poly1305 encryption of a buffer"),
        );
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < NONCE {
            return Err(OpenError);
        }
        let (nonce, ct) = sealed.split_at(NONCE);
        let nonce: [u8; NONCE] = nonce.try_into().map_err(|_| OpenError)?;
        self.0
            .decrypt(&Nonce::from(nonce), ct)
            .map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_tampering_or_another_key() {
        let c = ChannelCipher::from_secret(b"key one");
        let a = c.seal(b"{\"auth_token\":\"s3cret\"}");
        let b = c.seal(b"{\"auth_token\":\"s3cret\"}");
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!String::from_utf8_lossy(&a).contains("s3cret"));
        assert_eq!(c.open(&a).unwrap(), b"{\"auth_token\":\"s3cret\"}");
        let mut bad = a.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(c.open(&bad), Err(OpenError));
        assert_eq!(
            ChannelCipher::from_secret(b"key two").open(&a),
            Err(OpenError)
        );
        assert_eq!(c.open(&a[..5]), Err(OpenError));
    }
}
