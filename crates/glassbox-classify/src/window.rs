//! Tokenisation and windowing: a text becomes one or more overlapping windows of at most the
//! model's `max_tokens` tokens (special tokens included), each with the byte span of the text it
//! covers. A classifier's score for a text is the maximum over its windows.

use tokenizers::Tokenizer;

use crate::manifest::VerifiedBundle;
use crate::ClassifyError;

/// One window of a text, ready for the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Token ids, special tokens included, unpadded.
    pub ids: Vec<u32>,
    /// First byte of the text the window covers.
    pub start: usize,
    /// One past the last byte it covers.
    pub end: usize,
}

/// Splits texts into model windows with a bundle's tokenizer.
#[derive(Debug, Clone)]
pub struct Windower {
    tokenizer: Tokenizer,
    prefix: Vec<u32>,
    suffix: Vec<u32>,
    content: usize,
    overlap: usize,
    drop_id: Option<u32>,
}

impl Windower {
    /// Loads the bundle's `tokenizer.json` (padding and truncation switched off: windowing does
    /// both) and checks it against the manifest.
    ///
    /// # Errors
    /// [`ClassifyError::Tokenizer`] when the file does not load, its vocabulary size differs from
    /// the manifest's, or it lacks what the manifest needs (special tokens, `[UNK]`).
    pub fn new(bundle: &VerifiedBundle) -> Result<Windower, ClassifyError> {
        let m = &bundle.manifest;
        let err = |reason: String| ClassifyError::Tokenizer {
            bundle: m.name.clone(),
            reason,
        };
        let mut tokenizer = Tokenizer::from_file(bundle.file("tokenizer.json"))
            .map_err(|e| err(format!("tokenizer.json does not load: {e}")))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| err(format!("cannot switch truncation off: {e}")))?;
        let vocab = tokenizer.get_vocab_size(true);
        if vocab != m.tokenizer.vocab_size {
            return Err(err(format!(
                "tokenizer.json has {vocab} tokens, the manifest says {} (a tokenizer from another model?)",
                m.tokenizer.vocab_size
            )));
        }
        let (prefix, suffix) = if m.tokenizer.add_special_tokens {
            special_tokens(&tokenizer).map_err(err)?
        } else {
            (Vec::new(), Vec::new())
        };
        let drop_id = if m.tokenizer.drop_unknown {
            Some(tokenizer.token_to_id("[UNK]").ok_or_else(|| {
                err("`drop_unknown` is set but the vocabulary has no `[UNK]`".into())
            })?)
        } else {
            None
        };
        let specials = prefix.len() + suffix.len();
        if m.max_tokens <= specials + m.window_overlap_tokens {
            return Err(err(format!(
                "{specials} special tokens and {} overlap leave no room in {} tokens",
                m.window_overlap_tokens, m.max_tokens
            )));
        }
        Ok(Windower {
            tokenizer,
            prefix,
            suffix,
            content: m.max_tokens - specials,
            overlap: m.window_overlap_tokens,
            drop_id,
        })
    }

    /// Content tokens per window (special tokens excluded).
    pub fn content_tokens(&self) -> usize {
        self.content
    }

    /// The text's windows, in order. Empty when the text has no tokens.
    ///
    /// # Errors
    /// The tokenizer's message when it fails on the text.
    pub fn windows(&self, text: &str) -> Result<Vec<Window>, String> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| e.to_string())?;
        let mut ids = Vec::with_capacity(enc.get_ids().len());
        let mut offsets = Vec::with_capacity(enc.get_ids().len());
        for (&id, &off) in enc.get_ids().iter().zip(enc.get_offsets()) {
            if Some(id) != self.drop_id {
                ids.push(id);
                offsets.push(off);
            }
        }
        Ok(plan_windows(ids.len(), self.content, self.overlap)
            .into_iter()
            .map(|(a, b)| {
                let mut w = Vec::with_capacity(self.prefix.len() + (b - a) + self.suffix.len());
                w.extend_from_slice(&self.prefix);
                w.extend_from_slice(&ids[a..b]);
                w.extend_from_slice(&self.suffix);
                Window {
                    ids: w,
                    start: offsets[a].0,
                    end: offsets[b - 1].1,
                }
            })
            .collect())
    }
}

/// Token ranges `[a, b)` of windows of `size` tokens over `n` tokens, consecutive windows
/// sharing `overlap` tokens; the last window ends at `n` (moved back to be full when it can be).
pub fn plan_windows(n: usize, size: usize, overlap: usize) -> Vec<(usize, usize)> {
    if n == 0 || size == 0 {
        return Vec::new();
    }
    if n <= size {
        return vec![(0, n)];
    }
    let stride = size.saturating_sub(overlap).max(1);
    let mut out = Vec::new();
    let mut a = 0;
    loop {
        if a + size >= n {
            out.push((n - size, n));
            break;
        }
        out.push((a, a + size));
        a += stride;
    }
    out
}

/// The tokens the post-processor puts before and after a sequence (`[CLS]` … `[SEP]`).
fn special_tokens(t: &Tokenizer) -> Result<(Vec<u32>, Vec<u32>), String> {
    let plain = t.encode("a", false).map_err(|e| e.to_string())?;
    let full = t.encode("a", true).map_err(|e| e.to_string())?;
    let (p, f) = (plain.get_ids(), full.get_ids());
    let at = (0..=f.len().saturating_sub(p.len()))
        .find(|&i| f[i..].starts_with(p))
        .ok_or(
            "the post-processor changes the tokens of a sequence; cannot find its special tokens",
        )?;
    Ok((f[..at].to_vec(), f[at + p.len()..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::plan_windows;

    /// (tokens, window size, overlap, expected ranges)
    type Case = (usize, usize, usize, &'static [(usize, usize)]);

    #[test]
    fn window_plans() {
        let cases: &[Case] = &[
            (0, 10, 2, &[]),
            (1, 10, 2, &[(0, 1)]),
            (10, 10, 2, &[(0, 10)]),
            (11, 10, 2, &[(0, 10), (1, 11)]),
            (18, 10, 2, &[(0, 10), (8, 18)]),
            (19, 10, 2, &[(0, 10), (8, 18), (9, 19)]),
            (26, 10, 2, &[(0, 10), (8, 18), (16, 26)]),
            (5, 3, 0, &[(0, 3), (2, 5)]),
        ];
        for (n, size, overlap, want) in cases {
            let got = plan_windows(*n, *size, *overlap);
            assert_eq!(got, *want, "n={n} size={size} overlap={overlap}");
            // Every token is covered and consecutive windows overlap by at least `overlap`.
            for w in got.windows(2) {
                assert!(w[0].1 >= w[1].0 + overlap, "{w:?}");
            }
            if *n > 0 {
                assert_eq!(got.first().map(|w| w.0), Some(0));
                assert_eq!(got.last().map(|w| w.1), Some(*n));
            }
        }
    }
}
