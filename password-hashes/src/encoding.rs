//! The text fields of hash strings: base64 and decimal numbers.
//!
//! Canonical strings use standard base64 (`A–Z a–z 0–9 + /`) without padding, so that each hash
//! has exactly one spelling. Source exports use standard base64 with or without padding; the
//! URL-safe alphabet (`-` and `_`) is not accepted from any source, as none of the supported
//! ones writes it.

use crate::error::HashError;
use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Standard base64 that may or may not end in `=` padding.
const PADDING_OPTIONAL: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Encodes `bytes` for a canonical string: standard base64, no padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD_NO_PAD.encode(bytes)
}

/// Decodes a field of a canonical string (standard base64, no padding).
pub(crate) fn decode_canonical(
    text: &str,
    scheme: &'static str,
    field: &'static str,
) -> Result<Vec<u8>, HashError> {
    STANDARD_NO_PAD
        .decode(text)
        .map_err(|_| HashError::NotBase64 {
            scheme,
            field,
            alphabet: "standard alphabet, no padding",
        })
}

/// Decodes a field of a source export (standard base64, padding optional).
pub(crate) fn decode_source(
    text: &str,
    scheme: &'static str,
    field: &'static str,
) -> Result<Vec<u8>, HashError> {
    PADDING_OPTIONAL
        .decode(text)
        .map_err(|_| HashError::NotBase64 {
            scheme,
            field,
            alphabet: "standard alphabet A-Z a-z 0-9 + /",
        })
}

/// Parses a decimal number written with digits only (no sign, no spaces).
pub(crate) fn decimal(
    text: &str,
    scheme: &'static str,
    field: &'static str,
) -> Result<u32, HashError> {
    let not_a_number = || HashError::malformed(scheme, format!("{field} is not a whole number"));
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_a_number());
    }
    text.parse().map_err(|_| not_a_number())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_base64_has_no_padding() {
        assert_eq!(encode(b"seasalt2"), "c2Vhc2FsdDI");
        assert_eq!(
            decode_canonical("c2Vhc2FsdDI", "PBKDF2", "salt").unwrap(),
            b"seasalt2"
        );
        assert_eq!(
            decode_canonical("c2Vhc2FsdDI=", "PBKDF2", "salt")
                .unwrap_err()
                .to_string(),
            "PBKDF2 salt is not base64 (standard alphabet, no padding)"
        );
    }

    #[test]
    fn source_base64_may_be_padded_but_not_url_safe() {
        assert_eq!(
            decode_source("Bw==", "Firebase", "salt separator").unwrap(),
            [7]
        );
        assert_eq!(
            decode_source("Bw", "Firebase", "salt separator").unwrap(),
            [7]
        );
        assert_eq!(
            decode_source("+/8", "Firebase", "salt").unwrap(),
            [0xfb, 0xff]
        );
        assert!(decode_source("-_8", "Firebase", "salt").is_err());
        assert!(decode_source("not base64!", "Firebase", "salt").is_err());
    }

    #[test]
    fn decimals_are_digits_only() {
        assert_eq!(decimal("27500", "PBKDF2", "iterations"), Ok(27500));
        for bad in ["", "+5", "-1", " 5", "1e3", "99999999999"] {
            assert_eq!(
                decimal(bad, "PBKDF2", "iterations")
                    .unwrap_err()
                    .to_string(),
                "PBKDF2 hash is malformed: iterations is not a whole number",
                "{bad:?}"
            );
        }
    }
}
