//! Text normalisation with an offset map back to the original bytes.
//!
//! Detectors see text with obfuscations undone; findings must still point at the bytes the
//! client sent or the model produced. The normaliser splits the original text into *segments*;
//! each segment is either an identity run (copied byte for byte) or a replaced piece (a
//! zero-width character removed, `&#x41;` decoded, a full-width letter folded, …). The
//! [`OffsetMap`] maps a normalised span back to the smallest original span that covers it.
//!
//! Whole-text normalisation is defined as the streaming normaliser fed everything at once, so the
//! two can never disagree: [`normalize`] is `push` + `finish`, and however a stream is split the
//! normalised text and the map are the same (tested at every split point and by proptest).
//!
//! # What is undone
//!
//! 1. **Invisible characters** are removed: zero-width and format characters (U+200B–U+200F,
//!    U+2060–U+206F, U+FEFF, soft hyphen, U+180E, U+034F), bidi controls (U+202A–U+202E,
//!    U+2066–U+2069, U+061C), variation selectors, tag characters and the Hangul fillers.
//! 2. **NFKC**, per segment: full-width letters, ligatures, superscripts, circled and
//!    mathematical alphanumerics become their plain forms (`ｐａｓｓ` → `pass`, `ﬁ` → `fi`,
//!    `𝐚` → `a`), fancy spaces become U+0020, combining sequences compose.
//! 3. **Confusables** fold to the ASCII character they imitate: Cyrillic/Greek/Armenian/Cherokee
//!    lookalikes (`раѕѕwоrd` → `password`), dashes and minus to `-`, typographic single quotes
//!    to `'` and double quotes to `"`. Always, even in a word wholly in that script: normalised
//!    text is only used for matching.
//! 4. **HTML character references**: named (a table of 258, case-sensitive), decimal `&#65;` and
//!    hex `&#x41;`. Numeric ones may omit the `;` (the digits end unambiguously); named ones
//!    may only when HTML allows it (its legacy Latin-1 set, `&amp`, `&lt`, …) and no letter or
//!    digit follows.
//! 5. **Percent-encoding**: `%XX` escapes that together encode one valid UTF-8 character
//!    (`%41`, `%C3%A9`, `%E2%80%8B`); a `%` not starting such a run stays as it is.
//!
//! One level only: `&amp;lt;` becomes `&lt;`, `%2541` becomes `%41`. A decoded character is
//! then normalised on its own (so `&#xFF50;` is `p` and `%E2%80%8B` is removed) but does not
//! compose with its neighbours.
//!
//! Spacing tricks (`p a s s`) and base64 are not undone here: normalised text keeps a 1:1
//! reading of the original, and those belong to the detectors that look for them.
//!
//! # Example
//!
//! ```
//! use glassbox_core::normalize::{normalize, OffsetMap, StreamNormalizer};
//!
//! let original = "my pa\u{200B}ssw\u{43E}rd is &lt;secret&gt;";
//! let (norm, map) = normalize(original);
//! assert_eq!(norm, "my password is <secret>");
//!
//! // A finding on the normalised text maps back to the exact original bytes.
//! let start = norm.find("password").unwrap();
//! let (s, e) = map.orig_span(start, start + "password".len());
//! assert_eq!(&original[s..e], "pa\u{200B}ssw\u{43E}rd");
//!
//! // Streamed in any pieces, the result is the same.
//! let mut stream = StreamNormalizer::new();
//! let (mut out, mut map) = (String::new(), OffsetMap::new());
//! for piece in ["my pa\u{200B}ssw", "\u{43E}rd is &l", "t;secret&gt;"] {
//!     stream.push(piece, &mut out, &mut map);
//! }
//! stream.finish(&mut out, &mut map);
//! assert_eq!(out, norm);
//! ```
//!
//! # Segments
//!
//! NFKC is applied segment by segment, which is what lets a stream release text early. A segment
//! starts at a character before which normalisation can always be cut (a starter that does not
//! compose with what precedes it; see `scan::boundary_before` for the exact rule) and takes in
//! the characters that attach to it: combining marks, Hangul medial and final jamo, invisible
//! characters (which are removed, so `e`+ZWSP+U+0301 still composes to `é`). A segment holds at
//! most 32 characters; a longer attaching run is cut there (as Unicode's Stream-Safe Text
//! Format does at 30 non-starters), identically in whole-text and streaming normalisation. An
//! entity or percent escape is a segment of its own, and so is a `&` or `%` that starts none.
//! Plain ASCII without `&` and `%` is copied in one identity run without per-character work.
//!
//! # Streaming
//!
//! [`StreamNormalizer::push`] normalises everything whose normalisation cannot change and keeps
//! back the rest: the last segment (a combining mark may still follow, so even a final ASCII
//! letter waits), an unfinished reference (`&#x4`, `&eacu`) or escape (`%E2%80`). All three are
//! bounded by construction (segment length, the longest entity name, four escapes), so
//! [`StreamNormalizer::pending_len`] never exceeds [`MAX_PENDING`]; no text needs forcing out,
//! so the bound costs no equivalence with whole-text normalisation. (`push` still enforces the
//! bound, flushing pending text as at the end of a stream, should a future change break it.)

mod map;
mod scan;
mod tables;
#[cfg(test)]
mod tests;

pub use map::OffsetMap;

/// The longest suffix a [`StreamNormalizer`] keeps back between pushes, in bytes: a segment one
/// character short of full, 31 characters of up to 4 bytes. Unfinished references (at most
/// 25 bytes) and percent escapes (at most 11) are shorter.
pub const MAX_PENDING: usize = 4 * (scan::SEGMENT_MAX_CHARS - 1);

// `&` and the longest name; four escapes less their last digit.
const _: () = assert!(MAX_PENDING > tables::ENTITY_NAME_MAX && MAX_PENDING >= 11);

/// How much input `push` joins to pending text at a time: enough to settle all of it.
const JOIN_LEN: usize = 2 * MAX_PENDING + 8;

/// The largest char boundary of `s` at or below `at` (at least one character when `s` is not
/// empty, so that progress is made).
fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    let floor = (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
    if floor == 0 {
        s.chars().next().map_or(0, char::len_utf8)
    } else {
        floor
    }
}

/// A streaming normaliser: original text in, normalised text and map out.
///
/// It holds back the shortest suffix whose normalisation could still change when more text
/// arrives (an unfinished `&#x4…` entity, `%E2%80…` escape, or a character that a following
/// combining mark could change).
#[derive(Debug, Clone, Default)]
pub struct StreamNormalizer {
    pending: String,
}

impl StreamNormalizer {
    /// A normaliser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Original bytes pushed but not yet normalised.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Normalises what can be normalised of `input` (after earlier pending text), appending to
    /// `out` and `map`. Afterwards [`Self::pending_len`] is at most [`MAX_PENDING`], whatever
    /// the input.
    pub fn push(&mut self, input: &str, out: &mut String, map: &mut OffsetMap) {
        let mut rest = input;
        // The usual pending text between pushes is the last character of a plain run, kept in
        // case a combining mark follows; when none does it is final as it is.
        if let Some(next) = rest.chars().next() {
            if scan::is_final_before(&self.pending, next) {
                out.push_str(&self.pending);
                map.push_identity(self.pending.len());
                self.pending.clear();
            }
        }
        // Pending text is joined with just enough of the input to settle it; the scan then goes
        // on in `input` itself, so a large push costs no copy. A small input is joined whole.
        while !self.pending.is_empty() && !rest.is_empty() {
            let old = self.pending.len();
            let head = floor_char_boundary(rest, JOIN_LEN);
            self.pending.push_str(&rest[..head]);
            let done = scan::normalize_prefix(&self.pending, false, out, map);
            if done >= old && head < rest.len() {
                rest = &rest[done - old..];
                self.pending.clear();
            } else {
                self.pending.drain(..done);
                rest = &rest[head..];
            }
        }
        if !rest.is_empty() {
            let done = scan::normalize_prefix(rest, false, out, map);
            self.pending.push_str(&rest[done..]);
        }
        // The scanner never keeps back more than MAX_PENDING (see the module docs); should that
        // ever break, the bound still holds: pending text is then normalised as if the stream
        // ended here, which may differ from whole-text normalisation at this point only.
        debug_assert!(
            self.pending.len() <= MAX_PENDING,
            "pending {} bytes",
            self.pending.len()
        );
        if self.pending.len() > MAX_PENDING {
            self.finish(out, map);
        }
    }

    /// Normalises everything still pending (end of stream).
    pub fn finish(&mut self, out: &mut String, map: &mut OffsetMap) {
        let text = std::mem::take(&mut self.pending);
        let done = scan::normalize_prefix(&text, true, out, map);
        debug_assert_eq!(done, text.len());
    }
}

/// Whole-text normalisation: the normalised text and its map.
pub fn normalize(text: &str) -> (String, OffsetMap) {
    let mut out = String::with_capacity(text.len());
    let mut map = OffsetMap::new();
    let mut n = StreamNormalizer::new();
    n.push(text, &mut out, &mut map);
    n.finish(&mut out, &mut map);
    (out, map)
}
