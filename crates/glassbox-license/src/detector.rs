//! [`LicenseDetector`]: SPDX tags, notices, full-text sentences and prose references in one
//! `glassbox_core::Detector`.
//!
//! Two independent rules, each leftmost-first and resuming after an accepted match:
//!
//! - **tags** — see [`crate::tag`]; one match per licence the expression puts the text under
//!   (for `A OR B` the alternative of the least restrictive class, for `A AND B` both), all
//!   spanning the tag, or one `license.invalid_expression` match;
//! - **phrases** — see [`crate::phrase`]: leftmost-longest over notices, text sentences and
//!   prose references. A prose reference is dropped when its sentence ends with `?` (asking
//!   about a licence is not a finding); the sentence end is looked for in the
//!   [`QUESTION_WINDOW`] bytes after the match, and the end of the text counts as a full stop.
//!
//! `live_from` is exact for both rules: it is the start of the earliest tag that is not
//! finished (no line end yet), of a partial tag anchor at the end of the text, of the earliest
//! token from which a phrase path is still open, or of a prose reference whose sentence end
//! has not arrived.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aho_corasick::AhoCorasick;
use glassbox_core::policy::{LicenseClass, LicenseConfig};
use glassbox_core::{Action, Category, Detector, DetectorError, Family, Match, Scope};

use crate::class;
use crate::corpus::{self, Tables};
use crate::phrase::{PhraseKind, PhraseSet, Tok, MAX_MATCH_LEN};
use crate::tag::{self, TagScan, ANCHOR, MAX_TAG};

/// Bytes after a prose reference searched for the end of its sentence.
pub const QUESTION_WINDOW: usize = 200;

/// Category kind of an unparsable `SPDX-License-Identifier` expression.
pub const INVALID_EXPRESSION: &str = "invalid_expression";

/// Why a licence detector could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LicenseError {
    /// The tag anchor automaton failed to build (cannot happen with the fixed anchor).
    #[error("building the SPDX tag matcher failed: {0}")]
    Automaton(String),
    /// A file could not be read.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A file is not in the expected format.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong, and where.
        reason: String,
    },
}

/// What glassbox knows about a licence id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceInfo {
    /// The id (`MIT`, `LicenseRef-Llama-3-Community`, `invalid_expression`).
    pub id: String,
    /// Its class under the configuration.
    pub class: LicenseClass,
    /// The full name, when the SPDX list has it.
    pub name: Option<&'static str>,
    /// What using it obliges, for annotations.
    pub obligations: &'static str,
}

/// Finds licences in text; built by [`detector`].
#[derive(Debug, Clone)]
pub struct LicenseDetector {
    cfg: LicenseConfig,
    phrases: Option<Arc<PhraseSet>>,
    anchor: Option<AhoCorasick>,
}

/// Builds the licence detector for a policy's `licenses:` section.
///
/// The phrase tables (≈ every sentence of the SPDX licence texts) are built once per process
/// and configuration and shared.
///
/// # Errors
/// [`LicenseError::Automaton`] if the tag matcher cannot be built.
///
/// # Example
/// ```
/// use glassbox_core::Detector;
/// let d = glassbox_license::detector(&Default::default()).unwrap();
/// let mut out = Vec::new();
/// d.detect("// SPDX-License-Identifier: GPL-2.0-only\nint x;", 0, &mut out).unwrap();
/// assert_eq!(out[0].category.as_str(), "license.GPL-2.0-only");
/// ```
pub fn detector(cfg: &LicenseConfig) -> Result<LicenseDetector, LicenseError> {
    let anchor = if cfg.enabled && cfg.tags {
        Some(
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build([ANCHOR])
                .map_err(|e| LicenseError::Automaton(e.to_string()))?,
        )
    } else {
        None
    };
    let tables = Tables {
        texts: cfg.texts,
        references: cfg.references,
    };
    let phrases = (cfg.enabled && (cfg.texts || cfg.references))
        .then(|| phrase_set(tables, cfg.reference_score));
    Ok(LicenseDetector {
        cfg: cfg.clone(),
        phrases,
        anchor,
    })
}

fn phrase_set(tables: Tables, score: f32) -> Arc<PhraseSet> {
    type Cache = Mutex<HashMap<(Tables, u32), Arc<PhraseSet>>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (tables, score.to_bits());
    if let Ok(c) = cache.lock() {
        if let Some(s) = c.get(&key) {
            return Arc::clone(s);
        }
    }
    // Build outside the lock; a concurrent builder of the same key just wastes work.
    let set = Arc::new(corpus::build(tables, score));
    if let Ok(mut c) = cache.lock() {
        c.entry(key).or_insert_with(|| Arc::clone(&set));
    }
    set
}

fn category(licence: &str) -> Category {
    Category::new(format!("license.{licence}"))
        .unwrap_or_else(|_| Category::of(Family::License, INVALID_EXPRESSION))
}

/// Whether the sentence after a prose reference ending at `end` is a question: `Some(true)`
/// question, `Some(false)` statement, `None` undecided (the text stops before its end).
fn is_question(text: &str, end: usize) -> Option<bool> {
    let b = text.as_bytes();
    let limit = (end + QUESTION_WINDOW).min(b.len());
    for k in end..limit {
        match b[k] {
            b'?' => return Some(true),
            b'\n' | b'!' => return Some(false),
            b'.' => match b.get(k + 1) {
                Some(c) if c.is_ascii_whitespace() => return Some(false),
                Some(_) => {}
                None => return None,
            },
            _ => {}
        }
    }
    if limit == end + QUESTION_WINDOW {
        Some(false)
    } else {
        None
    }
}

impl LicenseDetector {
    /// The configuration it was built from.
    pub fn config(&self) -> &LicenseConfig {
        &self.cfg
    }

    /// Class, name and obligations of a licence id under this configuration.
    pub fn info(&self, id: &str) -> LicenceInfo {
        let c = class::class_of(id, &self.cfg);
        LicenceInfo {
            id: id.to_string(),
            class: c,
            name: spdx::license_id(id.trim_end_matches('+')).map(|l| l.full_name),
            obligations: class::obligations(id, c),
        }
    }

    /// Licences found in a whole document (a model's licence file, an Ollama `license` field),
    /// with the bytes of text matched for each, most first.
    pub fn identify(&self, text: &str) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        if self.detect(text, 0, &mut out).is_err() {
            return Vec::new();
        }
        let mut by: HashMap<String, usize> = HashMap::new();
        for m in out {
            if let Some(k) = m.category.kind() {
                *by.entry(k.to_string()).or_default() += m.end - m.start;
            }
        }
        let mut v: Vec<_> = by.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    fn tag_matches(&self, ac: &AhoCorasick, text: &str, from: usize, out: &mut Vec<Match>) {
        let mut pos = from;
        while pos < text.len() {
            let Some(m) = ac.find(aho_corasick::Input::new(text).span(pos..text.len())) else {
                return;
            };
            // `detect` treats the end of the text as the end of the line; `live_from` holds an
            // unfinished tag, so a streamed window never keeps one.
            match tag::scan_at(text, m.start(), true) {
                TagScan::Found(t) => {
                    let expr = &text[t.expr.clone()];
                    let ids = match tag::parse_expression(expr) {
                        Ok(e) => class::effective_ids(&e, &self.cfg),
                        Err(_) => vec![INVALID_EXPRESSION.to_string()],
                    };
                    for id in ids {
                        out.push(Match::new(t.span.start, t.span.end, category(&id), 1.0));
                    }
                    pos = t.span.end.max(m.end());
                }
                TagScan::Open | TagScan::NotATag => pos = m.start() + 1,
            }
        }
    }

    fn tag_live(&self, ac: &AhoCorasick, text: &str, from: usize) -> usize {
        let mut pos = from;
        while pos < text.len() {
            let Some(m) = ac.find(aho_corasick::Input::new(text).span(pos..text.len())) else {
                break;
            };
            match tag::scan_at(text, m.start(), false) {
                TagScan::Found(t) => pos = t.span.end.max(m.end()),
                TagScan::Open => return m.start(),
                TagScan::NotATag => pos = m.start() + 1,
            }
        }
        // A partial anchor at the very end.
        let b = text.as_bytes();
        for k in (1..ANCHOR.len()).rev() {
            if k <= text.len() - from.min(text.len())
                && b[text.len() - k..].eq_ignore_ascii_case(&ANCHOR.as_bytes()[..k])
            {
                return text.len() - k;
            }
        }
        text.len()
    }

    /// Runs the phrase rule from `from`; with `live`, stops at the first position where a
    /// match could still start or change and returns it.
    fn phrase_scan(
        &self,
        set: &PhraseSet,
        text: &str,
        from: usize,
        mut out: Option<&mut Vec<Match>>,
        live: bool,
    ) -> usize {
        let toks: Vec<Tok> = set.tokenize(text, from);
        let mut i = 0;
        while i < toks.len() {
            let (longest, open) = set.walk(&toks, i, live.then_some(text.len()));
            if open {
                return toks[i].start;
            }
            match longest {
                Some((j, info)) => {
                    let (start, end) = (toks[i].start, toks[j - 1].end);
                    let keep = match info.kind {
                        PhraseKind::Reference => match is_question(text, end) {
                            Some(q) => !q,
                            None if live => return start,
                            None => true,
                        },
                        _ => true,
                    };
                    if keep {
                        if let Some(out) = out.as_deref_mut() {
                            out.push(Match::new(start, end, category(&info.licence), info.score));
                        }
                        i = j;
                    } else {
                        i += 1;
                    }
                }
                None => i += 1,
            }
        }
        text.len()
    }
}

impl Detector for LicenseDetector {
    fn name(&self) -> &str {
        "license"
    }

    fn detect(&self, text: &str, from: usize, out: &mut Vec<Match>) -> Result<(), DetectorError> {
        if from > text.len() || !text.is_char_boundary(from) {
            return Err(DetectorError::new(
                "license",
                format!(
                    "start offset {from} is not a character boundary of a {}-byte text",
                    text.len()
                ),
            ));
        }
        if let Some(ac) = &self.anchor {
            self.tag_matches(ac, text, from, out);
        }
        if let Some(set) = &self.phrases {
            self.phrase_scan(set, text, from, Some(out), false);
        }
        Ok(())
    }

    fn live_from(&self, text: &str, from: usize) -> usize {
        let from = from.min(text.len());
        let mut live = text.len();
        if let Some(ac) = &self.anchor {
            live = live.min(self.tag_live(ac, text, from));
        }
        if let Some(set) = &self.phrases {
            live = live.min(self.phrase_scan(set, text, from, None, true));
        }
        live.max(from)
    }

    fn max_match_len(&self) -> usize {
        // Tags are shorter; a prose reference's decision window is far inside this bound.
        MAX_MATCH_LEN.max(MAX_TAG)
    }

    fn action_for(&self, category: &Category, scope: Scope<'_>) -> Option<Action> {
        if category.family() != Family::License {
            return None;
        }
        class::action_for_id(&self.cfg, category.kind()?, scope)
    }
}
