//! National identifiers with a check digit or strict allocation rules: UK National Insurance
//! numbers (`pii.uk_nino`), German tax IDs (`pii.de_tax_id`) and Spanish DNI/NIE numbers
//! (`pii.es_dni`).

use glassbox_core::Family;

use super::digits;
use crate::Rule;

/// `AB 12 34 56 C` or `AB123456C`: letters the allocation rules allow in each position.
const NINO_PATTERN: &str = concat!(
    r"(?:^|[^0-9A-Za-z_])",
    r"(?P<s>[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D])",
    r"(?-u:\b)",
);

/// Eleven digits, first not `0`, plain or printed `12 345 678 901`.
const DE_TAX_ID_PATTERN: &str = concat!(
    r"(?:^|[^0-9A-Za-z_.\-/#+@$€])",
    r"(?P<s>[1-9][0-9] ?[0-9]{3} ?[0-9]{3} ?[0-9]{3})",
    r"(?-u:\b)",
);

/// DNI `12345678Z` / `12345678-Z` or NIE `X1234567L`.
const ES_DNI_PATTERN: &str = concat!(
    r"(?:^|[^0-9A-Za-z_.\-/#+@$€])",
    r"(?P<s>(?:[0-9]{8}|[XYZ][0-9]{7})-?[A-Z])",
    r"(?-u:\b)",
);

/// The `pii.uk_nino` rule (no check digit exists: allocation rules only, score 0.9).
pub(crate) fn uk_nino_rule() -> Rule {
    Rule::new(Family::Pii, "uk_nino", NINO_PATTERN)
        .validate(is_uk_nino)
        .score(0.9)
}

/// The `pii.de_tax_id` rule.
pub(crate) fn de_tax_id_rule() -> Rule {
    Rule::new(Family::Pii, "de_tax_id", DE_TAX_ID_PATTERN).validate(is_de_tax_id)
}

/// The `pii.es_dni` rule.
pub(crate) fn es_dni_rule() -> Rule {
    Rule::new(Family::Pii, "es_dni", ES_DNI_PATTERN).validate(is_es_dni)
}

/// Whether `s` is a UK National Insurance number: first letter not D, F, I, Q, U, V; second not
/// D, F, I, O, Q, U, V; prefix not BG, GB, KN, NK, NT, TN, ZZ (never allocated); suffix A–D;
/// spaces either absent or exactly `AB 12 34 56 C`; not the sequential example digits `123456`.
pub fn is_uk_nino(s: &str) -> bool {
    let compact: String = s.chars().filter(|&c| c != ' ').collect();
    if s.contains(' ') && s.len() != 13 {
        return false;
    }
    let b = compact.as_bytes();
    if b.len() != 9 || !b[2..8].iter().all(u8::is_ascii_digit) || !(b'A'..=b'D').contains(&b[8]) {
        return false;
    }
    if b"DFIQUV".contains(&b[0]) || b"DFIOQUV".contains(&b[1]) {
        return false;
    }
    let prefix = &compact[..2];
    !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(&prefix) && &compact[2..8] != "123456"
}

/// Whether `s` is a German tax identification number (Steuer-IdNr): 11 digits, first not 0,
/// spaces either absent or `12 345 678 901`; in the first ten digits exactly one digit occurs
/// two or three times (three not all adjacent) and the rest at most once; ISO 7064 MOD 11,10
/// check digit.
pub fn is_de_tax_id(s: &str) -> bool {
    if s.contains(' ') && s.len() != 14 {
        return false;
    }
    let d = digits(s);
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        counts[usize::from(x)] += 1;
    }
    let repeated: Vec<usize> = (0..10).filter(|&i| counts[i] > 1).collect();
    let [r] = repeated.as_slice() else {
        return false;
    };
    if counts[*r] > 3 {
        return false;
    }
    if counts[*r] == 3
        && d[..10]
            .windows(3)
            .any(|w| w.iter().all(|&x| usize::from(x) == *r))
    {
        return false;
    }
    de_tax_check_digit(&d[..10]) == d[10]
}

/// ISO 7064 MOD 11,10 check digit over ten digits.
pub fn de_tax_check_digit(first10: &[u8]) -> u8 {
    let mut product = 10u8;
    for &x in first10 {
        let mut sum = (x + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = 11 - product;
    if check == 10 {
        0
    } else {
        check
    }
}

/// Whether `s` is a Spanish DNI (8 digits) or NIE (`X`/`Y`/`Z` + 7 digits) whose letter is
/// `TRWAGMYFPDXBNJZSQVHLCKE[n mod 23]`; not the example `12345678Z`.
pub fn is_es_dni(s: &str) -> bool {
    const LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let compact: String = s.chars().filter(|&c| c != '-').collect();
    let b = compact.as_bytes();
    if b.len() != 9 {
        return false;
    }
    let lead = match b[0] {
        b'X' => 0,
        b'Y' => 1,
        b'Z' => 2,
        d if d.is_ascii_digit() => u32::from(d - b'0'),
        _ => return false,
    };
    let Ok(rest) = compact[1..8].parse::<u32>() else {
        return false;
    };
    let n = lead * 10_000_000 + rest;
    LETTERS[(n % 23) as usize] == b[8] && compact != "12345678Z" && n != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uk_nino_table() {
        let rows: &[(&str, bool, &str)] = &[
            ("JG 10 37 48 B", true, "spaced"),
            ("JG103748B", true, "compact"),
            ("JG 1037 48 B", false, "odd spacing"),
            ("QQ 10 37 48 B", false, "Q never first"),
            ("JO 10 37 48 B", false, "O never second"),
            ("GB 10 37 48 B", false, "GB never allocated"),
            ("NK103748A", false, "NK never allocated"),
            ("JG103748E", false, "suffix A-D only"),
            ("AB123456C", false, "sequential example"),
        ];
        for (s, want, why) in rows {
            assert_eq!(is_uk_nino(s), *want, "{s}: {why}");
        }
    }

    #[test]
    fn de_tax_id_table() {
        let rows: &[(&str, bool, &str)] = &[
            ("52693074139", true, "one digit twice"),
            ("52 693 074 139", true, "printed"),
            ("5269 3074 139", false, "odd spacing"),
            ("52693074138", false, "check digit"),
            ("65929970489", true, "one digit three times, not adjacent"),
            ("02693074139", false, "leading zero"),
            ("12345678903", false, "no repeated digit"),
            ("11111111116", false, "one digit ten times"),
            ("52693074593", false, "two digits repeated"),
        ];
        for (s, want, why) in rows {
            assert_eq!(is_de_tax_id(s), *want, "{s}: {why}");
        }
    }

    #[test]
    fn es_dni_table() {
        let rows: &[(&str, bool, &str)] = &[
            ("48291735S", true, "DNI"),
            ("48291735-S", true, "DNI with dash"),
            ("48291735T", false, "wrong letter"),
            ("Y4839201S", true, "NIE"),
            ("X1234567L", true, "NIE with X"),
            ("12345678Z", false, "the example number"),
            ("00000000T", false, "zero"),
        ];
        for (s, want, why) in rows {
            assert_eq!(is_es_dni(s), *want, "{s}: {why}");
        }
    }
}
