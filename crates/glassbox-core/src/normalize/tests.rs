//! Table-driven tests of the transforms and their spans, mapping properties, and streaming
//! equivalence at every split point and under random chunkings.

use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;

use super::tables::{fold_confusable, is_invisible};
use super::{normalize, OffsetMap, StreamNormalizer, MAX_PENDING};

/// (what, original, normalised).
const TRANSFORMS: &[(&str, &str, &str)] = &[
    ("plain", "hello world", "hello world"),
    ("empty", "", ""),
    ("zero-width space", "pa\u{200B}ssword", "password"),
    (
        "zero-width run",
        "p\u{200B}\u{200C}\u{200D}\u{2060}a\u{FEFF}ss",
        "pass",
    ),
    ("soft hyphen", "pass\u{AD}word", "password"),
    ("bidi override", "\u{202E}drowssap\u{202C}", "drowssap"),
    ("bidi isolates, ALM", "\u{2067}a\u{2069}\u{61C}b", "ab"),
    (
        "tag characters",
        "ignore\u{E0069}\u{E0067} previous",
        "ignore previous",
    ),
    ("variation selector", "\u{2764}\u{FE0F}", "\u{2764}"),
    (
        "mongolian vowel separator, CGJ",
        "a\u{180E}b\u{34F}c",
        "abc",
    ),
    (
        "leading and trailing invisibles",
        "\u{200B}\u{200B}x\u{200B}",
        "x",
    ),
    ("only invisibles", "\u{200B}\u{FEFF}", ""),
    (
        "full-width",
        "\u{FF50}\u{FF41}\u{FF53}\u{FF53}\u{FF57}\u{FF4F}\u{FF52}\u{FF44}",
        "password",
    ),
    ("ligature", "\u{FB01}le", "file"),
    ("superscript", "x\u{B2}", "x2"),
    ("circled", "\u{24D0}\u{24D1}\u{24D2}", "abc"),
    ("mathematical bold", "\u{1D41A}\u{1D41B}\u{1D41C}", "abc"),
    ("combining acute composes", "cafe\u{301}", "caf\u{E9}"),
    (
        "combining after zero-width composes",
        "e\u{200B}\u{301}",
        "\u{E9}",
    ),
    (
        "hangul jamo compose",
        "\u{1112}\u{1161}\u{11AB}",
        "\u{D55C}",
    ),
    (
        "hangul syllable + final jamo",
        "\u{D558}\u{11AB}",
        "\u{D55C}",
    ),
    (
        "half-width kana + voiced mark",
        "\u{FF76}\u{FF9E}",
        "\u{30AC}",
    ),
    (
        "cyrillic lookalikes",
        "\u{440}\u{430}\u{455}\u{455}w\u{43E}rd",
        "password",
    ),
    ("cyrillic capitals", "\u{420}\u{410}\u{405}\u{405}", "PASS"),
    (
        "greek capitals",
        "\u{3A4}\u{39F}\u{39A}\u{395}\u{39D}",
        "TOKEN",
    ),
    ("greek small", "\u{3BF}\u{3BD}", "ov"),
    ("armenian", "\u{585}\u{57D}", "ou"),
    ("cherokee", "\u{13F4}\u{13AA}\u{13DA}\u{13AC}", "BASE"),
    ("cyrillic a + acute recomposes", "\u{430}\u{301}", "\u{E1}"),
    (
        "dashes",
        "a\u{2010}b\u{2011}c\u{2013}d\u{2014}e\u{2212}f",
        "a-b-c-d-e-f",
    ),
    (
        "quotes",
        "\u{2018}x\u{2019} \u{201C}y\u{201D} \u{201E}z\u{201A}",
        "'x' \"y\" \"z'",
    ),
    (
        "fancy spaces",
        "a\u{A0}b\u{2003}c\u{202F}d\u{205F}e\u{3000}f",
        "a b c d e f",
    ),
    ("named entities", "&lt;script&gt;", "<script>"),
    ("numeric entities", "&#112;&#x61;&#X73;s", "pass"),
    ("numeric without semicolon", "&#112&#x61 ss", "pa ss"),
    ("legacy name without semicolon", "&eacute &amp", "\u{E9} &"),
    (
        "name needing its semicolon",
        "&rsquo x &rsquo;",
        "&rsquo x '",
    ),
    ("one level only", "&amp;lt;", "&lt;"),
    ("entity decoding to zero-width", "pa&#x200B;ss", "pass"),
    ("entity decoding to full-width", "&#xFF50;", "p"),
    (
        "entity decoding to combining mark does not compose",
        "e&#x301;",
        "e\u{301}",
    ),
    (
        "not entities",
        "AT&T R&D & &ampx &#; &#xZ &#0;",
        "AT&T R&D & &ampx &#; &#xZ &#0;",
    ),
    ("percent ascii", "%70%61ss", "pass"),
    ("percent utf-8", "caf%C3%A9", "caf\u{E9}"),
    ("percent zero-width", "pa%E2%80%8Bss", "pass"),
    ("percent emoji", "%F0%9F%98%80", "\u{1F600}"),
    ("percent one level", "%2541", "%41"),
    (
        "not percent",
        "100% %zz %80 %E2%80 %E2%41",
        "100% %zz %80 %E2%80 %E2A",
    ),
    (
        "percent run that is not UTF-8 decodes from the next escape",
        "%C3%28",
        "%C3(",
    ),
    (
        "emoji zwj sequence",
        "\u{1F468}\u{200D}\u{1F469}",
        "\u{1F468}\u{1F469}",
    ),
    (
        "rtl",
        "\u{5E9}\u{5DC}\u{5D5}\u{5DD}",
        "\u{5E9}\u{5DC}\u{5D5}\u{5DD}",
    ),
    (
        "cjk",
        "\u{65E5}\u{672C}\u{8A9E}",
        "\u{65E5}\u{672C}\u{8A9E}",
    ),
];

/// (original, a substring of the normalised text, the original bytes it must map to).
const SPANS: &[(&str, &str, &str)] = &[
    ("pa\u{200B}ssword", "password", "pa\u{200B}ssword"),
    ("pa\u{200B}ssword", "pa", "pa"),
    ("pa\u{200B}ssword", "ss", "ss"),
    ("\u{200B}password\u{200B}", "password", "password"),
    (
        "x \u{200B}\u{200B}\u{200B}y",
        " y",
        " \u{200B}\u{200B}\u{200B}y",
    ),
    ("\u{FF50}\u{FF41}\u{FF53}\u{FF53}", "as", "\u{FF41}\u{FF53}"),
    ("x &lt;b&gt; y", "<b>", "&lt;b&gt;"),
    ("x &lt;b&gt; y", "b", "b"),
    ("key=%41%42C", "ABC", "%41%42C"),
    ("cafe\u{301} ok", "\u{E9}", "e\u{301}"),
    ("cafe\u{301} ok", "caf", "caf"),
    ("\u{440}\u{430}\u{455}\u{455}", "as", "\u{430}\u{455}"),
    ("\u{FB01}le", "ile", "\u{FB01}le"),
    ("\u{FB01}le", "f", "\u{FB01}"),
    ("a\u{2014}b", "-", "\u{2014}"),
    ("\u{1112}\u{1161}\u{11AB}!", "!", "!"),
];

/// Inputs for the streaming tests: every transform, and the awkward places to cut.
const TRICKY: &[&str] = &[
    "AT&amp;T &#x41;&#66 %41%E2%80%8B%F0%9F%98%80 &eacute x",
    "&#x1F600;&lt;&gt;&quot;&apos;&nbsp;&ZeroWidthSpace;",
    "e\u{301}\u{302}\u{323}a\u{200B}\u{301} \u{1112}\u{1161}\u{11AB}\u{D558}\u{11AB}",
    "\u{FF76}\u{FF9E}\u{FF8A}\u{FF9F} \u{FF50}\u{FF41}\u{FF53}\u{FF53} \u{FB01}\u{1D41A}",
    "\u{440}\u{430}\u{455}\u{455}w\u{43E}rd \u{2018}q\u{2019} \u{2014} \u{A0}",
    "\u{5E9}\u{5DC}\u{5D5}\u{5DD} \u{202E}abc\u{202C} \u{627}\u{644}\u{633}\u{644}\u{627}\u{645}",
    "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} \u{1F44D}\u{1F3FD} \u{2764}\u{FE0F}",
    "%%%41%4%E2%80%%C3%A9&&&#&#x&#x4&amp&ampx&",
    "\u{65E5}\u{672C}\u{8A9E}\u{3000}\u{FF01}",
];

fn char_boundaries(s: &str) -> Vec<usize> {
    s.char_indices().map(|(i, _)| i).chain([s.len()]).collect()
}

/// Everything the map answers at every normalised offset: two maps with equal fingerprints are
/// indistinguishable through the public API.
fn fingerprint(map: &OffsetMap) -> Vec<(usize, usize, usize, usize)> {
    (0..=map.norm_len())
        .map(|n| {
            (
                map.orig_start(n),
                map.orig_end(n),
                map.boundary_at_or_before(n),
                map.orig_at_boundary(n),
            )
        })
        .collect()
}

/// Streams `text` cut at `cuts` (char boundaries, ascending); returns the result and the most
/// bytes ever pending after a push.
fn stream(text: &str, cuts: &[usize]) -> (String, OffsetMap, usize) {
    let mut n = StreamNormalizer::new();
    let (mut out, mut map) = (String::new(), OffsetMap::new());
    let mut at = 0;
    let mut max_pending = 0;
    for &cut in cuts.iter().chain([&text.len()]) {
        n.push(&text[at..cut], &mut out, &mut map);
        max_pending = max_pending.max(n.pending_len());
        at = cut;
    }
    n.finish(&mut out, &mut map);
    assert_eq!(n.pending_len(), 0);
    (out, map, max_pending)
}

fn assert_stream_equals_whole(text: &str, cuts: &[usize]) {
    let (whole, whole_map) = normalize(text);
    let (out, map, max_pending) = stream(text, cuts);
    assert_eq!(out, whole, "text {text:?} cut at {cuts:?}");
    assert_eq!(map.norm_len(), whole_map.norm_len());
    assert_eq!(map.orig_len(), text.len());
    assert_eq!(
        fingerprint(&map),
        fingerprint(&whole_map),
        "map of {text:?} cut at {cuts:?}"
    );
    assert!(
        max_pending <= MAX_PENDING,
        "{max_pending} bytes pending for {text:?}"
    );
}

/// The ideal the segment-wise normaliser must equal on text without references, escapes and
/// over-long attaching runs: remove invisibles, NFKC the whole text, fold, recompose.
fn reference(text: &str) -> String {
    let folded: String = text
        .chars()
        .filter(|&c| !is_invisible(c))
        .nfkc()
        .map(|c| fold_confusable(c).map_or(c, char::from))
        .collect();
    folded.nfc().collect()
}

#[test]
fn transforms() {
    for &(what, text, want) in TRANSFORMS {
        let (got, map) = normalize(text);
        assert_eq!(got, want, "{what}: {text:?}");
        assert_eq!(
            (map.norm_len(), map.orig_len()),
            (got.len(), text.len()),
            "{what}"
        );
        if !text.contains(['&', '%']) {
            assert_eq!(got, reference(text), "{what}: whole-text NFKC");
        }
    }
}

#[test]
fn lookalikes_dashes_quotes_spaces_fold_to_ascii() {
    let table = [
        (
            "\u{430} \u{435} \u{43E} \u{440} \u{441} \u{443} \u{445} \u{456} \u{458} \u{455} \u{501} \u{51B} \u{51D}",
            "a e o p c y x i j s d q w",
        ),
        (
            "\u{410} \u{412} \u{415} \u{41A} \u{41C} \u{41D} \u{41E} \u{420} \u{421} \u{422} \u{425}",
            "A B E K M H O P C T X",
        ),
        (
            "\u{391} \u{392} \u{395} \u{396} \u{397} \u{399} \u{39A} \u{39C} \u{39D} \u{39F} \u{3A1} \u{3A4} \u{3A5} \u{3A7} \u{3BF} \u{3BD}",
            "A B E Z H I K M N O P T Y X o v",
        ),
        ("\u{2010}\u{2011}\u{2012}\u{2013}\u{2014}\u{2015}\u{2212}", "-------"),
        ("\u{2018}\u{2019}\u{201A}\u{201B}", "''''"),
        ("\u{201C}\u{201D}\u{201E}", "\"\"\""),
    ];
    for (text, want) in table {
        assert_eq!(normalize(text).0, want, "{text:?}");
    }
    let spaces = ['\u{A0}', '\u{202F}', '\u{205F}', '\u{3000}'];
    for c in spaces.into_iter().chain('\u{2000}'..='\u{200A}') {
        assert_eq!(normalize(&format!("a{c}b")).0, "a b", "U+{:04X}", c as u32);
    }
}

#[test]
fn spans_map_to_exact_original_bytes() {
    for &(text, needle, want) in SPANS {
        let (norm, map) = normalize(text);
        let start = norm
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in {norm:?}"));
        let (s, e) = map.orig_span(start, start + needle.len());
        assert_eq!(
            &text[s..e],
            want,
            "{needle:?} in {text:?} (normalised {norm:?})"
        );
    }
}

#[test]
fn mapping_properties() {
    let inputs = TRANSFORMS.iter().map(|t| t.1).chain(TRICKY.iter().copied());
    for text in inputs {
        let (norm, map) = normalize(text);
        let nb = char_boundaries(&norm);
        let mut last_start = 0;
        let mut last_boundary = (0, 0);
        for (k, &i) in nb.iter().enumerate() {
            let mut last_end = 0;
            for &j in &nb[k..] {
                let (s, e) = map.orig_span(i, j);
                assert!(s <= e, "{text:?} [{i},{j}) -> [{s},{e})");
                assert!(
                    text.is_char_boundary(s) && text.is_char_boundary(e),
                    "{text:?} [{i},{j})"
                );
                assert!(e >= last_end, "span end monotone in {text:?} at {j}");
                last_end = e;
            }
            let s = map.orig_start(i);
            assert!(s >= last_start, "span start monotone in {text:?} at {i}");
            last_start = s;
            let b = map.boundary_at_or_before(i);
            let ob = map.orig_at_boundary(b);
            assert!(
                b <= i && norm.is_char_boundary(b) && text.is_char_boundary(ob),
                "{text:?} at {i}"
            );
            assert!(
                (b, ob) >= last_boundary,
                "boundaries monotone in {text:?} at {i}"
            );
            last_boundary = (b, ob);
        }
    }
}

#[test]
fn every_single_split_point() {
    for text in TRANSFORMS.iter().map(|t| t.1).chain(TRICKY.iter().copied()) {
        for cut in char_boundaries(text) {
            assert_stream_equals_whole(text, &[cut]);
        }
        // Character by character: the finest chunking there is.
        let all = char_boundaries(text);
        assert_stream_equals_whole(text, &all[1.min(all.len() - 1)..all.len() - 1]);
    }
}

#[test]
fn every_pair_of_split_points() {
    let short = TRANSFORMS
        .iter()
        .map(|t| t.1)
        .chain(TRICKY.iter().copied())
        .filter(|t| t.chars().count() <= 60);
    for text in short {
        let b = char_boundaries(text);
        for (k, &x) in b.iter().enumerate() {
            for &y in &b[k..] {
                assert_stream_equals_whole(text, &[x, y]);
            }
        }
    }
}

#[test]
fn pathological_inputs_stay_bounded_and_equal() {
    let marks = format!("a{}b", "\u{301}".repeat(100));
    let invisibles = format!("x{}y", "\u{200B}".repeat(100));
    let long_name = format!("&{};", "a".repeat(100));
    let percents = "%".repeat(100);
    let ampersands = "&#x".repeat(40);
    let jamo = "\u{1161}".repeat(80);
    for text in [
        &marks,
        &invisibles,
        &long_name,
        &percents,
        &ampersands,
        &jamo,
    ] {
        let b = char_boundaries(text);
        assert_stream_equals_whole(text, &b[1..b.len() - 1]);
        for cut in b.iter().step_by(7) {
            assert_stream_equals_whole(text, &[*cut]);
        }
    }
    let (norm, map) = normalize(&invisibles);
    assert_eq!(norm, "xy");
    assert_eq!(map.orig_span(0, 2), (0, invisibles.len()));
    // A run longer than a segment is cut at 32 characters: the first 31 marks stay with the
    // `a` (the first composing into `á`), the rest start a new segment.
    let (norm, map) = normalize(&marks);
    assert_eq!(norm, format!("\u{E1}{}b", "\u{301}".repeat(99)));
    assert_eq!(map.orig_span(0, 2), (0, 1 + 2 * 31));
}

#[test]
fn stream_pending_is_what_could_still_change() {
    let table: &[(&str, usize)] = &[
        ("abc", 1),  // a combining mark may follow the `c`
        ("abc ", 0), // nothing composes with a space: a mark after it is its own segment
        ("abc.", 0),
        ("a <", 1),    // `<` + U+0338 composes to `≮`
        ("ab&#x4", 4), // unfinished reference
        ("ab&eacu", 5),
        ("ab%E2%80", 6), // unfinished escape
        ("ab%E2%8", 5),
        ("e\u{301}", 3), // more marks may follow
        ("\u{65E5}", 3),
        ("ab&#x41;", 0), // a reference is final at its `;`
        ("ab%41", 0),    // an escape is final after one character
        ("ab&", 1),
    ];
    for &(text, want) in table {
        let mut n = StreamNormalizer::new();
        let (mut out, mut map) = (String::new(), OffsetMap::new());
        n.push(text, &mut out, &mut map);
        assert_eq!(n.pending_len(), want, "{text:?}");
        assert_eq!(out.len(), map.norm_len());
        assert_eq!(map.orig_len() + n.pending_len(), text.len());
    }
}

#[test]
fn large_push_after_pending() {
    // A pending tail joined with a push much larger than the join window.
    let body = "word \u{FF50}\u{200B} &amp; %41 e\u{301} ".repeat(200);
    for head in ["ab", "&#x4", "%E2%80", "e"] {
        let text = format!("{head}{body}");
        assert_stream_equals_whole(&text, &[head.len()]);
    }
}

/// Pieces the random strings are made of: transform triggers, their fragments, and the
/// characters that attach.
const PIECES: &[&str] = &[
    "a",
    "e",
    "x",
    "1",
    "4",
    "A",
    " ",
    ";",
    "#",
    "&",
    "%",
    "&amp;",
    "&amp",
    "&lt",
    "&#x41;",
    "&#65",
    "&#x",
    "%41",
    "%E2",
    "%80",
    "%8B",
    "%C3%A9",
    "%F0%9F%98%80",
    "\u{301}",
    "\u{323}",
    "\u{200B}",
    "\u{200D}",
    "\u{FEFF}",
    "\u{AD}",
    "\u{202E}",
    "\u{FE0F}",
    "\u{E0041}",
    "\u{1112}",
    "\u{1161}",
    "\u{11AB}",
    "\u{D558}",
    "\u{FF50}",
    "\u{FF76}",
    "\u{FF9E}",
    "\u{FB01}",
    "\u{1D41A}",
    "\u{B2}",
    "\u{430}",
    "\u{440}",
    "\u{3BF}",
    "\u{2014}",
    "\u{2019}",
    "\u{A0}",
    "\u{3000}",
    "\u{65E5}",
    "\u{5E9}",
    "\u{627}",
    "\u{1F600}",
    "\u{1F3FD}",
];

fn arb_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..30).prop_map(|p| p.concat())
}

/// Like [`arb_text`] without references and escapes.
fn arb_plain_text() -> impl Strategy<Value = String> {
    let pieces: Vec<&str> = PIECES
        .iter()
        .copied()
        .filter(|p| !p.contains(['&', '%']))
        .collect();
    prop::collection::vec(prop::sample::select(pieces), 0..30).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn streaming_equals_whole_text(text in arb_text(), picks in prop::collection::vec(any::<prop::sample::Index>(), 0..8)) {
        let b = char_boundaries(&text);
        let mut cuts: Vec<usize> = picks.iter().map(|p| b[p.index(b.len())]).collect();
        cuts.sort_unstable();
        assert_stream_equals_whole(&text, &cuts);
    }

    #[test]
    fn whole_text_equals_reference_without_escapes(text in arb_plain_text()) {
        // At most 30 pieces, so no attaching run reaches the segment cap.
        let (norm, map) = normalize(&text);
        prop_assert_eq!(&norm, &reference(&text));
        prop_assert_eq!(map.orig_len(), text.len());
    }
}
