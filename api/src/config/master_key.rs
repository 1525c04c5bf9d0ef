//! The master key that encrypts secrets at rest: where it comes from (a value, a file, or the
//! development key generated in the data directory) and how it is read.

use super::files::{create_private_dir, private_file_options};
use super::{Config, ConfigError, bad};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use latchkey_core::crypto::MasterKey;
use rand::RngCore;
use std::path::{Path, PathBuf};

/// Where the master key comes from.
#[derive(Clone)]
pub enum MasterKeySource {
    /// The key itself (32 bytes).
    Value([u8; 32]),
    File(PathBuf),
    /// The embedded default: `data_dir/master.key`, generated on first start.
    Development(PathBuf),
}

impl std::fmt::Debug for MasterKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MasterKeySource::Value(_) => f.write_str("Value(…)"),
            MasterKeySource::File(path) => write!(f, "File({})", path.display()),
            MasterKeySource::Development(path) => write!(f, "Development({})", path.display()),
        }
    }
}

impl Config {
    /// Reads, or in the development mode creates, the master key.
    pub fn load_master_key(&self) -> Result<MasterKey, ConfigError> {
        match &self.master_key {
            MasterKeySource::Value(key) => Ok(MasterKey::from_bytes(*key)),
            MasterKeySource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    bad(
                        "LATCHKEY_MASTER_KEY_FILE",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                parse_master_key("LATCHKEY_MASTER_KEY_FILE", text.trim()).map(MasterKey::from_bytes)
            }
            MasterKeySource::Development(path) => {
                if path.exists() {
                    let text = std::fs::read_to_string(path).map_err(|e| {
                        bad(
                            "LATCHKEY_DATA_DIR",
                            format!("cannot read {}: {e}", path.display()),
                        )
                    })?;
                    return parse_master_key("LATCHKEY_DATA_DIR", text.trim())
                        .map(MasterKey::from_bytes);
                }
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_private(path, &STANDARD.encode(key)).map_err(|e| {
                    bad(
                        "LATCHKEY_DATA_DIR",
                        format!("cannot write {}: {e}", path.display()),
                    )
                })?;
                tracing::warn!(
                    path = %path.display(),
                    "generated a development master key; set LATCHKEY_MASTER_KEY in production"
                );
                Ok(MasterKey::from_bytes(key))
            }
        }
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        create_private_dir(parent)?;
    }
    private_file_options()
        .write(true)
        .create_new(true)
        .open(path)?
        .write_all(contents.as_bytes())
}

pub(super) fn parse_master_key(setting: &str, value: &str) -> Result<[u8; 32], ConfigError> {
    let bytes = if value.len() == 64 && value.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(value).ok()
    } else {
        STANDARD.decode(value).ok()
    };
    match bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()) {
        Some(key) => Ok(key),
        None => Err(bad(
            setting,
            "must be exactly 32 bytes, written as base64 (44 characters) or hex (64 characters)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_key_accepts_base64_and_hex() {
        assert!(parse_master_key("k", &STANDARD.encode([1u8; 32])).is_ok());
        assert!(parse_master_key("k", &hex::encode([1u8; 32])).is_ok());
        assert!(parse_master_key("k", &STANDARD.encode([1u8; 31])).is_err());
    }
}
