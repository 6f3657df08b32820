//! `pii.phone`: phone numbers, validated with libphonenumber's metadata (the `phonenumber`
//! crate) after shape checks that throw out dates, versions, IP addresses, ISBNs, card numbers,
//! MAC addresses and bare digit runs.

use std::str::FromStr;
use std::sync::Arc;

use glassbox_core::Family;
use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use phonenumber::{PhoneNumber, Type};

use super::{card, digits, luhn};
use crate::Rule;

/// An optional `+cc` (with an optional `(0)`), an optional `(area)`, then 6–16 digits with at
/// most one separator (space, `.`, `-`, `/`) between any two. The leading character may not
/// be part of a number, an identifier, an amount, an anchor (`#`) or a path; a leading space
/// may follow a digit or a capital only in `UK 020 …`-like abbreviations of one to three
/// capitals (`DE75 5121 0800 …`, `NL44 RABO 0123 …`: a group inside a longer code).
const PATTERN: &str = concat!(
    r"(?:^|[^0-9A-Za-z_#+.\-/@$€£¥ ]|(?:^|[^0-9A-Z]) |(?:^|[^0-9A-Za-z])[A-Z]{1,3} )",
    r"(?P<s>(?:\+ ?[1-9][0-9]{0,2}[ .\-]?(?:\(0\)[ .\-]?)?)?",
    r"(?:\([0-9]{1,5}\)[ .\-]?)?",
    r"[0-9](?:[ .\-/]?[0-9]){5,15})",
    r"(?-u:\b)",
);

/// Entries in the phone metadata's regex cache. The `phonenumber` crate keeps the compiled
/// regexes of its metadata in one LRU cache of 100 entries, and every miss recompiles a regex.
/// The phone fixtures alone (eight regions and a few `+cc` countries) use about 90 entries;
/// each further country a `+cc` number names adds its own, so 100 would soon thrash.
const METADATA_REGEX_CACHE: usize = 2048;

/// Makes the metadata's regex cache large enough to stop recompiling (once per process).
fn enlarge_metadata_cache() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let cache = DATABASE.cache();
        let mut guard = cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.capacity() < METADATA_REGEX_CACHE {
            guard.set_capacity(METADATA_REGEX_CACHE);
        }
    });
}

/// Parses `pii.phone_regions` into metadata ids.
///
/// # Errors
/// Names the first region the phone-number metadata does not know.
pub(crate) fn regions(names: &[String]) -> Result<Arc<[Id]>, String> {
    names
        .iter()
        .map(|r| {
            Id::from_str(r)
                .ok()
                .filter(|id| DATABASE.by_id(id.as_ref()).is_some())
                .ok_or_else(|| {
                    let hint = if r == "UK" { " (the United Kingdom is `GB`)" } else { "" };
                    format!(
                        "pii.phone_regions: `{r}` is not a region with phone-number metadata{hint}; \
                         use ISO 3166 alpha-2 codes such as US, GB, DE"
                    )
                })
        })
        .collect()
}

/// The `pii.phone` rule: numbers with `+country` are parsed as international, the others as
/// numbers of each region in `regions` in turn.
pub(crate) fn rule(regions: Arc<[Id]>) -> Rule {
    enlarge_metadata_cache();
    Rule::new(Family::Pii, "phone", PATTERN).validate(move |s| is_phone(s, &regions))
}

/// Whether `s` is a valid phone number: `+…` parsed as international, anything else as a
/// number of one of `regions`, after the shape checks in [`plausible_shape`].
pub fn is_phone(s: &str, regions: &[Id]) -> bool {
    enlarge_metadata_cache();
    let Some(shape) = plausible_shape(s) else {
        return false;
    };
    // Parsing and validating costs tens of microseconds per region (the metadata's regex cache
    // hashes each pattern's source on every use), so regions that cannot accept the candidate's
    // shape are skipped before parsing.
    if shape.international {
        return phonenumber::parse(None, s)
            .is_ok_and(|n| n.is_valid() && (n.code().value() != 1 || nanp_grouping_ok(&shape)));
    }
    regions.iter().any(|&region| {
        worth_parsing(region, &shape)
            && phonenumber::parse(Some(region), s)
                .is_ok_and(|n| n.is_valid() && national_ok(&n, region, &shape))
    })
}

/// What the shape checks learned about a candidate.
#[derive(Debug)]
pub struct Shape {
    /// Starts with `+`.
    pub international: bool,
    /// Lengths of the digit groups, in order (`(415) 555-2671` is `[3, 3, 4]`).
    pub groups: Vec<usize>,
    /// Has a parenthesised area code.
    pub parenthesised: bool,
    /// The digits.
    pub digits: Vec<u8>,
}

/// Shape checks done before asking the metadata. `None` for:
/// - fewer than 7 or more than 15 digits (E.164 allows 15 with the country code);
/// - dates at the start (`2024-01-15`, `15.01.2024`, `01/15/2024 …`);
/// - dotted quads (`10.20.30.40`: an IP address or a version);
/// - six two-digit groups (`00-1A-…`-style MAC addresses written with digits only);
/// - the US SSN shape `AAA-GG-SSSS` (that is `pii.us_ssn`'s);
/// - decimals (`0.5 0.25 0.125`: a space-separated part starting `0.`);
/// - ISBN-13 (`978…`/`979…`) and hyphenated ISBN-10 with a valid check digit;
/// - 13–15 digits that pass Luhn with a card issuer prefix (a card number);
/// - digit runs with no separator, `+` or parenthesis unless they start with a `0` trunk or
///   `00` international prefix (IDs, timestamps and order numbers are bare digit runs).
pub fn plausible_shape(s: &str) -> Option<Shape> {
    let international = s.starts_with('+');
    let digits = digits(s);
    if digits.len() < 7 || digits.len() > 15 || (international && digits.len() < 8) {
        return None;
    }
    let groups: Vec<&str> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let separators: Vec<char> = s
        .chars()
        .filter(|c| matches!(c, ' ' | '.' | '-' | '/'))
        .collect();
    let parenthesised = s.contains('(');
    if !international {
        if starts_with_date(&groups) {
            return None;
        }
        if !separators.is_empty()
            && separators.iter().all(|&c| c == '.')
            && lens.len() == 4
            && lens.iter().all(|&l| l <= 3)
        {
            return None;
        }
        if lens.len() == 6 && lens.iter().all(|&l| l == 2) {
            return None;
        }
        if lens == [3, 2, 4] && separators.iter().all(|&c| c == '-') {
            return None;
        }
        if s.split(' ').any(|part| part.starts_with("0.")) {
            return None;
        }
        if separators.is_empty() && !parenthesised && digits[0] != 0 {
            return None;
        }
    }
    if digits.len() == 13 && (digits.starts_with(&[9, 7, 8]) || digits.starts_with(&[9, 7, 9])) {
        return None;
    }
    if digits.len() == 10
        && lens.len() == 4
        && separators.iter().all(|&c| c == '-')
        && isbn10(&digits)
    {
        return None;
    }
    if !international && digits.len() >= 13 && luhn(&digits) && card::issuer(&digits).is_some() {
        return None;
    }
    Some(Shape {
        international,
        groups: lens,
        parenthesised,
        digits,
    })
}

/// `YYYY-MM-DD…`, `DD.MM.YYYY…` or `MM/DD/YYYY…` at the start of the candidate.
fn starts_with_date(groups: &[&str]) -> bool {
    let num = |g: &str| g.parse::<u32>().ok();
    let year = |g: &str| g.len() == 4 && num(g).is_some_and(|y| (1900..=2099).contains(&y));
    let day_or_month = |g: &str| g.len() <= 2 && num(g).is_some_and(|d| (1..=31).contains(&d));
    match groups {
        [y, m, d, ..] if year(y) && day_or_month(m) && day_or_month(d) => true,
        [a, b, y, ..] if day_or_month(a) && day_or_month(b) && year(y) => true,
        _ => false,
    }
}

/// ISBN-10 check digit (digits only; an `X` check digit never reaches here).
fn isbn10(d: &[u8]) -> bool {
    d.len() == 10
        && d.iter()
            .enumerate()
            .map(|(i, &x)| (10 - i as u32) * u32::from(x))
            .sum::<u32>()
            % 11
            == 0
}

/// Regions whose mobile numbers are customarily written without the `0` trunk prefix
/// (`98765 43210` in India, `91234-5678` in Brazil).
const TRUNK_OFTEN_OMITTED: &[Id] = &[Id::IN, Id::BR];

/// Regions where a parenthesised area code is customarily written without the `0` trunk prefix
/// (`(11) 3456-7890` in Brazil).
const AREA_IN_PARENTHESES_WITHOUT_TRUNK: &[Id] = &[Id::BR];

/// Whether parsing `shape` against `region` could succeed the checks in [`national_ok`]: a
/// leading `0` needs a region with a `0` trunk prefix (or NANP's `011` international prefix);
/// a NANP region needs NANP grouping; a `0`-trunk region needs the `0` unless it is in
/// [`TRUNK_OFTEN_OMITTED`].
fn worth_parsing(region: Id, shape: &Shape) -> bool {
    let Some(meta) = DATABASE.by_id(region.as_ref()) else {
        return false;
    };
    let trunk0 = meta.national_prefix() == Some("0");
    if shape.digits.first() == Some(&0) {
        return trunk0 || shape.digits.starts_with(&[0, 1, 1]) || meta.national_prefix().is_none();
    }
    if meta.country_code() == 1 {
        return nanp_grouping_ok(shape);
    }
    !trunk0 || TRUNK_OFTEN_OMITTED.contains(&region)
}

/// A number parsed against `region` written in national form must carry the region's `0`
/// trunk prefix, or be a mobile number where that is customarily written without it
/// ([`TRUNK_OFTEN_OMITTED`]), or have a parenthesised area code where that is customary
/// ([`AREA_IN_PARENTHESES_WITHOUT_TRUNK`]); NANP numbers must be grouped like one.
fn national_ok(n: &PhoneNumber, region: Id, shape: &Shape) -> bool {
    let Some(meta) = DATABASE.by_id(region.as_ref()) else {
        return false;
    };
    if n.code().value() != meta.country_code() || n.code().value() == 1 {
        // NANP, or dialled with an international prefix (`00 44 …`, `011 49 …`).
        return n.code().value() != 1 || nanp_grouping_ok(shape);
    }
    match meta.national_prefix() {
        Some("0") => {
            shape.digits.first() == Some(&0)
                || shape.parenthesised && AREA_IN_PARENTHESES_WITHOUT_TRUNK.contains(&region)
                || TRUNK_OFTEN_OMITTED.contains(&region) && n.number_type(&DATABASE) == Type::Mobile
        }
        _ => true,
    }
}

/// North American numbers (country code 1) are written `NPA NXX XXXX`, optionally after a
/// separate `1`/`+1`: groups `[3, 3, 4]`, `[3, 7]` or `[10]` after that prefix, or all digits
/// in one run.
fn nanp_grouping_ok(shape: &Shape) -> bool {
    let g = shape.groups.as_slice();
    if g.len() == 1 {
        return true;
    }
    let g = if g[0] == 1 && shape.digits.first() == Some(&1) {
        &g[1..]
    } else {
        g
    };
    matches!(g, [3, 3, 4] | [3, 7] | [10])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_regions() -> Vec<Id> {
        vec![Id::US, Id::GB, Id::DE, Id::FR, Id::IN]
    }

    #[test]
    fn valid_numbers() {
        let rows: &[(&str, &[Id])] = &[
            ("+1 415-555-2671", &[]),
            ("(415) 555-2671", &[Id::US]),
            ("415.555.2671", &[Id::US]),
            ("1-415-555-2671", &[Id::US]),
            ("+44 20 7946 0958", &[]),
            ("+44 (0)20 7946 0958", &[]),
            ("020 7946 0958", &[Id::GB]),
            ("07911 123456", &[Id::GB]),
            ("+49 30 901820", &[]),
            ("030 901820", &[Id::DE]),
            ("(030) 901820", &[Id::DE]),
            ("0171/1234567", &[Id::DE]),
            ("+49 171 1234567", &[]),
            ("+33 1 42 68 53 00", &[]),
            ("01 42 68 53 00", &[Id::FR]),
            ("06.12.34.56.78", &[Id::FR]),
            ("+91 98765 43210", &[]),
            ("98765 43210", &[Id::IN]),
            ("011 2345 6789", &[Id::IN]),
            ("+81 3-1234-5678", &[]),
            ("03-1234-5678", &[Id::JP]),
            ("+55 11 91234-5678", &[]),
            ("(11) 91234-5678", &[Id::BR]),
            ("+61 2 9876 5432", &[]),
            ("0412 345 678", &[Id::AU]),
            ("0044 20 7946 0958", &[Id::DE]),
            ("+1 (415) 555-2671", &[]),
            ("+33 6 12 34 56 78", &[]),
            ("+91-98765-43210", &[]),
            ("+61 412 345 678", &[]),
            ("+81 90-1234-5678", &[]),
            ("+55 (11) 91234-5678", &[]),
            ("090-1234-5678", &[Id::JP]),
            ("(02) 9876 5432", &[Id::AU]),
        ];
        for (s, regions) in rows {
            let regions = if regions.is_empty() {
                default_regions()
            } else {
                regions.to_vec()
            };
            assert!(
                is_phone(s, &regions),
                "{s} should be a phone number in {regions:?}"
            );
        }
    }

    #[test]
    fn not_phone_numbers() {
        let rows: &[(&str, &str)] = &[
            ("2024-01-15", "ISO date"),
            ("15.01.2024", "German date"),
            ("01/15/2024", "US date"),
            ("2024-01-15 10", "timestamp prefix"),
            ("192.168.100.200", "IPv4"),
            ("10.20.30.40", "IPv4 / version"),
            ("9780306406157", "ISBN-13"),
            ("978-0-306-40615-7", "hyphenated ISBN-13"),
            ("0-306-40615-2", "hyphenated ISBN-10"),
            ("4556737586899855", "16-digit card"),
            ("3782 822463 10005", "Amex card"),
            ("4155552671", "bare digit run without trunk prefix"),
            ("1700000000", "unix timestamp"),
            ("12 345 678 903", "grouping unlike any NANP number"),
            ("+1 4155 552 671", "NANP misgrouped"),
            ("00-11-22-33-44-55", "MAC-like"),
            ("123456", "too short"),
            ("+1234567890123456", "too long"),
            ("1234-5678-90", "order-number-like, not a mobile"),
            ("555-12-3456", "SSN shape"),
            (
                "078-05-1120",
                "SSN shape, valid as a German number otherwise",
            ),
            ("(123) 456-7890", "NANP area code cannot start with 1"),
        ];
        for (s, why) in rows {
            assert!(!is_phone(s, &default_regions()), "{s}: {why}");
        }
    }

    #[test]
    fn regions_are_checked() {
        assert!(regions(&["US".into(), "JP".into()]).is_ok());
        let err = regions(&["US".into(), "QX".into()]).unwrap_err();
        assert!(err.contains("`QX`"), "{err}");
        let err = regions(&["UK".into()]).unwrap_err();
        assert!(err.contains("`GB`"), "{err}");
    }
}
