//! The segment-by-segment normaliser behind [`super::StreamNormalizer`]: splits text into
//! segments, normalises each, and records each in the [`OffsetMap`].

use std::sync::atomic::{AtomicU64, Ordering};

use unicode_normalization::char::{canonical_combining_class, decompose_compatible};
use unicode_normalization::{is_nfc_quick, is_nfkc_quick, IsNormalized, UnicodeNormalization};

use super::tables::{fold_confusable, is_invisible, named_entity, ENTITY_NAME_MAX};
use super::OffsetMap;

/// Most characters in one segment (a starter and what attaches to it). A longer run of
/// characters that attach is cut here, whole-text and streaming alike, in the spirit of
/// Unicode's Stream-Safe Text Format (UAX #15), which caps such runs at 30 non-starters.
pub(super) const SEGMENT_MAX_CHARS: usize = 32;

/// Longest numeric reference digits: `&#1114111;`, `&#x10FFFF;` (leading zeros beyond this make
/// the text literal).
const DEC_DIGITS_MAX: usize = 7;
const HEX_DIGITS_MAX: usize = 6;

/// Normalises the longest prefix of `text` whose normalisation is final (all of it when `eos`),
/// appending to `out` and `map`; returns how many bytes were consumed.
///
/// The scan's only state is its position, which is always a segment start; it stops only where
/// deciding would need text it has not seen. Restarting it at the returned offset therefore
/// continues exactly as a scan of the whole text would.
pub(super) fn normalize_prefix(
    text: &str,
    eos: bool,
    out: &mut String,
    map: &mut OffsetMap,
) -> usize {
    let bytes = text.as_bytes();
    let mut scratch = String::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let b = bytes[pos];
        if b == b'&' || b == b'%' {
            let parsed = if b == b'&' {
                parse_entity(&bytes[pos..], eos)
            } else {
                parse_percent(&bytes[pos..], eos)
            };
            match parsed {
                Parsed::Char { len, ch } => {
                    emit_decoded(ch, len, &mut scratch, out, map);
                    pos += len;
                }
                Parsed::Literal => {
                    out.push(b as char);
                    map.push_identity(1);
                    pos += 1;
                }
                Parsed::NeedMore => return pos,
            }
        } else {
            // Fast path: a run of characters that are their own normal form and start a segment
            // (plain ASCII, most letters, CJK, Hangul syllables, emoji) is copied as is. Its last
            // character may be the base of a combining sequence, so when an attaching character
            // follows (or the chunk ends before the stream does) it is left to the segment path.
            let start = pos;
            let (run_end, last_start) = simple_run(text, pos);
            let stop = text[run_end..].chars().next();
            // A run ending in ASCII whitespace or punctuation that composes with nothing is final
            // as it is: a combining mark after it starts a segment of its own (see `detached`),
            // so ordinary prose streamed word by word is never held back by the normaliser.
            let last_detached = text[last_start..].chars().next().is_some_and(detached);
            let copy_end = match stop {
                _ if run_end == start => start, // not simple: a segment starts here
                Some(c) if boundary_before(c) => run_end,
                Some(_) if last_detached => run_end,
                Some(_) => last_start,
                None if eos || last_detached => run_end,
                None => last_start,
            };
            out.push_str(&text[pos..copy_end]);
            map.push_identity(copy_end - pos);
            pos = copy_end;
            // A lone lookalike, quote or dash (nothing attaching to it) folds right here.
            let lone = stop
                .filter(|_| pos == run_end)
                .and_then(|c| lone_fold(text, pos, c));
            if let Some(folded) = lone {
                out.push(char::from(folded));
                map.push_replaced(stop.map_or(0, char::len_utf8), 1);
                pos += stop.map_or(0, char::len_utf8);
                continue;
            }
            if copy_end < run_end || run_end == start {
                match segment_end(text, pos, eos) {
                    Some(end) => {
                        emit_segment(&text[pos..end], &mut scratch, out, map);
                        pos = end;
                    }
                    None => return pos,
                }
            }
        }
    }
    pos
}

/// ASCII characters no combining mark composes with: whitespace and punctuation other than
/// `<`, `=` and `>` (which compose with U+0338). A combining mark after one of them does not
/// attach to it; it starts its own segment. NFKC gives the same text either way (nothing
/// composes), and the rule depends only on the previous character, so whole-text and
/// streaming normalisation still agree.
pub(super) fn detached(c: char) -> bool {
    c.is_ascii() && !c.is_ascii_alphanumeric() && !matches!(c, '<' | '=' | '>')
}

/// Whether `pending`, text a scan stopped at, is a single character that is its own normal form
/// and stays so when `next` follows: then it is an identity run of its own. (Not `&` or `%`,
/// which wait for the rest of a reference or escape.)
pub(super) fn is_final_before(pending: &str, next: char) -> bool {
    let mut chars = pending.chars();
    matches!(
        (chars.next(), chars.next()),
        (Some(c), None) if c != '&' && c != '%' && is_simple(c)
    ) && boundary_before(next)
}

/// The ASCII character `c` (at `text[pos..]`) folds to, when it makes a segment on its own: the
/// character after it starts the next segment. Confusables are NFKC-stable starters.
fn lone_fold(text: &str, pos: usize, c: char) -> Option<u8> {
    let folded = fold_confusable(c)?;
    let next = text.get(pos + c.len_utf8()..)?.chars().next()?;
    boundary_before(next).then_some(folded)
}

/// The run of [`is_simple`] characters at `text[pos..]`, stopping before `&` and `%`: its end
/// and where its last character starts (`pos` for an empty run).
fn simple_run(text: &str, pos: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let (mut i, mut last) = (pos, pos);
    loop {
        let n = plain_ascii_len(&bytes[i..]);
        if n > 0 {
            last = i + n - 1;
            i += n;
        }
        // Then non-ASCII characters, as long as they are simple.
        let start = i;
        while let Some((c, len)) = decode_non_ascii(bytes, i) {
            if !is_simple(c) {
                break;
            }
            last = i;
            i += len;
        }
        if i == start {
            return (i, last);
        }
    }
}

/// The non-ASCII character starting at `bytes[i]` and its length; `None` at an ASCII byte or
/// the end. `bytes` is valid UTF-8 and `i` a char boundary, so the lead byte gives the length.
fn decode_non_ascii(bytes: &[u8], i: usize) -> Option<(char, usize)> {
    let cont = |k: usize| u32::from(bytes.get(i + k).copied().unwrap_or(0x80) & 0x3F);
    let b0 = u32::from(*bytes.get(i)?);
    let (cp, len) = match b0 {
        0x00..=0x7F => return None,
        0x80..=0xDF => ((b0 & 0x1F) << 6 | cont(1), 2),
        0xE0..=0xEF => ((b0 & 0x0F) << 12 | cont(1) << 6 | cont(2), 3),
        _ => (
            (b0 & 0x07) << 18 | cont(1) << 12 | cont(2) << 6 | cont(3),
            4,
        ),
    };
    char::from_u32(cp).map(|c| (c, len))
}

/// Length of the prefix of `bytes` that is ASCII other than `&` and `%`, eight bytes at a time.
fn plain_ascii_len(bytes: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Whether any byte of `v` is zero (exact as a yes/no answer).
    let has_zero = |v: u64| v.wrapping_sub(LO) & !v & HI != 0;
    let mut n = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        if w & HI != 0
            || has_zero(w ^ (LO * u64::from(b'&')))
            || has_zero(w ^ (LO * u64::from(b'%')))
        {
            break;
        }
        n += 8;
    }
    n + bytes[n..]
        .iter()
        .take_while(|&&b| b < 0x80 && b != b'&' && b != b'%')
        .count()
}

// === segments ===

/// Whether the normalised text can be cut just before `c`: NFKC of what precedes `c` cannot
/// change whatever follows, and `c` never attaches to a previous segment.
///
/// The rule (ICU's "boundary before" for NFKC): `c` is a starter (canonical combining class 0),
/// not NFKC_QC=Maybe (those compose with a preceding character: Hangul medial vowels and final
/// consonants, some Indic vowel signs), and, when NFKC changes it, its compatibility
/// decomposition also begins with such a starter (half-width `ﾞ` decomposes to a combining voiced
/// mark and so attaches). Invisible characters are removed, so they never start a segment: they
/// are transparent, and `e` + ZWSP + U+0301 still composes to `é`. ASCII is always a boundary.
fn boundary_before(c: char) -> bool {
    c.is_ascii()
        || CLASSES
            .get(c)
            .map_or_else(|| compute_boundary(c), |k| k.boundary)
}

fn compute_boundary(c: char) -> bool {
    if is_invisible(c) || canonical_combining_class(c) != 0 {
        return false;
    }
    match is_nfkc_quick(std::iter::once(c)) {
        IsNormalized::Yes => true,
        IsNormalized::Maybe => false,
        IsNormalized::No => {
            let mut first = None;
            decompose_compatible(c, |d| {
                first.get_or_insert(d);
            });
            first.is_some_and(|d| {
                canonical_combining_class(d) == 0
                    && is_nfc_quick(std::iter::once(d)) == IsNormalized::Yes
            })
        }
    }
}

/// End of the segment starting at `start` (whatever its first character): it runs through the
/// characters that attach ([`boundary_before`] false), at most [`SEGMENT_MAX_CHARS`] of them in
/// all. `None` when the text ends first and more could still attach.
fn segment_end(text: &str, start: usize, eos: bool) -> Option<usize> {
    let mut chars = text[start..].char_indices();
    chars.next();
    let mut count = 1;
    for (i, c) in chars {
        if count == SEGMENT_MAX_CHARS || boundary_before(c) {
            return Some(start + i);
        }
        count += 1;
    }
    // The text ends here: the segment is final at the end of the stream or when full.
    (eos || count == SEGMENT_MAX_CHARS).then_some(text.len())
}

/// Normalises one segment and records it: identity when nothing changes; a trailing run of
/// invisible characters as a removal after the rest; otherwise one replaced piece.
fn emit_segment(seg: &str, scratch: &mut String, out: &mut String, map: &mut OffsetMap) {
    let mut chars = seg.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        // A single character (CJK, emoji, accented letters, lone ASCII): the common case.
        if is_simple(c) {
            out.push_str(seg);
            map.push_identity(seg.len());
            return;
        }
        // A lone lookalike or typographic quote or dash (confusables are NFKC-stable).
        if let Some(a) = fold_confusable(c) {
            out.push(char::from(a));
            map.push_replaced(seg.len(), 1);
            return;
        }
    }
    match seg.char_indices().find(|&(_, c)| is_invisible(c)) {
        Some((first_invisible, _)) if seg[first_invisible..].chars().all(is_invisible) => {
            if first_invisible > 0 {
                emit_segment(&seg[..first_invisible], scratch, out, map);
            }
            map.push_replaced(seg.len() - first_invisible, 0);
        }
        _ => {
            fold_into(seg, scratch);
            if scratch == seg {
                map.push_identity(seg.len());
            } else {
                map.push_replaced(seg.len(), scratch.len());
            }
            out.push_str(scratch);
        }
    }
}

/// Whether `c` on its own is its own normal form and starts a segment: not removed, not folded,
/// a starter that NFKC leaves alone (so [`boundary_before`] holds too). Most text is made of
/// these; a run of them is copied without further work.
fn is_simple(c: char) -> bool {
    c.is_ascii()
        || CLASSES
            .get(c)
            .map_or_else(|| compute_simple(c), |k| k.simple)
}

fn compute_simple(c: char) -> bool {
    !is_invisible(c)
        && fold_confusable(c).is_none()
        && canonical_combining_class(c) == 0
        && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
}

/// [`is_simple`] and [`boundary_before`] of one character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Class {
    simple: bool,
    boundary: bool,
}

/// [`compute_simple`] and [`compute_boundary`] for the BMP and the SMP, filled in lazily 64 code
/// points at a time: the quick-check lookups behind them cost a binary search per character,
/// and text uses few blocks.
static CLASSES: ClassTable = ClassTable::new();

const TABLE_WORDS: usize = 0x20000 / 64;

struct ClassTable {
    /// Bit `cp % 64` of word `cp / 64`: whether `cp` is simple, once computed.
    simple: [AtomicU64; TABLE_WORDS],
    /// The same for boundary.
    boundary: [AtomicU64; TABLE_WORDS],
    /// Bit `w % 64` of word `w / 64`: whether word `w` of the two above is computed.
    computed: [AtomicU64; TABLE_WORDS / 64],
}

impl ClassTable {
    const fn new() -> Self {
        ClassTable {
            simple: [const { AtomicU64::new(0) }; TABLE_WORDS],
            boundary: [const { AtomicU64::new(0) }; TABLE_WORDS],
            computed: [const { AtomicU64::new(0) }; TABLE_WORDS / 64],
        }
    }

    /// `None` above the table.
    fn get(&self, c: char) -> Option<Class> {
        let cp = c as usize;
        let w = cp / 64;
        let (simple, boundary) = (self.simple.get(w)?, &self.boundary[w]);
        let flag = 1u64 << (w % 64);
        // Racing threads compute the same bits; the Release/Acquire pair on `computed` makes
        // the words' stores visible before their flag.
        if self.computed[w / 64].load(Ordering::Acquire) & flag == 0 {
            let (mut s, mut b) = (0u64, 0u64);
            for k in 0..64 {
                if let Some(ch) = char::from_u32((w * 64 + k) as u32) {
                    s |= u64::from(compute_simple(ch)) << k;
                    b |= u64::from(compute_boundary(ch)) << k;
                }
            }
            simple.store(s, Ordering::Relaxed);
            boundary.store(b, Ordering::Relaxed);
            self.computed[w / 64].fetch_or(flag, Ordering::Release);
        }
        let bit = |word: &AtomicU64| word.load(Ordering::Relaxed) >> (cp % 64) & 1 == 1;
        Some(Class {
            simple: bit(simple),
            boundary: bit(boundary),
        })
    }
}

/// Writes the normalisation of `text` into `scratch`: invisible characters removed, NFKC,
/// confusables folded (and NFC again when a fold left a base for a following combining mark).
fn fold_into(text: &str, scratch: &mut String) {
    scratch.clear();
    let mut folded = false;
    for c in text.chars().filter(|&c| !is_invisible(c)).nfkc() {
        if let Some(a) = fold_confusable(c) {
            scratch.push(char::from(a));
            folded = true;
        } else if !is_invisible(c) {
            scratch.push(c);
        }
    }
    if folded && !scratch.is_ascii() {
        let recomposed: String = scratch.nfc().collect();
        *scratch = recomposed;
    }
}

/// Records a character decoded from an entity or a percent run (`len` original bytes). It is
/// normalised on its own: it does not compose with its neighbours.
fn emit_decoded(ch: char, len: usize, scratch: &mut String, out: &mut String, map: &mut OffsetMap) {
    if is_simple(ch) {
        out.push(ch);
        map.push_replaced(len, ch.len_utf8());
    } else if let Some(a) = fold_confusable(ch) {
        out.push(char::from(a));
        map.push_replaced(len, 1);
    } else {
        let mut buf = [0u8; 4];
        fold_into(ch.encode_utf8(&mut buf), scratch);
        out.push_str(scratch);
        map.push_replaced(len, scratch.len());
    }
}

// === HTML character references and percent-encoding ===

/// What the text at a `&` or `%` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parsed {
    /// A reference or escape of `len` bytes decoding to `ch`.
    Char { len: usize, ch: char },
    /// Not one: the `&` or `%` is an ordinary character.
    Literal,
    /// The text ends before it can tell (never when `eos`).
    NeedMore,
}

/// Parses an HTML character reference at the start of `s` (which starts with `&`).
///
/// - `&#` decimal digits (at most 7) and `&#x`/`&#X` hex digits (at most 6), with or without the
///   `;`: without it the reference ends at the first character that is not a digit, which is
///   unambiguous. Zero, surrogates and values past U+10FFFF are not references.
/// - `&name;` for the names in the entity table (case-sensitive). Without the `;` only HTML's
///   legacy names (`&amp`, `&lt`, `&eacute`, …) and only when the name is not followed by a
///   letter or digit: `&amp x` decodes, `&ampx` does not (as in HTML attribute values).
fn parse_entity(s: &[u8], eos: bool) -> Parsed {
    let need_more = if eos {
        Parsed::Literal
    } else {
        Parsed::NeedMore
    };
    match s.get(1) {
        None => need_more,
        Some(b'#') => {
            let (hex, digits_at) = match s.get(2) {
                None => return need_more,
                Some(b'x' | b'X') => (true, 3),
                Some(_) => (false, 2),
            };
            let (radix, max) = if hex {
                (16, HEX_DIGITS_MAX)
            } else {
                (10, DEC_DIGITS_MAX)
            };
            let digits = s[digits_at..]
                .iter()
                .take_while(|b| char::from(**b).is_digit(radix))
                .count();
            if digits > max {
                return Parsed::Literal;
            }
            let end = digits_at + digits;
            if end == s.len() && !eos {
                return Parsed::NeedMore;
            }
            if digits == 0 {
                return Parsed::Literal;
            }
            let value = s[digits_at..end].iter().fold(0u32, |v, &b| {
                v * radix + char::from(b).to_digit(radix).unwrap_or(0)
            });
            match char::from_u32(value).filter(|&c| c != '\0') {
                Some(ch) => {
                    let len = if s.get(end) == Some(&b';') {
                        end + 1
                    } else {
                        end
                    };
                    Parsed::Char { len, ch }
                }
                None => Parsed::Literal,
            }
        }
        Some(b) if b.is_ascii_alphabetic() => {
            let name_len = s[1..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            if name_len > ENTITY_NAME_MAX {
                return Parsed::Literal;
            }
            let end = 1 + name_len;
            let next = match s.get(end) {
                None if !eos => return Parsed::NeedMore,
                next => next,
            };
            match (named_entity(&s[1..end]), next) {
                (Some((ch, _)), Some(b';')) => Parsed::Char { len: end + 1, ch },
                (Some((ch, true)), _) => Parsed::Char { len: end, ch },
                _ => Parsed::Literal,
            }
        }
        Some(_) => Parsed::Literal,
    }
}

/// Parses a percent-encoded UTF-8 character at the start of `s` (which starts with `%`): one to
/// four `%XX` escapes whose bytes are exactly one valid UTF-8 character (no overlong forms or
/// surrogates). Anything else leaves the `%` as an ordinary character.
fn parse_percent(s: &[u8], eos: bool) -> Parsed {
    let need_more = if eos {
        Parsed::Literal
    } else {
        Parsed::NeedMore
    };
    let mut bytes = [0u8; 4];
    let mut want = 1;
    let mut i = 0;
    while i < want {
        let at = 3 * i;
        let escape = s.get(at..at + 3);
        let Some(escape) = escape else {
            // Incomplete: may the bytes seen so far still be the start of an escape?
            let tail = &s[at.min(s.len())..];
            let prefix_ok = tail.first().is_none_or(|&b| b == b'%')
                && tail.iter().skip(1).all(u8::is_ascii_hexdigit);
            return if prefix_ok {
                need_more
            } else {
                Parsed::Literal
            };
        };
        let Some(byte) = decode_escape(escape) else {
            return Parsed::Literal;
        };
        if i == 0 {
            want = match byte {
                0x00..=0x7F => 1,
                0xC2..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF4 => 4,
                _ => return Parsed::Literal,
            };
        } else if byte & 0xC0 != 0x80 {
            return Parsed::Literal;
        }
        bytes[i] = byte;
        i += 1;
    }
    match std::str::from_utf8(&bytes[..want])
        .ok()
        .and_then(|t| t.chars().next())
    {
        Some(ch) => Parsed::Char { len: 3 * want, ch },
        None => Parsed::Literal,
    }
}

/// `%XX` to its byte.
fn decode_escape(e: &[u8]) -> Option<u8> {
    let hex = |b: u8| char::from(b).to_digit(16);
    match e {
        [b'%', h, l] => Some((hex(*h)? * 16 + hex(*l)?) as u8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii_len_stops_at_specials_in_every_lane() {
        let base = "abcdefghijklmnopqrstuvwxyz0123456789";
        for stop in ["&", "%", "é", "\u{200B}"] {
            for at in 0..base.len() {
                let s = format!("{}{stop}{}", &base[..at], &base[at..]);
                assert_eq!(plain_ascii_len(s.as_bytes()), at, "{stop:?} at {at}");
            }
        }
        assert_eq!(plain_ascii_len(base.as_bytes()), base.len());
        assert_eq!(plain_ascii_len(b""), 0);
        // Bytes that differ from '&'/'%' by one bit or by a borrow must not stop the scan.
        let near = b"$'$'\"\x05\x06e$'fa\x7f";
        assert_eq!(plain_ascii_len(near), near.len());
    }

    #[test]
    fn class_table_agrees_with_the_properties() {
        for cp in (0..0x20000).chain(0xE0000..0xE0100) {
            if let Some(c) = char::from_u32(cp) {
                assert_eq!(
                    is_simple(c),
                    c.is_ascii() || compute_simple(c),
                    "U+{cp:04X}"
                );
                assert_eq!(
                    boundary_before(c),
                    c.is_ascii() || compute_boundary(c),
                    "U+{cp:04X}"
                );
                assert!(
                    !is_simple(c) || boundary_before(c),
                    "simple implies boundary: U+{cp:04X}"
                );
            }
        }
        for c in [
            '\u{200B}',
            '\u{301}',
            '\u{430}',
            '\u{FF50}',
            '\u{2019}',
            '\u{1D41A}',
        ] {
            assert!(!is_simple(c), "{c:?}");
        }
        for c in [
            'a',
            '\u{E9}',
            '\u{65E5}',
            '\u{D55C}',
            '\u{1F600}',
            '\u{5E9}',
        ] {
            assert!(is_simple(c), "{c:?}");
        }
    }

    #[test]
    fn confusables_start_segments() {
        // `lone_fold` relies on it: a confusable is never part of a preceding segment.
        for &(c, _) in super::super::tables::CONFUSABLES {
            assert!(boundary_before(c) && !is_simple(c), "{c:?}");
        }
    }

    #[test]
    fn boundary_rule() {
        let table = [
            ('a', true),
            ('é', true),
            ('日', true),
            ('가', true),        // precomposed Hangul syllable
            ('ᄀ', true),        // leading consonant jamo
            ('\u{1161}', false), // vowel jamo composes with a leading consonant
            ('\u{11A8}', false), // final consonant jamo composes with an LV syllable
            ('\u{0301}', false), // combining acute
            ('\u{200B}', false), // invisible: transparent
            ('ｐ', true),        // full-width: NFKC gives a starter
            ('ﾞ', false),         // half-width voiced mark: NFKC gives a combining mark
            ('ﬁ', true),
            ('😀', true),
        ];
        for (c, want) in table {
            assert_eq!(boundary_before(c), want, "{c:?} U+{:04X}", c as u32);
        }
    }

    #[test]
    fn entity_parser() {
        use Parsed::*;
        let table: &[(&str, bool, Parsed)] = &[
            ("&amp;x", false, Char { len: 5, ch: '&' }),
            ("&amp x", false, Char { len: 4, ch: '&' }),
            ("&amp", true, Char { len: 4, ch: '&' }),
            ("&amp", false, NeedMore),
            ("&ampx", true, Literal),
            (
                "&rsquo;",
                false,
                Char {
                    len: 7,
                    ch: '\u{2019}',
                },
            ),
            ("&rsquo ", false, Literal),
            ("&Amp;", false, Literal),
            ("&#65;", false, Char { len: 5, ch: 'A' }),
            ("&#65x", false, Char { len: 4, ch: 'A' }),
            ("&#65", false, NeedMore),
            ("&#65", true, Char { len: 4, ch: 'A' }),
            ("&#x41;", false, Char { len: 6, ch: 'A' }),
            ("&#X41g", false, Char { len: 5, ch: 'A' }),
            ("&#x4", false, NeedMore),
            ("&#x", false, NeedMore),
            ("&#x", true, Literal),
            ("&#x;", false, Literal),
            ("&#;", false, Literal),
            ("&#0;", false, Literal),
            ("&#xD800;", false, Literal),
            ("&#x110000;", false, Literal),
            ("&#x0010FFFF;", false, Literal),
            (
                "&#1114111;",
                false,
                Char {
                    len: 10,
                    ch: '\u{10FFFF}',
                },
            ),
            ("&#", false, NeedMore),
            ("&", false, NeedMore),
            ("&", true, Literal),
            ("& ", false, Literal),
            ("&&", false, Literal),
            ("&T", false, NeedMore),
            ("&T ", false, Literal),
            ("&abcdefghijklmnopqrstuvwxyz", false, Literal),
        ];
        for &(s, eos, want) in table {
            assert_eq!(parse_entity(s.as_bytes(), eos), want, "{s:?} eos={eos}");
        }
    }

    #[test]
    fn percent_parser() {
        use Parsed::*;
        let table: &[(&str, bool, Parsed)] = &[
            ("%41", false, Char { len: 3, ch: 'A' }),
            ("%c3%a9", false, Char { len: 6, ch: 'é' }),
            (
                "%E2%80%8B",
                false,
                Char {
                    len: 9,
                    ch: '\u{200B}',
                },
            ),
            (
                "%F0%9F%98%80",
                false,
                Char {
                    len: 12, ch: '😀'
                },
            ),
            ("%F0%9F%98%8", false, NeedMore),
            ("%F0%9F%98%8", true, Literal),
            ("%F0%9F%98", false, NeedMore),
            ("%F0%9F%9", false, NeedMore),
            ("%F0%9F%", false, NeedMore),
            ("%F0%9Fx", false, Literal),
            ("%F0%9F%9x", false, Literal),
            ("%E2", false, NeedMore),
            ("%E2 ", false, Literal),
            ("%E2%41", false, Literal),
            ("%C0%80", false, Literal),    // overlong
            ("%ED%A0%80", false, Literal), // surrogate
            ("%80", false, Literal),
            ("%FF", false, Literal),
            ("%4", false, NeedMore),
            ("%4", true, Literal),
            ("%", false, NeedMore),
            ("%4g", false, Literal),
            ("%%41", false, Literal),
            ("% 41", false, Literal),
        ];
        for &(s, eos, want) in table {
            assert_eq!(parse_percent(s.as_bytes(), eos), want, "{s:?} eos={eos}");
        }
    }
}
