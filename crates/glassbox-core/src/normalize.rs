//! Text normalisation with an offset map back to the original bytes.
//!
//! Detectors see text with obfuscations undone; findings must still point at the bytes the
//! client sent or the model produced. The normaliser splits the original text into *segments*;
//! each segment is either an identity run (copied byte for byte) or a replaced piece (a
//! zero-width character removed, `&#x41;` decoded, a full-width letter folded, …). The
//! [`OffsetMap`] maps a normalised span back to the smallest original span that covers it.
//!
//! Whole-text normalisation is defined as the streaming normaliser fed everything at once, so the
//! two can never disagree: [`normalize`] is `push` + `finish`.

use std::collections::VecDeque;

/// One segment of the map: normalised bytes `[norm_start, next.norm_start)` come from original
/// bytes `[orig_start, orig_end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    norm_start: usize,
    orig_start: usize,
    orig_end: usize,
    /// Identity runs map byte to byte; replaced segments map every byte to the whole range.
    identity: bool,
}

/// Maps offsets in normalised text (absolute from the start of a stream) to original offsets.
#[derive(Debug, Clone, Default)]
pub struct OffsetMap {
    segs: VecDeque<Segment>,
    /// Absolute normalised length covered so far.
    norm_len: usize,
    /// Absolute original length covered so far.
    orig_len: usize,
}

impl OffsetMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Normalised bytes covered so far.
    pub fn norm_len(&self) -> usize {
        self.norm_len
    }

    /// Original bytes covered so far.
    pub fn orig_len(&self) -> usize {
        self.orig_len
    }

    /// Records `len` bytes copied unchanged.
    pub fn push_identity(&mut self, len: usize) {
        if len == 0 {
            return;
        }
        if let Some(last) = self.segs.back_mut() {
            if last.identity && last.orig_end == self.orig_len {
                last.orig_end += len;
                self.norm_len += len;
                self.orig_len += len;
                return;
            }
        }
        self.segs.push_back(Segment {
            norm_start: self.norm_len,
            orig_start: self.orig_len,
            orig_end: self.orig_len + len,
            identity: true,
        });
        self.norm_len += len;
        self.orig_len += len;
    }

    /// Records `orig_len` original bytes replaced by `norm_len` normalised bytes (either may be 0).
    pub fn push_replaced(&mut self, orig_len: usize, norm_len: usize) {
        if orig_len == norm_len && orig_len == 0 {
            return;
        }
        self.segs.push_back(Segment {
            norm_start: self.norm_len,
            orig_start: self.orig_len,
            orig_end: self.orig_len + orig_len,
            identity: false,
        });
        self.norm_len += norm_len;
        self.orig_len += orig_len;
    }

    fn seg_index(&self, norm: usize) -> usize {
        // Last segment whose norm_start <= norm (empty replaced segments share a norm_start with
        // their successor; the partition point finds the last of them).
        self.segs
            .partition_point(|s| s.norm_start <= norm)
            .saturating_sub(1)
    }

    fn seg_norm_end(&self, i: usize) -> usize {
        self.segs.get(i + 1).map_or(self.norm_len, |s| s.norm_start)
    }

    /// The original offset where normalised byte `norm` starts (for a span start).
    pub fn orig_start(&self, norm: usize) -> usize {
        if norm >= self.norm_len {
            return self.orig_len;
        }
        // The last segment starting at or before `norm` is the non-empty one containing it
        // (empty segments sharing its norm_start sort before it).
        let s = self.segs[self.seg_index(norm)];
        if s.identity {
            s.orig_start + (norm - s.norm_start)
        } else {
            s.orig_start
        }
    }

    /// The original offset where the span ending at normalised `norm` (exclusive) ends.
    pub fn orig_end(&self, norm: usize) -> usize {
        if norm == 0 {
            return self
                .segs
                .front()
                .map_or(0, |s| s.orig_start.min(s.orig_end));
        }
        let s = self.segs[self.seg_index(norm - 1)];
        if s.identity {
            s.orig_start + (norm - s.norm_start)
        } else {
            s.orig_end
        }
    }

    /// Maps a normalised span to the original span that covers it.
    pub fn orig_span(&self, start: usize, end: usize) -> (usize, usize) {
        if start == end {
            let o = self.orig_start(start);
            return (o, o);
        }
        (self.orig_start(start), self.orig_end(end))
    }

    /// The largest normalised offset `<= norm` that is a segment boundary *and* where the
    /// original text can be cut: releasing normalised `[.., b)` releases original
    /// `[.., orig_at_boundary(b))` exactly.
    pub fn boundary_at_or_before(&self, norm: usize) -> usize {
        if norm >= self.norm_len {
            return self.norm_len;
        }
        let i = self.seg_index(norm);
        let s = self.segs[i];
        if s.identity {
            norm
        } else {
            s.norm_start
        }
    }

    /// The original offset of a normalised boundary (see [`Self::boundary_at_or_before`]).
    /// Empty replaced segments (removed characters) just before the boundary belong before it.
    pub fn orig_at_boundary(&self, norm: usize) -> usize {
        if norm >= self.norm_len {
            return self.orig_len;
        }
        // Find the first segment with non-empty output that starts at or after `norm`.
        let mut i = self.segs.partition_point(|s| s.norm_start < norm);
        if i > 0 {
            let p = self.segs[i - 1];
            if p.identity && p.norm_start < norm && self.seg_norm_end(i - 1) > norm {
                return p.orig_start + (norm - p.norm_start);
            }
        }
        // Skip empty segments (removed characters) at this boundary: they go out with what
        // precedes them.
        while i < self.segs.len() && self.seg_norm_end(i) == self.segs[i].norm_start {
            i += 1;
        }
        self.segs.get(i).map_or(self.orig_len, |s| s.orig_start)
    }

    /// Forgets segments that end at or before normalised offset `norm` (bounded memory).
    pub fn forget_before(&mut self, norm: usize) {
        while self.segs.len() > 1 && self.seg_norm_end(0) <= norm && self.segs[1].norm_start <= norm
        {
            self.segs.pop_front();
        }
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
    /// `out` and `map`.
    pub fn push(&mut self, input: &str, out: &mut String, map: &mut OffsetMap) {
        self.pending.push_str(input);
        let text = std::mem::take(&mut self.pending);
        let done = normalize_prefix(&text, false, out, map);
        self.pending = text[done..].to_string();
    }

    /// Normalises everything still pending (end of stream).
    pub fn finish(&mut self, out: &mut String, map: &mut OffsetMap) {
        let text = std::mem::take(&mut self.pending);
        let done = normalize_prefix(&text, true, out, map);
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

/// Normalises the longest prefix of `text` that is final (all of it when `eos`), returning how
/// many bytes were consumed.
fn normalize_prefix(text: &str, eos: bool, out: &mut String, map: &mut OffsetMap) -> usize {
    // Identity for now: every transform slots in here, segment by segment.
    let _ = eos;
    out.push_str(text);
    map.push_identity(text.len());
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_map() {
        let (n, m) = normalize("hello world");
        assert_eq!(n, "hello world");
        assert_eq!(m.orig_span(6, 11), (6, 11));
    }

    #[test]
    fn replaced_segments_map_to_whole_range() {
        // "a" + [zero-width removed, 3 bytes] + "b" + ["&amp;" -> "&"] + "c"
        let mut m = OffsetMap::new();
        m.push_identity(1); // a
        m.push_replaced(3, 0); // ZWSP
        m.push_identity(1); // b
        m.push_replaced(5, 1); // &amp; -> &
        m.push_identity(1); // c
        assert_eq!(m.norm_len(), 4);
        assert_eq!(m.orig_len(), 11);
        assert_eq!(m.orig_span(0, 2), (0, 5)); // "ab" covers a, ZWSP, b
        assert_eq!(m.orig_span(2, 3), (5, 10)); // "&" covers "&amp;"
        assert_eq!(m.orig_span(1, 4), (4, 11));
        assert_eq!(m.boundary_at_or_before(3), 3);
        assert_eq!(m.orig_at_boundary(1), 4); // removed ZWSP goes out with "a"
        assert_eq!(m.orig_at_boundary(3), 10);
    }
}
