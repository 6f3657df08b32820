//! PII rules: e-mail addresses, phone numbers, payment cards, IBANs, US SSNs, IP addresses and
//! national IDs, each a bounded regex plus a validator (checksums, ranges, a phone-number
//! library), never a bare regex.
//!
//! Every kind is documented in `PII.md` at the crate root: what the validator checks and what
//! deliberately does not fire.
//!
//! # How the patterns get context without look-around
//!
//! The `regex` crate has no look-around, and a [`Rule`]'s validator sees only the reported span.
//! Context is therefore put into the pattern itself:
//!
//! - *Before* the value, one consumed character that the value may not follow (`(?:^|[^…])`),
//!   outside the named group `s`, so e.g. `v1.2.3.4`, `#4155552671` or `x.1.2.3.4` never start
//!   a candidate. The leading character is never part of the reported span.
//! - *After* the value, only the assertion `(?-u:\b)`: nothing is consumed, so two values one
//!   separator apart are both found. Where a longer token would otherwise be cut short to a
//!   valid prefix (`1.2.3.4.5`, `123-45-6789-01`), the pattern greedily takes the continuation
//!   into `s` and the validator rejects the whole token; a rejected match resumes one character
//!   later, where the leading-context class stops a candidate from starting mid-token.

pub mod card;
pub mod email;
pub mod iban;
pub mod ip;
pub mod national;
pub mod phone;
pub mod ssn;

use glassbox_core::policy::PiiConfig;

use crate::Rule;

/// The most bytes a PII pattern consumes before its reported span (the group `s`): one
/// character of context (≤ 4 bytes) for most kinds, up to `·ABC␠` for phone numbers and cards.
/// A caller that searches from an offset `from` must start the search this many bytes earlier
/// (on a char boundary) to see the same context a whole-text search sees.
pub const MAX_LEADING_CONTEXT: usize = 8;

/// Kinds reported by [`rules`], as `pii.<kind>`; names accepted in `pii.disable`.
const KINDS: &[&str] = &[
    "email",
    "phone",
    "credit_card",
    "iban",
    "us_ssn",
    "ip_address",
    "ip_address_private",
    "uk_nino",
    "de_tax_id",
    "es_dni",
];

/// The PII kinds glassbox knows (`pii.<kind>`), in a stable order.
pub fn kinds() -> Vec<&'static str> {
    KINDS.to_vec()
}

/// The PII rules a `pii:` policy section asks for.
///
/// Kinds named in `cfg.disable` are left out; `pii.ip_address_private` is only emitted when
/// `cfg.private_ip` is set; an empty list when `cfg.enabled` is false.
///
/// # Errors
/// A message naming an unknown kind in `cfg.disable` (with the closest known kind), or a region
/// in `cfg.phone_regions` that the phone-number metadata does not know.
///
/// # Example
/// ```
/// use glassbox_core::policy::PiiConfig;
///
/// let rules = glassbox_patterns::pii::rules(&PiiConfig::default()).unwrap();
/// let card = rules.iter().find(|r| r.kind == "credit_card").unwrap();
/// let re = card.compile().unwrap();
/// let text = "Charge it to 4556 7375 8689 9855, please.";
/// assert_eq!(card.find_all(&re, text), vec![(13, 32)]);
/// ```
pub fn rules(cfg: &PiiConfig) -> Result<Vec<Rule>, String> {
    let unknown: Vec<&str> = cfg
        .disable
        .iter()
        .map(String::as_str)
        .filter(|k| !KINDS.contains(k))
        .collect();
    if let Some(first) = unknown.first() {
        let names = unknown
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let hint = closest(first)
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        return Err(format!(
            "pii.disable: unknown kind {names}{hint}; known kinds: {}",
            KINDS.join(", ")
        ));
    }
    let regions = phone::regions(&cfg.phone_regions)?;
    if !cfg.enabled {
        return Ok(Vec::new());
    }
    let on = |kind: &str| !cfg.disable.iter().any(|d| d == kind);
    let mut out = Vec::new();
    if on("email") {
        out.push(email::rule());
    }
    if on("phone") {
        out.push(phone::rule(regions));
    }
    if on("credit_card") {
        out.push(card::rule());
    }
    if on("iban") {
        out.push(iban::rule());
    }
    if on("us_ssn") {
        out.push(ssn::rule());
    }
    if on("ip_address") {
        out.extend(ip::rules(ip::Class::Public));
    }
    if cfg.private_ip && on("ip_address_private") {
        out.extend(ip::rules(ip::Class::Private));
    }
    if on("uk_nino") {
        out.push(national::uk_nino_rule());
    }
    if on("de_tax_id") {
        out.push(national::de_tax_id_rule());
    }
    if on("es_dni") {
        out.push(national::es_dni_rule());
    }
    Ok(out)
}

/// The known kind closest to `name` by edit distance, if any is reasonably close.
fn closest(name: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, k)| *d <= k.len().max(name.len()) / 2 || k.contains(name) || name.contains(k))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over bytes (kind names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The ASCII digits of `s`, in order.
pub(crate) fn digits(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect()
}

/// Luhn (mod-10) check over decimal digits, the last being the check digit.
pub fn luhn(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_builds_every_kind_but_private_ip() {
        let rules = rules(&PiiConfig::default()).unwrap();
        let mut kinds: Vec<&str> = rules.iter().map(|r| r.kind.as_str()).collect();
        kinds.dedup();
        assert_eq!(
            kinds,
            [
                "email",
                "phone",
                "credit_card",
                "iban",
                "us_ssn",
                "ip_address",
                "uk_nino",
                "de_tax_id",
                "es_dni"
            ]
        );
        assert!(rules.iter().all(|r| r.family == glassbox_core::Family::Pii));
        assert!(
            rules.iter().all(|r| r.validate.is_some()),
            "every PII rule has a validator"
        );
    }

    #[test]
    fn private_ip_and_disable() {
        let cfg = PiiConfig {
            private_ip: true,
            disable: vec!["phone".into(), "ip_address".into()],
            ..PiiConfig::default()
        };
        let rules = rules(&cfg).unwrap();
        assert!(rules.iter().any(|r| r.kind == "ip_address_private"));
        assert!(!rules
            .iter()
            .any(|r| r.kind == "ip_address" || r.kind == "phone"));
    }

    #[test]
    fn disabled_section_is_empty_but_still_checked() {
        let cfg = PiiConfig {
            enabled: false,
            ..PiiConfig::default()
        };
        assert!(rules(&cfg).unwrap().is_empty());
        let cfg = PiiConfig {
            enabled: false,
            disable: vec!["emial".into()],
            ..PiiConfig::default()
        };
        assert!(rules(&cfg).is_err());
    }

    #[test]
    fn unknown_disable_kinds_are_named_with_a_suggestion() {
        let table: &[(&[&str], &str)] = &[
            (&["emial"], "unknown kind `emial` (did you mean `email`?)"),
            (&["creditcard"], "(did you mean `credit_card`?)"),
            (&["ssn"], "(did you mean `us_ssn`?)"),
            (&["ip"], "(did you mean `ip_address`?)"),
            (
                &["phone", "zzzzzzzzzzzz", "ibna"],
                "unknown kind `zzzzzzzzzzzz`, `ibna`; known kinds",
            ),
        ];
        for (disable, want) in table {
            let cfg = PiiConfig {
                disable: disable.iter().map(|s| s.to_string()).collect(),
                ..PiiConfig::default()
            };
            let err = rules(&cfg).unwrap_err();
            assert!(err.contains(want), "{disable:?}: {err}");
            assert!(err.starts_with("pii.disable: "), "{err}");
        }
    }

    #[test]
    fn unknown_phone_region_is_an_error() {
        let cfg = PiiConfig {
            phone_regions: vec!["US".into(), "XQ".into()],
            ..PiiConfig::default()
        };
        let err = rules(&cfg).unwrap_err();
        assert!(err.contains("`XQ`"), "{err}");
    }

    #[test]
    fn kinds_match_rules() {
        let cfg = PiiConfig {
            private_ip: true,
            ..PiiConfig::default()
        };
        let mut built: Vec<String> = rules(&cfg).unwrap().into_iter().map(|r| r.kind).collect();
        built.dedup();
        assert_eq!(built, kinds());
    }

    #[test]
    fn luhn_table() {
        let rows: &[(&str, bool)] = &[
            ("79927398713", true),
            ("79927398710", false),
            ("4556737586899855", true),
            ("4556737586899856", false),
            ("0", true),
            ("", false),
            ("18", true),
            ("59", true),
            ("58", false),
        ];
        for (s, want) in rows {
            assert_eq!(luhn(&digits(s)), *want, "{s}");
        }
    }
}
