//! Key files: the Ed25519 checkpoint key pair, the HMAC deployment key for content digests and
//! the optional raw-content key. Each is one line of text: a type tag and 64 hex digits.
//! Secret keys are written with mode 0600, public keys 0644; existing files are never replaced.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::AuditError;

const SECRET_TAG: &str = "glassbox-audit-ed25519-secret-v1";
const PUBLIC_TAG: &str = "glassbox-audit-ed25519-public-v1";
const HMAC_TAG: &str = "glassbox-audit-hmac-sha256-v1";
const CONTENT_TAG: &str = "glassbox-audit-xchacha20poly1305-v1";

/// File name of the signing key written by [`keygen`].
pub const SIGNING_KEY_FILE: &str = "audit-signing.key";
/// File name of the public key written by [`keygen`].
pub const PUBLIC_KEY_FILE: &str = "audit-signing.pub";
/// File name of the HMAC deployment key written by [`keygen`].
pub const HMAC_KEY_FILE: &str = "audit-hmac.key";
/// File name of the raw-content key written by [`keygen`] when asked.
pub const CONTENT_KEY_FILE: &str = "audit-content.key";

/// 32 random bytes from the operating system.
///
/// # Errors
/// When the OS has no randomness to give.
pub fn random_key() -> Result<[u8; 32], AuditError> {
    let mut k = [0u8; 32];
    getrandom::fill(&mut k).map_err(|e| AuditError::Config(format!("no OS randomness: {e}")))?;
    Ok(k)
}

fn key_id(domain: &[u8], key: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(domain);
    h.update(key);
    hex::encode(&h.finalize()[..8])
}

/// Id of a public key: hex of the first 8 bytes of SHA-256 of its 32 bytes.
pub fn public_key_id(key: &VerifyingKey) -> String {
    key_id(b"", key.as_bytes())
}

/// Id of an HMAC deployment key (not secret; identifies which key digests were made under).
pub fn hmac_key_id(key: &[u8; 32]) -> String {
    key_id(b"glassbox-audit/hmac-key-id/v1\0", key)
}

/// Id of a raw-content key.
pub fn content_key_id(key: &[u8; 32]) -> String {
    key_id(b"glassbox-audit/content-key-id/v1\0", key)
}

fn read_tagged(path: &Path, tag: &str) -> Result<[u8; 32], AuditError> {
    let text = std::fs::read_to_string(path).map_err(|e| AuditError::io(path, e))?;
    let bad = |reason: String| AuditError::BadKey {
        path: path.to_path_buf(),
        reason,
    };
    let line = text.trim();
    let (t, hexpart) = line
        .split_once(' ')
        .ok_or_else(|| bad(format!("expected `{tag} <64 hex digits>` on line 1")))?;
    if t != tag {
        return Err(bad(format!("line 1 starts with `{t}`, expected `{tag}`")));
    }
    let bytes = hex::decode(hexpart.trim())
        .map_err(|e| bad(format!("line 1, column {}: {e}", t.len() + 2)))?;
    bytes
        .try_into()
        .map_err(|v: Vec<u8>| bad(format!("key is {} bytes, expected 32", v.len())))
}

fn write_new(path: &Path, contents: &str, secret: bool) -> Result<(), AuditError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    let _ = secret;
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            AuditError::Config(format!(
                "{} exists; refusing to replace a key (move it away first)",
                path.display()
            ))
        } else {
            AuditError::io(path, e)
        }
    })?;
    f.write_all(contents.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| AuditError::io(path, e))
}

/// Reads a signing key written by [`keygen`].
///
/// # Errors
/// The file is missing, unreadable, or not a signing key (the message says which line and why).
pub fn load_signing_key(path: &Path) -> Result<SigningKey, AuditError> {
    Ok(SigningKey::from_bytes(&read_tagged(path, SECRET_TAG)?))
}

/// Reads a public key written by [`keygen`].
///
/// # Errors
/// As [`load_signing_key`], and when the bytes are not a valid Ed25519 point.
pub fn load_public_key(path: &Path) -> Result<VerifyingKey, AuditError> {
    let b = read_tagged(path, PUBLIC_TAG)?;
    VerifyingKey::from_bytes(&b).map_err(|e| AuditError::BadKey {
        path: path.to_path_buf(),
        reason: format!("not an Ed25519 public key: {e}"),
    })
}

/// Reads an HMAC deployment key.
///
/// # Errors
/// As [`load_signing_key`].
pub fn load_hmac_key(path: &Path) -> Result<[u8; 32], AuditError> {
    read_tagged(path, HMAC_TAG)
}

/// Reads a raw-content key.
///
/// # Errors
/// As [`load_signing_key`].
pub fn load_content_key(path: &Path) -> Result<[u8; 32], AuditError> {
    read_tagged(path, CONTENT_TAG)
}

/// The files [`keygen`] wrote.
#[derive(Debug, Clone)]
pub struct KeyFiles {
    /// The Ed25519 signing key (0600).
    pub signing_key: PathBuf,
    /// The public key (0644): all `verify` needs.
    pub public_key: PathBuf,
    /// The HMAC deployment key (0600).
    pub hmac_key: PathBuf,
    /// The raw-content key (0600), when asked for.
    pub content_key: Option<PathBuf>,
    /// Id of the public key.
    pub key_id: String,
}

/// Writes a new key set into `dir` (created 0700 if missing): signing key, public key, HMAC key,
/// and with `content_key` a raw-content key. Never replaces an existing file.
///
/// # Errors
/// A key file already exists, the directory cannot be created, or the OS has no randomness.
pub fn keygen(dir: &Path, content_key: bool) -> Result<KeyFiles, AuditError> {
    if !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(dir).map_err(|e| AuditError::io(dir, e))?;
    }
    let files = KeyFiles {
        signing_key: dir.join(SIGNING_KEY_FILE),
        public_key: dir.join(PUBLIC_KEY_FILE),
        hmac_key: dir.join(HMAC_KEY_FILE),
        content_key: content_key.then(|| dir.join(CONTENT_KEY_FILE)),
        key_id: String::new(),
    };
    let mut all = vec![&files.signing_key, &files.public_key, &files.hmac_key];
    all.extend(files.content_key.as_ref());
    if let Some(p) = all.iter().find(|p| p.exists()) {
        return Err(AuditError::Config(format!(
            "{} exists; refusing to replace a key (choose another --out)",
            p.display()
        )));
    }
    let sk = SigningKey::from_bytes(&random_key()?);
    let pk = sk.verifying_key();
    write_new(
        &files.signing_key,
        &format!("{SECRET_TAG} {}\n", hex::encode(sk.to_bytes())),
        true,
    )?;
    write_new(
        &files.public_key,
        &format!("{PUBLIC_TAG} {}\n", hex::encode(pk.as_bytes())),
        false,
    )?;
    write_new(
        &files.hmac_key,
        &format!("{HMAC_TAG} {}\n", hex::encode(random_key()?)),
        true,
    )?;
    if let Some(p) = &files.content_key {
        write_new(
            p,
            &format!("{CONTENT_TAG} {}\n", hex::encode(random_key()?)),
            true,
        )?;
    }
    Ok(KeyFiles {
        key_id: public_key_id(&pk),
        ..files
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "gb-audit-keys-{name}-{}-{}",
            std::process::id(),
            crate::time::now_ms()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn keygen_round_trip_and_permissions() {
        let d = tmp("rt");
        let f = keygen(&d, true).expect("keygen");
        let sk = load_signing_key(&f.signing_key).expect("sk");
        let pk = load_public_key(&f.public_key).expect("pk");
        assert_eq!(sk.verifying_key(), pk);
        assert_eq!(public_key_id(&pk), f.key_id);
        load_hmac_key(&f.hmac_key).expect("hmac");
        load_content_key(f.content_key.as_ref().expect("asked")).expect("content");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&f.signing_key), 0o600);
            assert_eq!(mode(&f.hmac_key), 0o600);
            assert_eq!(mode(&f.public_key), 0o644);
        }
        // A second keygen into the same directory refuses to replace anything.
        let e = keygen(&d, false).expect_err("must refuse");
        assert!(e.to_string().contains("refusing to replace"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn bad_key_files_say_why() {
        let d = tmp("bad");
        std::fs::create_dir_all(&d).expect("dir");
        let cases = [
            ("empty", "", "expected `"),
            ("tag", "ssh-ed25519 00", "starts with `ssh-ed25519`"),
            ("hex", &format!("{PUBLIC_TAG} zz"), "column"),
            (
                "short",
                &format!("{PUBLIC_TAG} 0011"),
                "2 bytes, expected 32",
            ),
        ];
        for (name, text, want) in cases {
            let p = d.join(name);
            std::fs::write(&p, text).expect("write");
            let e = load_public_key(&p).expect_err(name).to_string();
            assert!(e.contains(want) && e.contains(name), "{name}: {e}");
        }
        let _ = std::fs::remove_dir_all(&d);
    }
}
