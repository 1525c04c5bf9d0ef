//! Encryption at rest under the deployment master key, or under a key derived from a secret
//! the caller presents: AES-256-GCM with a random 96-bit nonce per message and associated data
//! that binds each ciphertext to its row (so a sealed value copied to another row or tenant
//! does not open).

use crate::error::{Error, Result};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// An AES-256-GCM key and the format of what it seals.
struct SealingKey(LessSafeKey);

impl SealingKey {
    fn new(bytes: &[u8; 32]) -> Self {
        let key = UnboundKey::new(&AES_256_GCM, bytes).expect("32 bytes is an AES-256 key");
        Self(LessSafeKey::new(key))
    }

    /// Encrypts `plaintext`, bound to `context`; returns base64(nonce ‖ ciphertext ‖ tag).
    fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| Error::internal("no randomness for a nonce"))?;
        let mut sealed = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut sealed,
            )
            .map_err(|_| Error::internal("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    /// Decrypts what [`SealingKey::seal`] made with the same key and context.
    fn open(&self, context: &[u8], sealed: &str) -> Result<Vec<u8>> {
        let bytes = STANDARD
            .decode(sealed)
            .map_err(|_| Error::internal("sealed value is not base64"))?;
        if bytes.len() < NONCE_LEN {
            return Err(Error::internal("sealed value is too short"));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::internal("bad nonce"))?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self
            .0
            .open_in_place(nonce, Aad::from(context), &mut buffer)
            .map_err(|_| Error::internal("cannot decrypt: wrong key or tampered value"))?;
        Ok(plaintext.to_vec())
    }
}

/// HMAC-SHA256 of `message` under `key`, as a 32-byte key.
fn derive_key(key: &[u8], message: &str) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// The 32-byte key that encrypts secrets at rest (signing keys, connector credentials).
pub struct MasterKey {
    key: SealingKey,
    bytes: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            key: SealingKey::new(&bytes),
            bytes,
        }
    }

    /// A key for another purpose, derived with HMAC-SHA256 so it reveals nothing of this one.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        derive_key(&self.bytes, purpose)
    }

    /// Encrypts `plaintext`, bound to `context`; returns base64(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<String> {
        self.key.seal(context, plaintext)
    }

    /// Decrypts what [`MasterKey::seal`] made with the same context.
    pub fn open(&self, context: &[u8], sealed: &str) -> Result<Vec<u8>> {
        self.key.open(context, sealed)
    }
}

/// A key derived from a bearer secret that a caller presents (a refresh token), which the
/// server keeps only as a hash. What it seals opens only for whoever presents that secret
/// again: neither the database nor the master key is enough.
pub struct PresentedSecretKey(SealingKey);

impl PresentedSecretKey {
    /// The key of `secret` for `purpose` (HMAC-SHA256 keyed with the secret, so it is not the
    /// stored SHA-256 hash of the secret and reveals nothing of it).
    pub fn derive(secret: &str, purpose: &str) -> Self {
        Self(SealingKey::new(&derive_key(secret.as_bytes(), purpose)))
    }

    /// Encrypts `plaintext`, bound to `context`, in the format of [`MasterKey::seal`].
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<String> {
        self.0.seal(context, plaintext)
    }

    /// Decrypts what [`PresentedSecretKey::seal`] made with the same secret and context.
    pub fn open(&self, context: &[u8], sealed: &str) -> Result<Vec<u8>> {
        self.0.open(context, sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_with_the_same_key_and_context() {
        let key = MasterKey::from_bytes([7; 32]);
        let sealed = key.seal(b"row-1", b"secret").unwrap();
        assert_eq!(key.open(b"row-1", &sealed).unwrap(), b"secret");
        assert_ne!(
            key.seal(b"row-1", b"secret").unwrap(),
            sealed,
            "fresh nonce"
        );
        assert!(key.open(b"row-2", &sealed).is_err());
        assert!(
            MasterKey::from_bytes([8; 32])
                .open(b"row-1", &sealed)
                .is_err()
        );
        let mut tampered = STANDARD.decode(&sealed).unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key.open(b"row-1", &STANDARD.encode(tampered)).is_err());
    }

    #[test]
    fn a_presented_secret_opens_only_what_it_sealed() {
        let key = PresentedSecretKey::derive("lkr_secret", "purpose");
        let sealed = key.seal(b"row-1", b"successor").unwrap();
        let again = PresentedSecretKey::derive("lkr_secret", "purpose");
        assert_eq!(again.open(b"row-1", &sealed).unwrap(), b"successor");
        assert!(again.open(b"row-2", &sealed).is_err());
        assert!(
            PresentedSecretKey::derive("lkr_other", "purpose")
                .open(b"row-1", &sealed)
                .is_err()
        );
        assert!(
            PresentedSecretKey::derive("lkr_secret", "other purpose")
                .open(b"row-1", &sealed)
                .is_err()
        );
        assert!(
            MasterKey::from_bytes([7; 32])
                .open(b"row-1", &sealed)
                .is_err()
        );
    }
}
