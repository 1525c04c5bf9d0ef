//! Password hashes: argon2id at the OWASP parameters (19 MiB, two passes, one lane), in PHC
//! strings that carry their own parameters. Hashing costs ~16 ms of CPU and 19 MiB of memory,
//! so it never runs on the async workers: at most one hash per core runs at a time on the
//! blocking pool, and a caller that waits longer than [`QUEUE_WAIT`] for its turn is told to
//! retry (`RateLimited`), so a flood of sign-ins cannot starve the server or its memory.

use crate::error::{Error, Result};
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
use std::sync::LazyLock;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a hash may wait for a free core before the caller is asked to retry.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// One permit per core: the hashes that may run at once.
static SLOTS: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get())));

/// The hasher new hashes are made with.
fn argon2id() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// A hash of a password nobody has, verified against for unknown accounts so that their
/// answer takes as long as a wrong password's.
static DECOY: LazyLock<String> = LazyLock::new(|| {
    argon2id()
        .hash_password(crate::secrets::generate("decoy").as_bytes())
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

/// Runs `work` on the blocking pool once a core is free.
async fn on_a_free_core<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let permit = tokio::time::timeout(QUEUE_WAIT, SLOTS.acquire())
        .await
        .map_err(|_| {
            tracing::warn!("password hashing queue full");
            Error::RateLimited {
                retry_after: Duration::from_secs(1),
            }
        })?
        .map_err(Error::internal)?;
    let result = tokio::task::spawn_blocking(work)
        .await
        .map_err(Error::internal);
    drop(permit);
    result
}

/// A new argon2id hash of `password` (already normalized), with a fresh salt.
pub async fn hash(password: String) -> Result<String> {
    on_a_free_core(move || {
        argon2id()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| Error::internal(e.to_string()))
    })
    .await?
}

/// What checking a password against a stored hash found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    pub matches: bool,
    /// The hash is of another algorithm or other parameters than new hashes: hash again at
    /// this successful sign-in.
    pub outdated: bool,
}

/// Checks a password against `stored`; `None` checks against the decoy, which never matches
/// but costs the same. New hashes are argon2id PHC strings of the `normalized` password;
/// imported ones may be any scheme `latchkey-password-hashes` verifies (bcrypt, argon2,
/// PBKDF2, Firebase's scrypt), all of them outdated, and their sources hashed the password as
/// typed: when `typed` differs from `normalized`, it is tried too.
pub async fn verify(typed: String, normalized: String, stored: Option<String>) -> Result<Checked> {
    on_a_free_core(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DECOY.clone());
        let current = PasswordHash::new(&stored).is_ok_and(|parsed| {
            parsed.algorithm == argon2::ARGON2ID_IDENT
                && Params::try_from(&parsed).is_ok_and(|params| {
                    (params.m_cost(), params.t_cost(), params.p_cost())
                        == (
                            Params::DEFAULT_M_COST,
                            Params::DEFAULT_T_COST,
                            Params::DEFAULT_P_COST,
                        )
                })
        });
        let check =
            |password: &str| match latchkey_password_hashes::verify(password.as_bytes(), &stored) {
                Ok(matches) => matches,
                Err(error) => {
                    tracing::error!(%error, "a stored password hash cannot be read");
                    false
                }
            };
        let matches =
            known && (check(&normalized) || (!current && typed != normalized && check(&typed)));
        Checked {
            matches,
            outdated: !current,
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `hunter2` as Django 3.2's `PBKDF2PasswordHasher` stores it (made with `hashlib`).
    const DJANGO_EXAMPLE: &str =
        "pbkdf2_sha256$260000$seasalt2024$4571tXhE/j30Fqse9JNH5XmYQMRl6N5pDdskpgIkPn4=";

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("violet tractor harbor".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let right = verify(
            "violet tractor harbor".into(),
            "violet tractor harbor".into(),
            Some(stored.clone()),
        )
        .await
        .unwrap();
        assert_eq!(
            right,
            Checked {
                matches: true,
                outdated: false
            }
        );
        let wrong = verify(
            "violet tractor harbour".into(),
            "violet tractor harbour".into(),
            Some(stored),
        )
        .await
        .unwrap();
        assert!(!wrong.matches);
        assert!(
            !verify("anything".into(), "anything".into(), None)
                .await
                .unwrap()
                .matches
        );
    }

    #[tokio::test]
    async fn imported_hashes_verify_and_are_outdated() {
        // Django's documented example of `pbkdf2_sha256`, as `latchkey-password-hashes` stores it.
        let stored = latchkey_password_hashes::from_django(DJANGO_EXAMPLE).unwrap();
        let checked = verify("hunter2".into(), "hunter2".into(), Some(stored.clone()))
            .await
            .unwrap();
        assert!(checked.matches);
        assert!(checked.outdated);
        assert!(
            !verify("hunter3".into(), "hunter3".into(), Some(stored))
                .await
                .unwrap()
                .matches
        );
    }

    #[tokio::test]
    async fn weaker_parameters_are_outdated() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"violet tractor harbor")
        .unwrap()
        .to_string();
        let checked = verify(
            "violet tractor harbor".into(),
            "violet tractor harbor".into(),
            Some(weak),
        )
        .await
        .unwrap();
        assert!(checked.matches);
        assert!(checked.outdated);
    }
}
