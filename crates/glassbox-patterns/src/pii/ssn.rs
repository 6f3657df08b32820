//! `pii.us_ssn`: US Social Security numbers `AAA-GG-SSSS` in the ranges the SSA issues.

use glassbox_core::Family;

use crate::Rule;

/// `AAA-GG-SSSS` or `AAA GG SSSS`; a following `-digits` / `.digits` is taken into the span so
/// that longer identifiers are rejected whole. The leading character may not be part of a
/// number, an identifier, a path or an anchor.
const PATTERN: &str = concat!(
    r"(?:^|[^0-9A-Za-z_.\-/#+@$])",
    r"(?P<s>[0-9]{3}[ \-][0-9]{2}[ \-][0-9]{4}(?:[.\-][0-9]{1,4})?)",
    r"(?-u:\b)",
);

/// Numbers that were printed in advertising or are universally used as examples.
const FAMOUS: &[&str] = &["078-05-1120", "219-09-9999", "123-45-6789"];

/// The `pii.us_ssn` rule.
pub fn rule() -> Rule {
    Rule::new(Family::Pii, "us_ssn", PATTERN).validate(is_ssn)
}

/// Whether `s` is an SSN: one separator kind, area 001–899 except 666, group 01–99, serial
/// 0001–9999, and not one of the famous example numbers.
pub fn is_ssn(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 11 || b[3] != b[6] || !matches!(b[3], b'-' | b' ') {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (Some(area), Some(group), Some(serial)) = (num(0..3), num(4..6), num(7..11)) else {
        return false;
    };
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        return false;
    }
    let dashed = format!("{area:03}-{group:02}-{serial:04}");
    !FAMOUS.contains(&dashed.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_table() {
        let rows: &[(&str, bool, &str)] = &[
            ("536-22-8107", true, "ordinary"),
            ("536 22 8107", true, "spaces"),
            ("536-22 8107", false, "mixed separators"),
            ("001-01-0001", true, "lowest valid"),
            ("899-99-9999", true, "highest area"),
            ("000-22-8107", false, "area 000"),
            ("666-22-8107", false, "area 666"),
            ("900-22-8107", false, "area 9xx (ITIN range)"),
            ("987-65-4321", false, "area 9xx (advertising range)"),
            ("536-00-8107", false, "group 00"),
            ("536-22-0000", false, "serial 0000"),
            ("078-05-1120", false, "Woolworth wallet card"),
            ("219-09-9999", false, "Social Security Board pamphlet"),
            ("123-45-6789", false, "the universal example"),
            ("536-22-8107-1", false, "longer identifier"),
            ("53622-8107", false, "wrong shape"),
        ];
        for (s, want, why) in rows {
            assert_eq!(is_ssn(s), *want, "{s}: {why}");
        }
    }
}
