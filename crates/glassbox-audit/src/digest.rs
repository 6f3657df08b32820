//! Content digests (HMAC-SHA256 under the deployment key) and raw-content sealing
//! (XChaCha20-Poly1305 under the operator's content key, bound to instance and seq).

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use glassbox_core::audit::ContentDigester;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::record::SealedContent;
use crate::AuditError;

type HmacSha256 = Hmac<Sha256>;

/// Streams content into HMAC-SHA256 under the deployment key.
pub struct HmacDigester {
    mac: HmacSha256,
}

impl HmacDigester {
    /// A digester under `key`.
    pub fn new(key: &[u8; 32]) -> Self {
        // HMAC accepts keys of any length; a 32-byte key cannot fail.
        let mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
        HmacDigester { mac }
    }
}

impl std::fmt::Debug for HmacDigester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacDigester { .. }")
    }
}

impl ContentDigester for HmacDigester {
    fn update(&mut self, bytes: &[u8]) {
        self.mac.update(bytes);
    }

    fn finish(self: Box<Self>) -> String {
        hex::encode(self.mac.finalize().into_bytes())
    }
}

/// The hex HMAC-SHA256 of `content` under `key`: what an officer computes to prove that a text
/// was seen (compare with a record's `content_digests`).
pub fn content_hmac(key: &[u8; 32], content: &[u8]) -> String {
    let mut d = Box::new(HmacDigester::new(key));
    d.update(content);
    d.finish()
}

fn aad(instance: &str, seq: u64) -> Vec<u8> {
    let mut a = b"glassbox-audit/raw-content/v1\0".to_vec();
    a.extend_from_slice(instance.as_bytes());
    a.push(0);
    a.extend_from_slice(&seq.to_be_bytes());
    a
}

/// Encrypts raw content for record `seq` of `instance`.
///
/// # Errors
/// No OS randomness for the nonce, or the content cannot be encoded.
pub fn seal(
    key: &[u8; 32],
    key_id: &str,
    instance: &str,
    seq: u64,
    content: &[(String, String)],
) -> Result<SealedContent, AuditError> {
    let plain = serde_json::to_vec(content).map_err(|e| AuditError::Encode(e.to_string()))?;
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce)
        .map_err(|e| AuditError::Config(format!("no OS randomness: {e}")))?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: &aad(instance, seq),
            },
        )
        .map_err(|e| AuditError::Encode(format!("sealing raw content: {e}")))?;
    Ok(SealedContent {
        key_id: key_id.to_string(),
        nonce: hex::encode(nonce),
        ciphertext: base64::engine::general_purpose::STANDARD.encode(ct),
    })
}

/// Decrypts raw content sealed by [`seal`] for record `seq` of `instance`.
///
/// # Errors
/// Wrong key, wrong record, or altered ciphertext (authentication fails).
pub fn unseal(
    key: &[u8; 32],
    instance: &str,
    seq: u64,
    sealed: &SealedContent,
) -> Result<Vec<(String, String)>, String> {
    let nonce: [u8; 24] = hex::decode(&sealed.nonce)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or("nonce is not 24 hex bytes")?;
    let ct = base64::engine::general_purpose::STANDARD
        .decode(&sealed.ciphertext)
        .map_err(|e| format!("ciphertext is not base64: {e}"))?;
    let plain = XChaCha20Poly1305::new(key.into())
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &ct,
                aad: &aad(instance, seq),
            },
        )
        .map_err(|_| "authentication failed (wrong key, wrong record or altered)".to_string())?;
    serde_json::from_slice(&plain).map_err(|e| format!("decrypted content is not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        // RFC 4231 test case 2 uses a 4-byte key; check the streaming digester against the
        // one-shot helper with a 32-byte key and against a known HMAC-SHA256 vector.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let key = [9u8; 32];
        let mut d = Box::new(HmacDigester::new(&key));
        d.update(b"hello ");
        d.update(b"world");
        assert_eq!(d.finish(), content_hmac(&key, b"hello world"));
        assert_ne!(
            content_hmac(&key, b"hello world"),
            content_hmac(&[8u8; 32], b"hello world")
        );
    }

    #[test]
    fn seal_is_bound_to_key_and_record() {
        let key = [3u8; 32];
        let content = vec![("request".to_string(), "secret text".to_string())];
        let s = seal(&key, "kid", "node", 7, &content).expect("seal");
        assert_eq!(unseal(&key, "node", 7, &s).expect("open"), content);
        assert!(unseal(&[4u8; 32], "node", 7, &s).is_err());
        assert!(unseal(&key, "node", 8, &s).is_err());
        assert!(unseal(&key, "other", 7, &s).is_err());
    }
}
