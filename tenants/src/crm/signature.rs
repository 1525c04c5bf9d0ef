//! Webhook signatures: the `Latchkey-Signature` HMAC that pushes to `WEBHOOK` connectors
//! are signed with and that inbound requests of `WEBHOOK`, `SALESFORCE` and `DYNAMICS365`
//! connectors are checked against, and HubSpot's signature v3 of its webhook requests. Both
//! checks refuse timestamps more than [`REPLAY_WINDOW_SECONDS`] away from now.

use super::rejection::Rejection;
use aws_lc_rs::hmac;
use base64::Engine;

/// How far a signed timestamp may be from now.
pub const REPLAY_WINDOW_SECONDS: i64 = 300;

fn hmac_key(secret: &str) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes())
}

/// The `Latchkey-Signature` header for `body` sent at `timestamp` (unix seconds):
/// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. What pushes sign with
/// and [`verify_latchkey_signature`] checks.
pub(crate) fn latchkey_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let tag = hmac::sign(&hmac_key(secret), &signed);
    format!("t={timestamp},v1={}", hex::encode(tag.as_ref()))
}

/// Checks `Latchkey-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]` over `"<t>.<body>"`.
pub fn verify_latchkey_signature(
    header: Option<&str>,
    secret: &str,
    body: &[u8],
    now: i64,
) -> Result<(), Rejection> {
    let header = header.ok_or_else(|| {
        Rejection::Unauthenticated("the Latchkey-Signature header is missing".to_owned())
    })?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| {
        Rejection::Unauthenticated("Latchkey-Signature has no t=<unix seconds>".to_owned())
    })?;
    if (now - timestamp).abs() > REPLAY_WINDOW_SECONDS {
        return Err(Rejection::Unauthenticated(format!(
            "the signature's timestamp is more than {REPLAY_WINDOW_SECONDS} seconds away from now"
        )));
    }
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let key = hmac_key(secret);
    if signatures
        .iter()
        .any(|signature| hmac::verify(&key, &signed, signature).is_ok())
    {
        Ok(())
    } else {
        Err(Rejection::Unauthenticated(
            "the signature does not match the body and the connector's secret".to_owned(),
        ))
    }
}

/// HubSpot decodes these escapes in the URL before signing.
fn hubspot_uri(url: &str) -> String {
    const DECODED: [(&str, &str); 12] = [
        ("%3A", ":"),
        ("%2F", "/"),
        ("%3F", "?"),
        ("%40", "@"),
        ("%21", "!"),
        ("%24", "$"),
        ("%27", "'"),
        ("%28", "("),
        ("%29", ")"),
        ("%2A", "*"),
        ("%2C", ","),
        ("%3B", ";"),
    ];
    let mut out = url.to_owned();
    for (escaped, plain) in DECODED {
        out = out
            .replace(escaped, plain)
            .replace(&escaped.to_lowercase(), plain);
    }
    out
}

/// Checks HubSpot's signature v3: base64(HMAC-SHA256(client secret, method + URL + body +
/// timestamp)), with the timestamp in milliseconds.
pub fn verify_hubspot_signature(
    signature: Option<&str>,
    timestamp: Option<&str>,
    secret: &str,
    method: &str,
    url: &str,
    body: &[u8],
    now_ms: i64,
) -> Result<(), Rejection> {
    let (Some(signature), Some(timestamp)) = (signature, timestamp) else {
        return Err(Rejection::Unauthenticated(
            "X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp are required".to_owned(),
        ));
    };
    let ms = timestamp.trim().parse::<i64>().map_err(|_| {
        Rejection::Unauthenticated(
            "X-HubSpot-Request-Timestamp is not epoch milliseconds".to_owned(),
        )
    })?;
    if (now_ms - ms).abs() > REPLAY_WINDOW_SECONDS * 1000 {
        return Err(Rejection::Unauthenticated(format!(
            "the request timestamp is more than {REPLAY_WINDOW_SECONDS} seconds away from now"
        )));
    }
    let mut signed = format!("{method}{}", hubspot_uri(url)).into_bytes();
    signed.extend_from_slice(body);
    signed.extend_from_slice(timestamp.trim().as_bytes());
    let given = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|_| {
            Rejection::Unauthenticated("X-HubSpot-Signature-v3 is not base64".to_owned())
        })?;
    hmac::verify(&hmac_key(secret), &signed, &given).map_err(|_| {
        Rejection::Unauthenticated(
            "the signature does not match the request and the connector's client secret".to_owned(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latchkey_signatures_check_secret_body_and_time() {
        let body = br#"{"id":"1"}"#;
        let now = 1_800_000_000;
        let header = latchkey_signature("0123456789abcdef", now, body);
        assert_eq!(
            verify_latchkey_signature(Some(&header), "0123456789abcdef", body, now),
            Ok(())
        );
        // Within the window either way, outside it refused.
        assert!(
            verify_latchkey_signature(Some(&header), "0123456789abcdef", body, now + 299).is_ok()
        );
        assert!(
            verify_latchkey_signature(Some(&header), "0123456789abcdef", body, now + 301).is_err()
        );
        assert!(
            verify_latchkey_signature(Some(&header), "0123456789abcdef", body, now - 301).is_err()
        );
        assert!(verify_latchkey_signature(Some(&header), "another-secret-123", body, now).is_err());
        assert!(verify_latchkey_signature(Some(&header), "0123456789abcdef", b"{}", now).is_err());
        assert!(verify_latchkey_signature(None, "0123456789abcdef", body, now).is_err());
        assert!(verify_latchkey_signature(Some("v1=00"), "0123456789abcdef", body, now).is_err());
        // A rotated secret: either signature may match.
        let both = format!("{header},v1={}", "ab".repeat(32));
        assert!(verify_latchkey_signature(Some(&both), "0123456789abcdef", body, now).is_ok());
    }

    #[test]
    fn hubspot_v3_signatures_follow_the_documented_recipe() {
        let secret = "hubspot-app-client-secret";
        let url = "https://idp.example.com/t/acme/connectors/x/webhook?a=%3A";
        let body = br#"[{"eventId":1}]"#;
        let ts = "1800000000000";
        let source = format!(
            "POST{}{}{ts}",
            "https://idp.example.com/t/acme/connectors/x/webhook?a=:",
            std::str::from_utf8(body).unwrap()
        );
        let signature = base64::engine::general_purpose::STANDARD
            .encode(hmac::sign(&hmac_key(secret), source.as_bytes()).as_ref());
        let now = 1_800_000_000_000;
        let verify = |sig: &str, ts: &str, secret: &str, body: &[u8], now: i64| {
            verify_hubspot_signature(Some(sig), Some(ts), secret, "POST", url, body, now)
        };
        assert_eq!(verify(&signature, ts, secret, body, now), Ok(()));
        assert!(verify(&signature, ts, secret, body, now + 300_001).is_err());
        assert!(verify(&signature, ts, "wrong", body, now).is_err());
        assert!(verify(&signature, ts, secret, b"[]", now).is_err());
        assert!(verify(&signature, "1800000000001", secret, body, now).is_err());
        assert!(verify("not base64!", ts, secret, body, now).is_err());
    }
}
