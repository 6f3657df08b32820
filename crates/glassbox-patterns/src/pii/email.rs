//! `pii.email`: e-mail addresses with a bounded local part and a validated domain.

use glassbox_core::Family;

use crate::Rule;

/// Local part (≤ 64) `@` domain (≤ 253) ending in an alphabetic TLD. The leading character may
/// not be part of an address, a path or a URL user-info (`/`), so no candidate starts mid-token.
const PATTERN: &str = concat!(
    r"(?:^|[^0-9A-Za-z_.%+\-/@])",
    r"(?P<s>[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9.\-]{1,252}\.[A-Za-z]{2,24})",
    r"(?-u:\b)",
);

/// Local parts of service accounts that are not a person: `git@github.com:org/repo` is an SSH
/// remote, not an e-mail address.
const SERVICE_USERS: &[&str] = &["git"];

/// Domains reserved for examples and testing (RFC 2606, RFC 6761): never a real mailbox.
const RESERVED_DOMAINS: &[&str] = &["example.com", "example.net", "example.org"];
const RESERVED_TLDS: &[&str] = &["example", "test", "invalid", "localhost"];

/// File extensions that are not top-level domains: `icon@2x.png` is an image, not an address.
/// (Extensions that *are* TLDs, such as `.zip`, `.mov` or `.py`, are kept.)
const FILE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "avif", "heic", "css",
    "scss", "less", "js", "mjs", "cjs", "ts", "tsx", "jsx", "vue", "json", "map", "wasm", "woff",
    "woff2", "ttf", "otf", "eot", "txt", "html", "htm", "xml", "yml", "yaml", "toml", "lock",
    "pdf", "mp3", "mp4", "wav", "ogg", "webm", "mkv", "avi", "psd", "csv", "tsv", "log", "ini",
    "cfg", "conf", "bak", "tmp", "jar", "dll", "exe", "whl", "gz", "tgz", "bz2", "xz", "rar",
    "java", "kt", "swift", "cpp", "hpp", "cc", "hh",
];

/// The `pii.email` rule.
pub fn rule() -> Rule {
    Rule::new(Family::Pii, "email", PATTERN).validate(is_email)
}

/// Whether `s` is a plausible personal e-mail address: local part 1–64 bytes without leading,
/// trailing or doubled dots; domain ≤ 253 bytes of 1–63-byte labels not starting or ending with
/// `-`; an alphabetic TLD that is not a file extension; not a reserved example domain and not a
/// service account (`git@`).
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    if local.is_empty()
        || local.len() > 64
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
        || local.contains('@')
    {
        return false;
    }
    if SERVICE_USERS.iter().any(|u| local.eq_ignore_ascii_case(u)) {
        return false;
    }
    if domain.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    for label in &labels {
        if label.is_empty()
            || label.len() > 63
            || label.starts_with('-')
            || label.ends_with('-')
            || !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return false;
        }
    }
    let tld = labels[labels.len() - 1].to_ascii_lowercase();
    if tld.len() < 2 || !tld.bytes().all(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    if FILE_EXTENSIONS.contains(&tld.as_str()) || RESERVED_TLDS.contains(&tld.as_str()) {
        return false;
    }
    let lower = domain.to_ascii_lowercase();
    !RESERVED_DOMAINS
        .iter()
        .any(|d| lower == *d || lower.ends_with(&format!(".{d}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_table() {
        let rows: &[(&str, bool, &str)] = &[
            ("jane.doe@northwind-traders.com", true, "plain"),
            ("j+tag@mail.acme.co.uk", true, "plus tag, multi-label"),
            ("A_B%c@x-y.io", true, "unusual local chars"),
            ("a@b.c", false, "one-letter TLD"),
            ("a@localhost", false, "no dot"),
            (".jane@acme.com", false, "leading dot"),
            ("jane.@acme.com", false, "trailing dot"),
            ("ja..ne@acme.com", false, "double dot"),
            ("jane@acme..com", false, "empty label"),
            ("jane@-acme.com", false, "label starts with dash"),
            ("jane@acme-.com", false, "label ends with dash"),
            ("jane@acme.c0m", false, "digit in TLD"),
            ("icon@2x.png", false, "retina asset"),
            ("logo@3x.webp", false, "retina asset"),
            ("git@github.com", false, "ssh service user"),
            ("GIT@gitlab.com", false, "ssh service user, any case"),
            ("jane@example.com", false, "RFC 2606"),
            ("jane@mail.example.org", false, "RFC 2606 subdomain"),
            ("jane@shop.test", false, "RFC 6761 .test"),
            ("jane@notexample.com", true, "only the reserved name itself"),
            ("files@backup.zip", true, ".zip is a real TLD"),
        ];
        for (s, want, why) in rows {
            assert_eq!(is_email(s), *want, "{s}: {why}");
        }
        let long_local = format!("{}@acme.com", "a".repeat(65));
        assert!(!is_email(&long_local));
        let long_label = format!("jane@{}.com", "a".repeat(64));
        assert!(!is_email(&long_label));
        let long_domain = format!("jane@{}com", "abcdefghi.".repeat(26));
        assert!(long_domain.len() - 5 > 253);
        assert!(!is_email(&long_domain));
    }
}
