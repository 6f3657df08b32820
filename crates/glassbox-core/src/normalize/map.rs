//! The offset map from normalised text back to original bytes.

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
///
/// Built from segments in order: identity runs ([`Self::push_identity`], adjacent runs merge)
/// and replaced pieces ([`Self::push_replaced`]; a removed character is a piece with no
/// normalised bytes). Given char boundaries of the normalised text, every query answers a char
/// boundary of the original, and answers are monotone in their argument.
///
/// Offsets before a [`Self::forget_before`] point are no longer mapped: queries there answer as
/// if for the first remembered offset (never a panic).
#[derive(Debug, Clone, Default)]
pub struct OffsetMap {
    segs: VecDeque<Segment>,
    /// Absolute normalised length covered so far.
    norm_len: usize,
    /// Absolute original length covered so far.
    orig_len: usize,
}

// === impl OffsetMap ===

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
            if last.identity {
                // The last segment always ends at `orig_len` and its output at `norm_len`.
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

    /// Records `orig_len` original bytes replaced by `norm_len` normalised bytes (either may be
    /// 0; a removed character has `norm_len` 0).
    pub fn push_replaced(&mut self, orig_len: usize, norm_len: usize) {
        if orig_len == 0 && norm_len == 0 {
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

    /// Index of the last segment whose `norm_start <= norm`, or 0. For `norm < norm_len` this is
    /// the non-empty segment containing `norm`: empty segments (removed characters) share their
    /// `norm_start` with a later segment, so the partition point passes them.
    fn seg_index(&self, norm: usize) -> usize {
        self.segs
            .partition_point(|s| s.norm_start <= norm)
            .saturating_sub(1)
    }

    fn seg_norm_end(&self, i: usize) -> usize {
        self.segs.get(i + 1).map_or(self.norm_len, |s| s.norm_start)
    }

    /// Where the remembered part of the map starts (normalised, original).
    fn front(&self) -> (usize, usize) {
        self.segs
            .front()
            .map_or((self.norm_len, self.orig_len), |s| {
                (s.norm_start, s.orig_start)
            })
    }

    /// The original offset where normalised byte `norm` starts (for a span start). Removed
    /// characters just before it are not included; at or past the end this is `orig_len`.
    pub fn orig_start(&self, norm: usize) -> usize {
        if norm >= self.norm_len {
            return self.orig_len;
        }
        let (front_norm, front_orig) = self.front();
        if norm < front_norm {
            return front_orig;
        }
        let s = self.segs[self.seg_index(norm)];
        if s.identity {
            s.orig_start + (norm - s.norm_start)
        } else {
            s.orig_start
        }
    }

    /// The original offset where a span ending at normalised `norm` (exclusive) ends. Removed
    /// characters just after it are not included.
    pub fn orig_end(&self, norm: usize) -> usize {
        let norm = norm.min(self.norm_len);
        let (front_norm, front_orig) = self.front();
        if norm <= front_norm {
            return front_orig;
        }
        let s = self.segs[self.seg_index(norm - 1)];
        if s.identity {
            s.orig_start + (norm - s.norm_start)
        } else {
            s.orig_end
        }
    }

    /// Maps a normalised span to the smallest original span that covers it. An empty span maps
    /// to an empty span at [`Self::orig_start`].
    pub fn orig_span(&self, start: usize, end: usize) -> (usize, usize) {
        if start >= end {
            let o = self.orig_start(start);
            return (o, o);
        }
        (self.orig_start(start), self.orig_end(end))
    }

    /// The largest normalised offset `<= norm` that is a segment boundary *and* where the
    /// original text can be cut: releasing normalised `[.., b)` releases original
    /// `[.., orig_at_boundary(b))` exactly. Inside an identity run every offset qualifies;
    /// inside a replaced piece, its start does.
    pub fn boundary_at_or_before(&self, norm: usize) -> usize {
        if norm >= self.norm_len {
            return self.norm_len;
        }
        let (front_norm, _) = self.front();
        if norm <= front_norm {
            return front_norm;
        }
        let s = self.segs[self.seg_index(norm)];
        if s.identity {
            norm
        } else {
            s.norm_start
        }
    }

    /// The original offset of a normalised boundary (see [`Self::boundary_at_or_before`]).
    /// Removed characters at the boundary belong before it: they go out with what precedes them.
    /// An offset inside a replaced piece (not a boundary) rounds up to the piece's end.
    pub fn orig_at_boundary(&self, norm: usize) -> usize {
        if norm >= self.norm_len {
            return self.orig_len;
        }
        // The first segment starting at or after `norm`.
        let mut i = self.segs.partition_point(|s| s.norm_start < norm);
        if i > 0 {
            let p = self.segs[i - 1];
            if p.identity && self.seg_norm_end(i - 1) > norm {
                return p.orig_start + (norm - p.norm_start);
            }
        } else if let Some(front) = self.segs.front() {
            if norm < front.norm_start {
                return front.orig_start;
            }
        }
        // Skip empty segments (removed characters) at this boundary.
        while i < self.segs.len() && self.seg_norm_end(i) == self.segs[i].norm_start {
            i += 1;
        }
        self.segs.get(i).map_or(self.orig_len, |s| s.orig_start)
    }

    /// Forgets segments that end at or before normalised offset `norm` (bounded memory). Spans
    /// ending at or before `norm` can no longer be mapped; [`Self::orig_at_boundary`] at `norm`
    /// and every query past it still can.
    pub fn forget_before(&mut self, norm: usize) {
        while self.segs.len() > 1 && self.seg_norm_end(0) <= norm {
            self.segs.pop_front();
        }
    }

    /// Segments remembered (for tests of bounded memory).
    #[cfg(test)]
    pub(super) fn segment_count(&self) -> usize {
        self.segs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any sequence of pieces and any queries, before and after forgetting: no panic,
        /// answers within the original, monotone, and spans cover what they map.
        #[test]
        fn queries_are_total_and_monotone(
            pieces in prop::collection::vec((any::<bool>(), 0usize..6, 0usize..6), 0..20),
            forget in 0usize..40,
        ) {
            let mut m = OffsetMap::new();
            for (identity, a, b) in pieces {
                if identity { m.push_identity(a) } else { m.push_replaced(a, b) }
            }
            for forgotten in [false, true] {
                if forgotten {
                    m.forget_before(forget);
                }
                let mut last = (0, 0, 0, 0);
                for n in 0..=m.norm_len() + 2 {
                    let now = (m.orig_start(n), m.orig_end(n), m.boundary_at_or_before(n), m.orig_at_boundary(n));
                    prop_assert!(now.0 <= m.orig_len() && now.1 <= m.orig_len() && now.3 <= m.orig_len());
                    prop_assert!(now.2 <= n.max(m.norm_len()) && now.2 <= m.norm_len());
                    if !forgotten || n > forget {
                        prop_assert!(now.0 >= last.0 && now.1 >= last.1 && now.2 >= last.2 && now.3 >= last.3);
                        for k in n + 1..=m.norm_len() {
                            let (s, e) = m.orig_span(n, k);
                            prop_assert!(s <= e);
                        }
                    }
                    last = now;
                }
            }
        }
    }

    /// "a" + [ZWSP removed] + "b" + ["&amp;" -> "&"] + "c".
    fn sample() -> OffsetMap {
        let mut m = OffsetMap::new();
        m.push_identity(1); // a
        m.push_replaced(3, 0); // ZWSP
        m.push_identity(1); // b
        m.push_replaced(5, 1); // &amp; -> &
        m.push_identity(1); // c
        m
    }

    #[test]
    fn replaced_segments_map_to_whole_range() {
        let m = sample();
        assert_eq!(m.norm_len(), 4);
        assert_eq!(m.orig_len(), 11);
        assert_eq!(m.orig_span(0, 2), (0, 5)); // "ab" covers a, ZWSP, b
        assert_eq!(m.orig_span(0, 1), (0, 1)); // "a" alone leaves the ZWSP out
        assert_eq!(m.orig_span(1, 2), (4, 5)); // "b" alone too
        assert_eq!(m.orig_span(2, 3), (5, 10)); // "&" covers "&amp;"
        assert_eq!(m.orig_span(1, 4), (4, 11));
        assert_eq!(m.orig_span(2, 2), (5, 5));
        assert_eq!(m.boundary_at_or_before(3), 3);
        assert_eq!(m.orig_at_boundary(1), 4); // removed ZWSP goes out with "a"
        assert_eq!(m.orig_at_boundary(3), 10);
    }

    #[test]
    fn identity_runs_merge() {
        let mut m = OffsetMap::new();
        m.push_identity(3);
        m.push_identity(0);
        m.push_identity(4);
        assert_eq!(m.segment_count(), 1);
        m.push_replaced(0, 0);
        assert_eq!(m.segment_count(), 1, "an empty replacement records nothing");
        assert_eq!(m.orig_span(2, 6), (2, 6));
    }

    #[test]
    fn removed_at_start_and_end() {
        let mut m = OffsetMap::new();
        m.push_replaced(3, 0); // ZWSP
        m.push_replaced(3, 0); // ZWSP
        m.push_identity(5);
        m.push_replaced(2, 0); // soft hyphen
        m.push_replaced(3, 0); // WJ
        assert_eq!((m.norm_len(), m.orig_len()), (5, 16));
        assert_eq!(m.orig_span(0, 5), (6, 11), "smallest covering span");
        assert_eq!(m.orig_span(0, 0), (6, 6));
        assert_eq!(
            m.orig_start(5),
            16,
            "past the end: where the next byte would start"
        );
        assert_eq!(m.orig_end(5), 11);
        assert_eq!(m.orig_end(7), 11, "clamped to the end");
        assert_eq!(m.boundary_at_or_before(0), 0);
        assert_eq!(
            m.orig_at_boundary(0),
            6,
            "leading removals go out before the boundary"
        );
        assert_eq!(m.orig_at_boundary(3), 9);
        assert_eq!(
            m.orig_at_boundary(5),
            16,
            "trailing removals go out with the end"
        );
    }

    #[test]
    fn consecutive_removed_between_replaced() {
        // "ｐ" -> "p", two ZWSPs removed, "ａ" -> "a"
        let mut m = OffsetMap::new();
        m.push_replaced(3, 1);
        m.push_replaced(3, 0);
        m.push_replaced(3, 0);
        m.push_replaced(3, 1);
        assert_eq!((m.norm_len(), m.orig_len()), (2, 12));
        assert_eq!(m.orig_span(0, 1), (0, 3));
        assert_eq!(m.orig_span(1, 2), (9, 12));
        assert_eq!(m.orig_span(0, 2), (0, 12));
        assert_eq!(m.boundary_at_or_before(1), 1);
        assert_eq!(m.orig_at_boundary(1), 9);
    }

    #[test]
    fn boundary_inside_a_replaced_piece_rounds_down() {
        // "x" + ["ﬃ" -> "ffi"] + "y"
        let mut m = OffsetMap::new();
        m.push_identity(1);
        m.push_replaced(3, 3);
        m.push_identity(1);
        assert_eq!(m.boundary_at_or_before(0), 0);
        assert_eq!(m.boundary_at_or_before(2), 1);
        assert_eq!(m.boundary_at_or_before(3), 1);
        assert_eq!(m.boundary_at_or_before(4), 4);
        assert_eq!(m.boundary_at_or_before(9), 5);
        assert_eq!(m.orig_at_boundary(1), 1);
        assert_eq!(m.orig_at_boundary(4), 4);
        assert_eq!(
            m.orig_span(2, 3),
            (1, 4),
            "any byte of the piece maps to all of it"
        );
    }

    #[test]
    fn forget_before_keeps_later_queries_and_never_panics() {
        let mut m = sample();
        let before: Vec<_> = (2..=4).map(|n| (m.orig_start(n), m.orig_end(n))).collect();
        m.forget_before(2);
        let after: Vec<_> = (2..=4).map(|n| (m.orig_start(n), m.orig_end(n))).collect();
        assert_eq!(before[1..], after[1..]);
        assert_eq!(m.orig_start(2), 5);
        assert_eq!(m.orig_at_boundary(2), 5);
        assert_eq!(m.orig_at_boundary(3), 10);
        // Forgotten offsets answer the first remembered one instead of panicking.
        assert_eq!(m.orig_start(0), m.orig_start(2));
        assert!(m.orig_end(1) <= m.orig_end(3));
        assert!(m.boundary_at_or_before(0) <= 2);
        m.forget_before(100);
        assert_eq!(m.segment_count(), 1, "the last segment stays");
        assert_eq!(m.orig_span(3, 4), (10, 11));
    }
}
