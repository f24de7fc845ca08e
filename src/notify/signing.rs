//! Signatures for outgoing webhook notifications.
//!
//! Each subscription gets its own secret ([`new_secret`]) and every notification
//! body the VTN POSTs to a callback URL is signed with it, so that the receiver
//! can tell a genuine notification from a forged one (the callback URL itself is
//! not a secret: anyone who learns it could otherwise post to it). Two schemes are
//! offered because receivers in the wild expect one or the other:
//!
//! * **Standard Webhooks** (<https://www.standardwebhooks.com>), the scheme with
//!   reference verifier libraries in many languages. The sender sets three headers,
//!   `webhook-id` (a unique message id), `webhook-timestamp` (Unix seconds) and
//!   `webhook-signature` (`v1,<base64 HMAC-SHA256>`), where the HMAC covers
//!   `"{webhook-id}.{webhook-timestamp}.{body}"`. Signing the id and timestamp
//!   together with the body lets the receiver reject replays and stale
//!   deliveries, not only tampering. The key is the base64-decoded part of a
//!   `whsec_…` secret. See [`standard_webhooks_signature`].
//! * **Volue Energy Coordination** `X-Payload-Signature`: base64 of
//!   HMAC-SHA256 over the raw body bytes, keyed by the secret string's UTF-8
//!   bytes as written (no decoding). Receivers built for Volue's Energy
//!   Coordination webhooks verify exactly this, so the VTN can drive them
//!   unchanged. See [`volue_payload_signature`].
//!
//! Both are computed over the exact bytes sent on the wire: the caller must
//! serialise the body once and sign and send those same bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Prefix of secrets in the Standard Webhooks format.
pub const SECRET_PREFIX: &str = "whsec_";

/// Standard Webhooks header carrying the unique message id.
pub const WEBHOOK_ID_HEADER: &str = "webhook-id";
/// Standard Webhooks header carrying the signing time in Unix seconds.
pub const WEBHOOK_TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// Standard Webhooks header carrying the value of [`standard_webhooks_signature`].
pub const WEBHOOK_SIGNATURE_HEADER: &str = "webhook-signature";
/// Volue Energy Coordination header carrying the value of [`volue_payload_signature`].
pub const VOLUE_SIGNATURE_HEADER: &str = "X-Payload-Signature";

/// A per-subscription signing secret: `"whsec_"` + base64 (standard alphabet,
/// padded) of 32 random bytes from the operating system's CSPRNG.
///
/// 32 bytes (256 bits) matches the HMAC-SHA256 block security and what the
/// Standard Webhooks libraries generate; the `whsec_` prefix makes the secret
/// usable as-is with those libraries on the receiving side.
///
/// # Panics
/// Only if the operating system cannot supply random bytes (`getrandom`
/// failing), in which case no secret could safely be made at all.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .expect("the operating system's random number generator failed");
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// Standard Webhooks (<https://www.standardwebhooks.com>) signature: HMAC-SHA256
/// over `"{msg_id}.{timestamp}.{body}"`, keyed by the base64-decoded part after
/// `"whsec_"`. If the secret lacks the prefix or the rest is not valid base64,
/// the secret's UTF-8 bytes are the key instead, so that a secret a client chose
/// itself still signs deterministically (its receiver must then use the same
/// rule). Returns the header value `"v1,<base64 signature>"` for
/// [`WEBHOOK_SIGNATURE_HEADER`].
pub fn standard_webhooks_signature(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    let key_bytes = secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|b64| STANDARD.decode(b64).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec());
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key_bytes);
    // Feed the parts one by one: the body can be large, no need to copy it.
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(msg_id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("v1,{}", STANDARD.encode(ctx.sign().as_ref()))
}

/// Volue Energy Coordination's `X-Payload-Signature` ([`VOLUE_SIGNATURE_HEADER`]):
/// base64 (standard, padded) of HMAC-SHA256 over the raw body bytes, keyed by
/// the secret string's UTF-8 bytes (the whole string, any `whsec_` prefix
/// included, nothing decoded), which is what Volue's receivers verify.
pub fn volue_payload_signature(secret: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    STANDARD.encode(hmac::sign(&key, body).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/volue-webhook/",
                $name
            ))
        };
    }

    fn volue_key() -> &'static str {
        let raw = std::str::from_utf8(fixture!("signing-key.txt")).unwrap();
        // The published key file has no trailing newline; strip one anyway so a
        // re-saved copy cannot silently change the key.
        let key = raw.strip_suffix('\n').unwrap_or(raw);
        let key = key.strip_suffix('\r').unwrap_or(key);
        assert_eq!(key, "Secret123%");
        key
    }

    fn expected(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap().trim()
    }

    #[test]
    fn volue_price_curve_vector() {
        let body: &[u8] = fixture!("price-curve-event.json");
        assert_eq!(
            volue_payload_signature(volue_key(), body),
            expected(fixture!("price-curve-event.json.hmacsha256b64"))
        );
    }

    #[test]
    fn volue_user_eligibility_vector() {
        let body: &[u8] = fixture!("user-eligibility-event.json");
        assert_eq!(
            volue_payload_signature(volue_key(), body),
            expected(fixture!("user-eligibility-event.json.hmacsha256b64"))
        );
    }

    #[test]
    fn volue_signature_covers_every_byte() {
        let body: &[u8] = fixture!("price-curve-event.json");
        let good = volue_payload_signature(volue_key(), body);
        // The fixture body ends with a newline that is part of what is signed.
        assert_eq!(body.last(), Some(&b'\n'));
        assert_ne!(
            volue_payload_signature(volue_key(), &body[..body.len() - 1]),
            good
        );
        assert_ne!(volue_payload_signature("Secret123", body), good);
    }

    #[test]
    fn standard_webhooks_reference_vector() {
        // Known-answer vector used by the Standard Webhooks reference libraries.
        let sig = standard_webhooks_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn standard_webhooks_fallback_key_is_the_raw_secret() {
        let body = b"{}";
        let expected = {
            let key = hmac::Key::new(hmac::HMAC_SHA256, b"not-prefixed");
            let tag = hmac::sign(&key, b"id.5.{}");
            format!("v1,{}", STANDARD.encode(tag.as_ref()))
        };
        assert_eq!(
            standard_webhooks_signature("not-prefixed", "id", 5, body),
            expected
        );
        // Prefixed but not base64: the whole string (prefix included) is the key.
        let expected = {
            let key = hmac::Key::new(hmac::HMAC_SHA256, b"whsec_!!not base64!!");
            let tag = hmac::sign(&key, b"id.5.{}");
            format!("v1,{}", STANDARD.encode(tag.as_ref()))
        };
        assert_eq!(
            standard_webhooks_signature("whsec_!!not base64!!", "id", 5, body),
            expected
        );
    }

    #[test]
    fn new_secret_format() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a, b);
        for s in [&a, &b] {
            let b64 = s.strip_prefix("whsec_").expect("whsec_ prefix");
            let key = STANDARD.decode(b64).expect("standard padded base64");
            assert_eq!(key.len(), 32);
            assert_eq!(b64.len(), 44);
            assert!(b64.ends_with('='));
        }
        // A new secret works as a Standard Webhooks key (decoded, not raw).
        let key = STANDARD.decode(&a["whsec_".len()..]).unwrap();
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), b"m.1.x");
        assert_eq!(
            standard_webhooks_signature(&a, "m", 1, b"x"),
            format!("v1,{}", STANDARD.encode(tag.as_ref()))
        );
    }
}
