//! The phrase matcher: licence wording as sequences of word tokens, found in text whatever its
//! comment markers, line wrapping, punctuation or case.
//!
//! Text is cut into *tokens* (maximal runs of ASCII letters and digits, lower-cased, with a few
//! spelling variants folded: `licence` → `license`, `https` → `http`); everything between two
//! tokens is a *gap* (spaces, newlines, `//`, ` * `, `#`, punctuation, non-ASCII). A phrase is a
//! token sequence; it matches consecutive tokens whose gaps are at most [`MAX_GAP`] bytes. That
//! bound and [`MAX_TOKEN`] make every match bounded: at most [`MAX_PHRASE_TOKENS`] tokens, so at
//! most [`MAX_MATCH_LEN`] bytes.
//!
//! All phrases live in one token trie. Scanning is leftmost-longest over the whole phrase set:
//! at each token start not inside an accepted match, walk the trie as far as the tokens go and
//! take the longest phrase that ended on the way; resume after it, or at the next token.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A fast multiplicative hasher (FxHash's mixing) for the trie's tables. The tables are fixed
/// after construction, so text chosen to collide cannot make lookups slower than the stored
/// keys already make them: no flooding protection is needed.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // Spread the high bits into the low ones (hashbrown indexes buckets by the low bits).
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z ^ (z >> 31)
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Longest token a phrase can contain, in bytes (longer runs break phrases).
pub const MAX_TOKEN: usize = 24;
/// Longest gap between two tokens of one match, in bytes (comment markers, indentation).
pub const MAX_GAP: usize = 40;
/// Most tokens in one phrase.
pub const MAX_PHRASE_TOKENS: usize = 160;
/// Longest match in bytes: every token and the gap after it are bounded.
pub const MAX_MATCH_LEN: usize = MAX_PHRASE_TOKENS * (MAX_TOKEN + MAX_GAP);

/// What a phrase reports.
#[derive(Debug, Clone, PartialEq)]
pub struct PhraseInfo {
    /// Licence id (`GPL-3.0-or-later`, `LicenseRef-Llama-3-Community`).
    pub licence: String,
    /// Score of a match.
    pub score: f32,
    /// How the phrase was made.
    pub kind: PhraseKind,
}

/// Where a phrase comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhraseKind {
    /// A standard notice/header or a licence title (hand-written table).
    Notice,
    /// A sentence of a full licence text from the SPDX list.
    Text,
    /// A prose reference ("released under the GPLv3"); dropped when its sentence is a question.
    Reference,
}

/// A token found in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tok {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// Vocabulary id, or `None` for a word no phrase contains (or one over [`MAX_TOKEN`]).
    pub id: Option<u32>,
}

const NONE: u32 = u32::MAX;

/// The token trie over every phrase.
#[derive(Debug, Default)]
pub struct PhraseSet {
    vocab: FxMap<String, u32>,
    words: Vec<String>,
    /// `(node << 32) | token` → child node.
    edges: FxMap<u64, u32>,
    /// Node → index into `infos`, or `NONE`.
    terminal: Vec<u32>,
    /// Node → whether it has at least one child.
    has_child: Vec<bool>,
    infos: Vec<PhraseInfo>,
    /// Longest phrase, in tokens.
    longest: usize,
}

/// Folds a lower-cased token to its canonical spelling.
pub fn fold(tok: &str) -> &str {
    match tok {
        "licence" => "license",
        "licences" => "licenses",
        "licenced" => "licensed",
        "licencing" | "licencing_" => "licensing",
        "https" => "http",
        _ => tok,
    }
}

/// Splits `s` into lower-cased, folded tokens (for building phrases).
pub fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| fold(&w.to_ascii_lowercase()).to_string())
        .collect()
}

/// Expands a phrase spec: `{a|b|}` chooses one alternative (possibly empty); no nesting.
pub fn expand(spec: &str) -> Vec<String> {
    let Some(open) = spec.find('{') else {
        return vec![spec.to_string()];
    };
    let Some(close) = spec[open..].find('}').map(|c| c + open) else {
        return vec![spec.to_string()];
    };
    let mut out = Vec::new();
    for alt in spec[open + 1..close].split('|') {
        let s = format!("{}{}{}", &spec[..open], alt, &spec[close + 1..]);
        out.extend(expand(&s));
    }
    out
}

impl PhraseSet {
    /// An empty set.
    pub fn new() -> Self {
        PhraseSet {
            terminal: vec![NONE],
            has_child: vec![false],
            ..Default::default()
        }
    }

    /// The vocabulary id of a (lower-cased, folded) word, adding it if new.
    pub fn intern(&mut self, w: &str) -> u32 {
        if let Some(&id) = self.vocab.get(w) {
            return id;
        }
        let id = self.words.len() as u32;
        self.vocab.insert(w.to_string(), id);
        self.words.push(w.to_string());
        id
    }

    /// The word of a vocabulary id (empty for an unknown id).
    pub fn word(&self, id: u32) -> &str {
        self.words.get(id as usize).map_or("", String::as_str)
    }

    /// Adds a phrase given as tokens. The first phrase added for a token sequence keeps it.
    /// Returns `false` when the phrase is empty, too long or has a token over [`MAX_TOKEN`].
    pub fn add(&mut self, tokens: &[String], info: PhraseInfo) -> bool {
        if tokens.iter().any(|t| t.len() > MAX_TOKEN) {
            return false;
        }
        let ids: Vec<u32> = tokens.iter().map(|t| self.intern(t)).collect();
        self.add_ids(&ids, info)
    }

    /// Adds a phrase given as vocabulary ids (see [`PhraseSet::add`]).
    pub fn add_ids(&mut self, ids: &[u32], info: PhraseInfo) -> bool {
        if ids.is_empty()
            || ids.len() > MAX_PHRASE_TOKENS
            || ids.iter().any(|&t| self.word(t).len() > MAX_TOKEN)
        {
            return false;
        }
        let mut node = 0u32;
        for &id in ids {
            let key = (u64::from(node) << 32) | u64::from(id);
            node = match self.edges.get(&key) {
                Some(&n) => n,
                None => {
                    let n = self.terminal.len() as u32;
                    self.terminal.push(NONE);
                    self.has_child.push(false);
                    self.has_child[node as usize] = true;
                    self.edges.insert(key, n);
                    n
                }
            };
        }
        if self.terminal[node as usize] == NONE {
            self.terminal[node as usize] = self.infos.len() as u32;
            self.infos.push(info);
        }
        self.longest = self.longest.max(ids.len());
        true
    }

    /// Whether a token sequence is already a phrase.
    pub fn contains(&self, tokens: &[String]) -> bool {
        let mut node = 0u32;
        for t in tokens {
            let Some(&id) = self.vocab.get(t.as_str()) else {
                return false;
            };
            match self.edges.get(&((u64::from(node) << 32) | u64::from(id))) {
                Some(&n) => node = n,
                None => return false,
            }
        }
        self.terminal[node as usize] != NONE
    }

    /// Number of phrases.
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    /// Whether there are no phrases.
    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

    /// What each phrase reports.
    pub fn infos(&self) -> &[PhraseInfo] {
        &self.infos
    }

    /// Longest phrase in tokens.
    pub fn longest(&self) -> usize {
        self.longest
    }

    fn child(&self, node: u32, tok: u32) -> Option<u32> {
        self.edges
            .get(&((u64::from(node) << 32) | u64::from(tok)))
            .copied()
    }

    /// Tokens of `text` starting at or after `from`; a word that began before `from` is skipped.
    pub fn tokenize(&self, text: &str, from: usize) -> Vec<Tok> {
        let b = text.as_bytes();
        let mut i = from;
        // Skip the rest of a word that started before `from`.
        if i > 0 && i < b.len() && b[i - 1].is_ascii_alphanumeric() {
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
        }
        let mut out = Vec::new();
        let mut buf = [0u8; MAX_TOKEN];
        while i < b.len() {
            if !b[i].is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let len = i - start;
            let id = if len <= MAX_TOKEN {
                for (d, s) in buf.iter_mut().zip(&b[start..i]) {
                    *d = s.to_ascii_lowercase();
                }
                // ASCII alphanumerics only, so this is valid UTF-8.
                std::str::from_utf8(&buf[..len])
                    .ok()
                    .and_then(|w| self.vocab.get(fold(w)).copied())
            } else {
                None
            };
            out.push(Tok { start, end: i, id });
        }
        out
    }

    /// The longest phrase starting at token `i`: `(index of the token after it, info)`.
    pub fn longest_at(&self, toks: &[Tok], i: usize) -> Option<(usize, &PhraseInfo)> {
        self.walk(toks, i, None).0
    }

    /// Walks the trie from token `i`: the longest phrase on the way and, with `text_len`,
    /// whether the path is still open at the end of the text (see [`PhraseSet::open_at`]).
    pub fn walk(
        &self,
        toks: &[Tok],
        i: usize,
        text_len: Option<usize>,
    ) -> (Option<(usize, &PhraseInfo)>, bool) {
        let mut node = 0u32;
        let mut best = None;
        let mut j = i;
        while j < toks.len() {
            if j > i && toks[j].start - toks[j - 1].end > MAX_GAP {
                return (best, false);
            }
            if let Some(len) = text_len {
                if j == toks.len() - 1 && toks[j].end == len {
                    // The last word may still grow: it could become any child of `node`.
                    let open = self.has_child[node as usize];
                    // Whole-text semantics for `best`: the word as it stands.
                    let done = toks[j]
                        .id
                        .and_then(|id| self.child(node, id))
                        .map(|n| (n, self.terminal[n as usize]));
                    if let Some((_, t)) = done.filter(|(_, t)| *t != NONE) {
                        best = Some((j + 1, &self.infos[t as usize]));
                    }
                    return (best, open);
                }
            }
            let Some(id) = toks[j].id else {
                return (best, false);
            };
            let Some(n) = self.child(node, id) else {
                return (best, false);
            };
            node = n;
            j += 1;
            let t = self.terminal[node as usize];
            if t != NONE {
                best = Some((j, &self.infos[t as usize]));
            }
        }
        let open = match (text_len, toks.last()) {
            (Some(len), Some(last)) => len - last.end <= MAX_GAP && self.has_child[node as usize],
            _ => false,
        };
        (best, open)
    }

    /// Whether tokens `i..` of `toks` (the end of the text so far) could still grow into a
    /// longer phrase if text were appended: the path from `i` reaches the last token and, if
    /// `text_len` ends inside that token or in a short gap after it, the trie goes on.
    pub fn open_at(&self, toks: &[Tok], i: usize, text_len: usize) -> bool {
        let mut node = 0u32;
        let last = toks.len() - 1;
        for j in i..toks.len() {
            if j > i && toks[j].start - toks[j - 1].end > MAX_GAP {
                return false;
            }
            if j == last && toks[j].end == text_len {
                // The word may still grow: any child could come, or `node` itself continues.
                return self.has_child[node as usize];
            }
            let Some(id) = toks[j].id else { return false };
            let Some(n) = self.child(node, id) else {
                return false;
            };
            node = n;
        }
        // Complete last token followed by a gap: more tokens may come if the gap is short.
        let gap = text_len - toks[last].end;
        gap <= MAX_GAP && self.has_child[node as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(phrases: &[&str]) -> PhraseSet {
        let mut s = PhraseSet::new();
        for p in phrases {
            s.add(
                &words(p),
                PhraseInfo {
                    licence: (*p).to_string(),
                    score: 1.0,
                    kind: PhraseKind::Notice,
                },
            );
        }
        s
    }

    #[test]
    fn expand_alternatives() {
        let mut v = expand("{this program|this library|} is free {software|code}");
        v.sort();
        assert_eq!(
            v,
            [
                " is free code",
                " is free software",
                "this library is free code",
                "this library is free software",
                "this program is free code",
                "this program is free software",
            ]
        );
    }

    #[test]
    fn tokens_fold_and_skip_split_word() {
        let s = set(&["licence https"]);
        let t = s.tokenize("The LICENCE, https://x", 0);
        assert_eq!(t.len(), 4);
        assert!(t[1].id.is_some() && t[2].id.is_some());
        assert_eq!(t[0].id, None);
        // Starting inside "LICENCE" skips the rest of it.
        let t = s.tokenize("The LICENCE, https://x", 6);
        assert_eq!(t[0].start, 13);
    }

    #[test]
    fn longest_wins_and_gaps_bound() {
        let s = set(&["free software", "free software foundation"]);
        let toks = s.tokenize("a free\n * software // foundation", 0);
        let (end, info) = s.longest_at(&toks, 1).unwrap();
        assert_eq!(end, 4);
        assert_eq!(info.licence, "free software foundation");
        let far = format!("free{}software", " ".repeat(MAX_GAP + 1));
        let toks = s.tokenize(&far, 0);
        assert!(s.longest_at(&toks, 0).is_none());
    }

    #[test]
    fn open_paths() {
        let s = set(&["free software foundation"]);
        let text = "free softw";
        let toks = s.tokenize(text, 0);
        assert!(s.open_at(&toks, 0, text.len()));
        let text = "free software ";
        let toks = s.tokenize(text, 0);
        assert!(s.open_at(&toks, 0, text.len()));
        let text = "free hardware ";
        let toks = s.tokenize(text, 0);
        assert!(!s.open_at(&toks, 0, text.len()));
        let text = "free software foundation";
        let toks = s.tokenize(text, 0);
        // Complete phrase at the end, but "foundation" could still become "foundations".
        assert!(!s.open_at(&toks, 0, text.len() + 1));
    }
}
