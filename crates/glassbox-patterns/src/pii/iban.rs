//! `pii.iban`: International Bank Account Numbers — country code, check digits and a BBAN of
//! the country's registered length and format, mod-97 == 1.

use std::collections::BTreeMap;

use glassbox_core::Family;

use crate::Rule;

/// The IBAN registry: country, IBAN length, BBAN format in the registry's notation (`4!n`: four
/// digits, `6!a`: six capital letters, `12!c`: twelve capital letters or digits).
///
/// From the SWIFT IBAN registry (as published in machine-readable form by the `schwifty`
/// project, 2026-10), including the territories that have their own country code.
const REGISTRY: &[(&str, usize, &str)] = &[
    ("AD", 24, "4!n4!n12!c"),
    ("AE", 23, "3!n16!n"),
    ("AL", 28, "8!n16!c"),
    ("AT", 20, "5!n11!n"),
    ("AX", 18, "3!n11!n"),
    ("AZ", 28, "4!a20!c"),
    ("BA", 20, "3!n3!n8!n2!n"),
    ("BE", 16, "3!n7!n2!n"),
    ("BG", 22, "4!a4!n2!n8!c"),
    ("BH", 22, "4!a14!c"),
    ("BI", 27, "5!n5!n11!n2!n"),
    ("BL", 27, "5!n5!n11!c2!n"),
    ("BR", 29, "8!c5!n10!n1!c1!c"),
    ("BY", 28, "4!c4!n16!c"),
    ("CH", 21, "5!n12!c"),
    ("CR", 22, "4!n14!n"),
    ("CY", 28, "3!n5!n16!c"),
    ("CZ", 24, "4!n16!n"),
    ("DE", 22, "8!n10!n"),
    ("DJ", 27, "5!n5!n11!n2!n"),
    ("DK", 18, "4!n9!n1!n"),
    ("DO", 28, "4!c20!n"),
    ("EE", 20, "2!n14!n"),
    ("EG", 29, "4!n4!n17!n"),
    ("ES", 24, "4!n4!n1!n1!n10!n"),
    ("FI", 18, "3!n11!n"),
    ("FK", 18, "2!a12!n"),
    ("FO", 18, "4!n9!n1!n"),
    ("FR", 27, "5!n5!n11!c2!n"),
    ("GB", 22, "4!a6!n8!n"),
    ("GE", 22, "2!a16!n"),
    ("GF", 27, "5!n5!n11!c2!n"),
    ("GG", 22, "4!a6!n8!n"),
    ("GI", 23, "4!a15!c"),
    ("GL", 18, "4!n9!n1!n"),
    ("GP", 27, "5!n5!n11!c2!n"),
    ("GR", 27, "3!n4!n16!c"),
    ("GT", 28, "4!c20!c"),
    ("HN", 28, "4!a20!n"),
    ("HR", 21, "7!n10!n"),
    ("HU", 28, "3!n4!n1!n15!n1!n"),
    ("IE", 22, "4!a6!n8!n"),
    ("IL", 23, "3!n3!n13!n"),
    ("IM", 22, "4!a6!n8!n"),
    ("IQ", 23, "4!a3!n12!n"),
    ("IS", 26, "4!n2!n6!n10!n"),
    ("IT", 27, "1!a5!n5!n12!c"),
    ("JE", 22, "4!a6!n8!n"),
    ("JO", 30, "4!a4!n18!c"),
    ("KW", 30, "4!a22!c"),
    ("KZ", 20, "3!n13!c"),
    ("LB", 28, "4!n20!c"),
    ("LC", 32, "4!a24!c"),
    ("LI", 21, "5!n12!c"),
    ("LT", 20, "5!n11!n"),
    ("LU", 20, "3!n13!c"),
    ("LV", 21, "4!a13!c"),
    ("LY", 25, "3!n3!n15!n"),
    ("MC", 27, "5!n5!n11!c2!n"),
    ("MD", 24, "2!c18!c"),
    ("ME", 22, "3!n13!n2!n"),
    ("MF", 27, "5!n5!n11!c2!n"),
    ("MK", 19, "3!n10!c2!n"),
    ("MN", 20, "4!n12!n"),
    ("MQ", 27, "5!n5!n11!c2!n"),
    ("MR", 27, "5!n5!n11!n2!n"),
    ("MT", 31, "4!a5!n18!c"),
    ("MU", 30, "4!a2!n2!n12!n3!n3!a"),
    ("NC", 27, "5!n5!n11!c2!n"),
    ("NI", 28, "4!a20!n"),
    ("NL", 18, "4!a10!n"),
    ("NO", 15, "4!n6!n1!n"),
    ("OM", 23, "3!n16!c"),
    ("PF", 27, "5!n5!n11!c2!n"),
    ("PK", 24, "4!a16!c"),
    ("PL", 28, "8!n16!n"),
    ("PM", 27, "5!n5!n11!c2!n"),
    ("PS", 29, "4!a21!c"),
    ("PT", 25, "4!n4!n11!n2!n"),
    ("QA", 29, "4!a21!c"),
    ("RE", 27, "5!n5!n11!c2!n"),
    ("RO", 24, "4!a16!c"),
    ("RS", 22, "3!n13!n2!n"),
    ("RU", 33, "9!n5!n15!c"),
    ("SA", 24, "2!n18!c"),
    ("SC", 31, "4!a2!n2!n16!n3!a"),
    ("SD", 18, "2!n12!n"),
    ("SE", 24, "3!n16!n1!n"),
    ("SI", 19, "5!n8!n2!n"),
    ("SK", 24, "4!n6!n10!n"),
    ("SM", 27, "1!a5!n5!n12!c"),
    ("SO", 23, "4!n3!n12!n"),
    ("ST", 25, "4!n4!n11!n2!n"),
    ("SV", 28, "4!a20!n"),
    ("TF", 27, "5!n5!n11!c2!n"),
    ("TL", 23, "3!n14!n2!n"),
    ("TN", 24, "2!n3!n13!n2!n"),
    ("TR", 26, "5!n1!n16!c"),
    ("UA", 29, "6!n19!c"),
    ("VA", 22, "3!n15!n"),
    ("VG", 24, "4!a16!n"),
    ("WF", 27, "5!n5!n11!c2!n"),
    ("XK", 20, "4!n10!n2!n"),
    ("YE", 30, "4!a4!n18!c"),
    ("YT", 27, "5!n5!n11!c2!n"),
];

/// Published specimen IBANs (the registry's and standards' examples): not a person's account.
const SPECIMENS: &[&str] = &[
    "DE89370400440532013000",
    "GB82WEST12345698765432",
    "GB29NWBK60161331926819",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "CH9300762011623852957",
    "ES9121000418450200051332",
    "IT60X0542811101000000123456",
    "BE68539007547034",
    "AT611904300234573201",
];

/// The `pii.iban` rule: one alternative per BBAN length, each listing its countries, so a
/// candidate has exactly its country's length; groups of four may be separated by single spaces.
pub fn rule() -> Rule {
    Rule::new(Family::Pii, "iban", pattern()).validate(is_iban)
}

/// The rule's pattern, built from [`REGISTRY`].
fn pattern() -> String {
    let mut by_len: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for &(cc, len, _) in REGISTRY {
        by_len.entry(len - 4).or_default().push(cc);
    }
    let alternatives: Vec<String> = by_len
        .iter()
        .rev()
        .map(|(bban, ccs)| {
            let (full, rest) = (bban / 4, bban % 4);
            let mut alt = format!(
                "(?:{})[0-9]{{2}}(?: ?[A-Z0-9]{{4}}){{{full}}}",
                ccs.join("|")
            );
            if rest > 0 {
                alt.push_str(&format!(" ?[A-Z0-9]{{{rest}}}"));
            }
            alt
        })
        .collect();
    format!(
        r"(?:^|[^0-9A-Za-z_])(?P<s>{})(?-u:\b)",
        alternatives.join("|")
    )
}

/// Whether `s` is an IBAN: a registered country, its exact length, its BBAN format, spaces
/// either absent or after every group of four, check digits 02–98, mod-97 == 1, and not a
/// published specimen.
pub fn is_iban(s: &str) -> bool {
    if s.contains(' ') {
        let groups: Vec<&str> = s.split(' ').collect();
        let (last, full) = groups.split_last().unwrap_or((&"", &[]));
        if full.iter().any(|g| g.len() != 4) || last.is_empty() || last.len() > 4 {
            return false;
        }
    }
    let compact: String = s.chars().filter(|&c| c != ' ').collect();
    let Some(&(_, len, spec)) = REGISTRY.iter().find(|(cc, _, _)| compact.starts_with(cc)) else {
        return false;
    };
    if compact.len() != len || !compact.is_ascii() {
        return false;
    }
    let check = &compact[2..4];
    if !check.bytes().all(|b| b.is_ascii_digit()) || check == "00" || check == "01" || check == "99"
    {
        return false;
    }
    if !bban_matches(&compact[4..], spec) {
        return false;
    }
    mod97(&compact) == Some(1) && !SPECIMENS.contains(&compact.as_str())
}

/// Whether `bban` follows a registry format such as `4!a6!n8!n`.
fn bban_matches(bban: &str, spec: &str) -> bool {
    let mut rest = bban.as_bytes();
    let mut count = 0usize;
    for c in spec.bytes() {
        match c {
            b'0'..=b'9' => count = count * 10 + usize::from(c - b'0'),
            b'!' => {}
            b'n' | b'a' | b'c' => {
                if rest.len() < count {
                    return false;
                }
                let (head, tail) = rest.split_at(count);
                let ok = match c {
                    b'n' => head.iter().all(u8::is_ascii_digit),
                    b'a' => head.iter().all(u8::is_ascii_uppercase),
                    _ => head
                        .iter()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
                };
                if !ok {
                    return false;
                }
                rest = tail;
                count = 0;
            }
            _ => return false,
        }
    }
    rest.is_empty()
}

/// ISO 7064 MOD 97-10 over an IBAN: the first four characters moved to the end, letters as
/// 10–35. `None` for a character other than a digit or a capital letter.
pub fn mod97(iban: &str) -> Option<u32> {
    let b = iban.as_bytes();
    if b.len() < 4 {
        return None;
    }
    let mut r: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        match c {
            b'0'..=b'9' => r = (r * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => r = (r * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return None,
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod97_table() {
        let rows: &[(&str, Option<u32>)] = &[
            ("DE89370400440532013000", Some(1)),
            ("DE88370400440532013000", Some(0)),
            ("GB82WEST12345698765432", Some(1)),
            ("de89370400440532013000", None),
            ("DE8", None),
        ];
        for (s, want) in rows {
            assert_eq!(mod97(s), *want, "{s}");
        }
    }

    #[test]
    fn validator_table() {
        let rows: &[(&str, bool, &str)] = &[
            ("DE75512108001245126199", true, "DE plain"),
            ("DE75 5121 0800 1245 1261 99", true, "DE grouped"),
            ("DE75 5121 0800 1245 1261 98", false, "mod-97 fails"),
            ("DE75 51210800 1245 1261 99", false, "grouping not by four"),
            ("DE7551210800124512619", false, "one character short"),
            ("DE89370400440532013000", false, "published specimen"),
            ("GB33BUKB20201555555555", true, "GB"),
            (
                "GB33 1UKB 2020 1555 5555 55",
                false,
                "GB bank code must be letters",
            ),
            ("XX75512108001245126199", false, "unknown country"),
            ("NO9386011117947", true, "shortest (NO)"),
            ("FR7630006000011234567890189", true, "FR"),
        ];
        for (s, want, why) in rows {
            assert_eq!(is_iban(s), *want, "{s}: {why}");
        }
    }

    #[test]
    fn registry_is_consistent() {
        for &(cc, len, spec) in REGISTRY {
            assert!(
                cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_uppercase()),
                "{cc}"
            );
            let bban: usize = spec
                .split(|c: char| !c.is_ascii_digit())
                .filter(|p| !p.is_empty())
                .map(|p| p.parse::<usize>().unwrap())
                .sum();
            assert_eq!(bban + 4, len, "{cc}: {spec}");
        }
    }
}
