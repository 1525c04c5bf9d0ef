//! A canonical stored string, parsed: the format is told by its first field, `$<id>$`.

use crate::error::HashError;
use crate::firebase::FirebaseHash;
use crate::pbkdf2::{Digest, Pbkdf2Hash};
use crate::{Scheme, argon2, bcrypt};
use ::argon2::password_hash::phc::PasswordHash;

/// A stored string that passed its format's checks.
pub(crate) enum Stored<'a> {
    Argon2(PasswordHash),
    Bcrypt(&'a str),
    Pbkdf2(Pbkdf2Hash),
    Firebase(FirebaseHash),
}

impl<'a> Stored<'a> {
    /// Parses and checks `stored`.
    pub(crate) fn parse(stored: &'a str) -> Result<Self, HashError> {
        let id = stored
            .strip_prefix('$')
            .and_then(|rest| rest.split('$').next())
            .ok_or(HashError::UnknownFormat)?;
        match id {
            "argon2id" | "argon2i" | "argon2d" => argon2::parse(stored).map(Self::Argon2),
            "2a" | "2b" | "2y" | "2x" => bcrypt::validate(stored).map(|()| Self::Bcrypt(stored)),
            "pbkdf2-sha1" | "pbkdf2-sha256" | "pbkdf2-sha512" => {
                Pbkdf2Hash::parse(stored).map(Self::Pbkdf2)
            }
            "firebase-scrypt" => FirebaseHash::parse(stored).map(Self::Firebase),
            _ => Err(HashError::UnknownFormat),
        }
    }

    /// The scheme.
    pub(crate) fn scheme(&self) -> Scheme {
        match self {
            Self::Argon2(_) => Scheme::Argon2,
            Self::Bcrypt(_) => Scheme::Bcrypt,
            Self::Pbkdf2(hash) => match hash.digest() {
                Digest::Sha1 => Scheme::Pbkdf2Sha1,
                Digest::Sha256 => Scheme::Pbkdf2Sha256,
                Digest::Sha512 => Scheme::Pbkdf2Sha512,
            },
            Self::Firebase(_) => Scheme::FirebaseScrypt,
        }
    }

    /// Whether `password` matches.
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        match self {
            Self::Argon2(hash) => argon2::verify(password, hash),
            Self::Bcrypt(stored) => bcrypt::verify(password, stored),
            Self::Pbkdf2(hash) => Ok(hash.verify(password)),
            Self::Firebase(hash) => hash.verify(password),
        }
    }
}
