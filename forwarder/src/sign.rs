//! The HMAC-SHA256 signature header that `ansible.eda.webhook` checks when it is given
//! `hmac_secret`: HMAC over the exact body bytes, hex (default) or base64, sent as
//! `sha256=<digest>` in the `x-hub-signature-256` header (the GitHub form; the webhook strips an
//! optional `sha256=` prefix). The header name and the encoding follow the webhook's
//! `hmac_header` and `hmac_format` options.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How the digest is written, as the webhook's `hmac_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestFormat {
    /// Lowercase hexadecimal (the webhook's default).
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// The signature header value for `body`: `sha256=<digest>`.
pub fn signature(secret: &[u8], body: &[u8], format: DigestFormat) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let encoded = match format {
        DigestFormat::Hex => hex::encode(digest),
        DigestFormat::Base64 => base64::engine::general_purpose::STANDARD.encode(digest),
    };
    format!("sha256={encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231, test case 2.
    const KEY: &[u8] = b"Jefe";
    const DATA: &[u8] = b"what do ya want for nothing?";
    const HEX: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    #[test]
    fn hex_matches_rfc_4231() {
        assert_eq!(
            signature(KEY, DATA, DigestFormat::Hex),
            format!("sha256={HEX}")
        );
    }

    #[test]
    fn base64_encodes_the_same_digest() {
        let sig = signature(KEY, DATA, DigestFormat::Base64);
        let b64 = sig.strip_prefix("sha256=").unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(hex::encode(raw), HEX);
    }
}
