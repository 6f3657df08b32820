//! `pii.credit_card`: payment card numbers (PANs) that pass Luhn and match an issuer's prefix
//! and length.

use glassbox_core::Family;

use super::{digits, luhn};
use crate::Rule;

/// 13–19 digits unbroken, or a first group of four followed by up to five groups separated by
/// spaces or dashes (the validator checks the grouping). The leading character may not be part
/// of a number, an identifier, a UUID (`-`), a path or an amount; a leading space may
/// follow a digit or a capital only in `UK 4539 …`-like abbreviations of one to three capitals
/// (a group inside an IBAN or a longer number).
const PATTERN: &str = concat!(
    r"(?:^|[^0-9A-Za-z_.\-/#+@$€£¥ ]|(?:^|[^0-9A-Z]) |(?:^|[^0-9A-Za-z])[A-Z]{1,3} )",
    r"(?P<s>[0-9]{13,19}|[0-9]{4}(?:[ \-][0-9]{1,6}){1,5})",
    r"(?-u:\b)",
);

/// Card network test numbers published in payment providers' documentation: not a person's card.
const TEST_PANS: &[&str] = &[
    "4111111111111111",
    "4242424242424242",
    "4012888888881881",
    "4000056655665556",
    "5555555555554444",
    "5105105105105100",
    "2223003122003222",
    "378282246310005",
    "371449635398431",
    "6011111111111117",
    "6011000990139424",
    "3056930009020004",
    "36227206271667",
    "3566002020360505",
    "6200000000000005",
];

/// A card network, by issuer identification number range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issuer {
    /// Visa: `4`, 13, 16 or 19 digits.
    Visa,
    /// Mastercard: `51`–`55` and `2221`–`2720`, 16 digits.
    Mastercard,
    /// American Express: `34`, `37`, 15 digits.
    Amex,
    /// Discover: `6011`, `644`–`649`, `65`, and `622126`–`622925`, 16–19 digits.
    Discover,
    /// JCB: `3528`–`3589`, 16–19 digits.
    Jcb,
    /// Diners Club: `300`–`305`, `3095`, `36`, `38`, `39`, 14–19 digits.
    Diners,
    /// UnionPay: `62`, 16–19 digits.
    UnionPay,
    /// Maestro: `5018`, `5020`, `5038`, `5893`, `6304`, `6759`, `6761`–`6763`, 13–19 digits.
    Maestro,
    /// Mir: `2200`–`2204`, 16–19 digits.
    Mir,
}

/// The issuer whose prefix and length `digits` match, if any.
pub fn issuer(digits: &[u8]) -> Option<Issuer> {
    let n = digits.len();
    let prefix = |k: usize| -> u32 { digits.iter().take(k).fold(0, |a, &d| a * 10 + u32::from(d)) };
    if !(13..=19).contains(&n) {
        return None;
    }
    let (p1, p2, p3, p4, p6) = (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6));
    // Most specific ranges first: Discover's co-branded 622126–622925 sits inside UnionPay's 62.
    if (622_126..=622_925).contains(&p6) && (16..=19).contains(&n) {
        return Some(Issuer::Discover);
    }
    if matches!(p4, 5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761..=6763) {
        return Some(Issuer::Maestro);
    }
    if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 {
        return (16..=19).contains(&n).then_some(Issuer::Discover);
    }
    if (2200..=2204).contains(&p4) {
        return (16..=19).contains(&n).then_some(Issuer::Mir);
    }
    if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) {
        return (n == 16).then_some(Issuer::Mastercard);
    }
    if p2 == 34 || p2 == 37 {
        return (n == 15).then_some(Issuer::Amex);
    }
    if (3528..=3589).contains(&p4) {
        return (16..=19).contains(&n).then_some(Issuer::Jcb);
    }
    if (300..=305).contains(&p3) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39 {
        return (14..=19).contains(&n).then_some(Issuer::Diners);
    }
    if p2 == 62 {
        return (16..=19).contains(&n).then_some(Issuer::UnionPay);
    }
    if p1 == 4 {
        return matches!(n, 13 | 16 | 19).then_some(Issuer::Visa);
    }
    None
}

/// The `pii.credit_card` rule.
pub fn rule() -> Rule {
    Rule::new(Family::Pii, "credit_card", PATTERN).validate(is_card)
}

/// Whether `s` is a card number: one kind of separator used consistently in a standard grouping
/// (`4-4-4-4`, `4-4-4-4-3`, `4-4-4-1…4`, `4-6-5`, `4-6-4`, `4-3-3-3`), Luhn, an issuer's prefix
/// and length, and not a published test number.
pub fn is_card(s: &str) -> bool {
    let d = digits(s);
    if !(13..=19).contains(&d.len()) {
        return false;
    }
    let seps: Vec<char> = s.chars().filter(|c| !c.is_ascii_digit()).collect();
    if seps.windows(2).any(|w| w[0] != w[1]) {
        return false;
    }
    let groups: Vec<usize> = s.split([' ', '-']).map(str::len).collect();
    let grouping_ok = match groups.as_slice() {
        [_] => true,
        [4, 4, 4, 4] | [4, 4, 4, 4, 3] | [4, 6, 5] | [4, 6, 4] | [4, 3, 3, 3] => true,
        [4, 4, 4, last] => (1..=4).contains(last),
        _ => false,
    };
    if !grouping_ok || !luhn(&d) || issuer(&d).is_none() {
        return false;
    }
    let plain: String = d.iter().map(|x| char::from(b'0' + x)).collect();
    !TEST_PANS.contains(&plain.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_table() {
        let rows: &[(&str, Option<Issuer>)] = &[
            ("4556737586899855", Some(Issuer::Visa)),
            ("4556737586899", Some(Issuer::Visa)),
            ("45567375868998", None),
            ("5425233430109903", Some(Issuer::Mastercard)),
            ("2221000000000009", Some(Issuer::Mastercard)),
            ("2720990000000000", Some(Issuer::Mastercard)),
            ("2721000000000000", None),
            ("542523343010990", None),
            ("371449635398431", Some(Issuer::Amex)),
            ("3714496353984310", None),
            ("6011000990139424", Some(Issuer::Discover)),
            ("6221260000000000", Some(Issuer::Discover)),
            ("6229250000000000", Some(Issuer::Discover)),
            ("6229260000000000", Some(Issuer::UnionPay)),
            ("6500000000000000", Some(Issuer::Discover)),
            ("3530111333300000", Some(Issuer::Jcb)),
            ("3527000000000000", None),
            ("30569309025904", Some(Issuer::Diners)),
            ("36227206271667", Some(Issuer::Diners)),
            ("6200000000000005", Some(Issuer::UnionPay)),
            ("6759649826438453", Some(Issuer::Maestro)),
            ("5018000000000", Some(Issuer::Maestro)),
            ("2200000000000000", Some(Issuer::Mir)),
            ("1234567890123456", None),
            ("9999999999999999", None),
        ];
        for (s, want) in rows {
            assert_eq!(issuer(&digits(s)), *want, "{s}");
        }
    }

    #[test]
    fn validator_table() {
        let rows: &[(&str, bool, &str)] = &[
            ("4556737586899855", true, "Visa plain"),
            ("4556 7375 8689 9855", true, "Visa spaced"),
            ("4556-7375-8689-9855", true, "Visa dashed"),
            ("4556 7375-8689 9855", false, "mixed separators"),
            ("4556737586899856", false, "Luhn fails"),
            ("4556 73758 6899855", false, "non-standard grouping"),
            ("3714 496353 98431", false, "Amex test number"),
            ("3767 070486 56009", true, "Amex 4-6-5"),
            ("5425 2334 3010 9903", true, "Mastercard"),
            ("2223 0000 4841 0010", true, "Mastercard 2-series"),
            ("4111 1111 1111 1111", false, "published test number"),
            ("0000 0000 0000 0000", false, "Luhn passes, no issuer"),
            ("1234 5678 9012 3452", false, "Luhn passes, no issuer"),
            ("4556 7375 8689 9855 1234", false, "20 digits"),
        ];
        for (s, want, why) in rows {
            assert_eq!(is_card(s), *want, "{s}: {why}");
        }
    }
}
