//! Token log-probabilities (`logprobs`) repeat the answer's text token by token: a chat
//! choice's `logprobs.content[]` / `logprobs.refusal[]` entries carry `token`, `bytes` and
//! `top_logprobs[]`, a completion's `logprobs` carries parallel arrays `tokens`,
//! `token_logprobs`, `top_logprobs`, `text_offset`. Left alone they would show masked or
//! held-back text.
//!
//! The rule, for every screened choice of every event or whole answer: the entries kept are the
//! longest leading run whose tokens, joined, are a prefix of the text released for that field
//! in the same event (or answer), and whose `bytes`, when present, are exactly the token's
//! UTF-8 bytes. The other entries are dropped. When every entry is kept the `logprobs` value is
//! left byte for byte; otherwise it is rebuilt from the known arrays only (unknown members of
//! that `logprobs` object are dropped with them).

use std::ops::Range;

use serde_json::Value;

use crate::json_span::{locate, Path, Seg};
use crate::Api;

/// The chat `logprobs` arrays and the choice text field each one follows.
pub(crate) const CHAT_ARRAYS: &[(&str, &str)] = &[("content", "content"), ("refusal", "refusal")];

/// The completions `logprobs` arrays, parallel to `tokens`.
const COMPLETION_ARRAYS: &[&str] = &["tokens", "token_logprobs", "top_logprobs", "text_offset"];

/// How many leading chat entries (`{token, bytes, …}`) may be kept for `released`.
fn chat_kept(entries: &[Value], released: &str) -> usize {
    let mut at = 0;
    for (n, e) in entries.iter().enumerate() {
        let Some(token) = e.get("token").and_then(Value::as_str) else {
            return n;
        };
        match e.get("bytes") {
            None | Some(Value::Null) => {}
            Some(Value::Array(b)) => {
                let same = b.len() == token.len()
                    && b.iter()
                        .zip(token.bytes())
                        .all(|(x, y)| x.as_u64() == Some(u64::from(y)));
                if !same {
                    return n;
                }
            }
            Some(_) => return n,
        }
        if !released[at..].starts_with(token) {
            return n;
        }
        at += token.len();
    }
    entries.len()
}

/// How many leading completion tokens may be kept for `released`.
fn tokens_kept(tokens: &[Value], released: &str) -> usize {
    let mut at = 0;
    for (n, t) in tokens.iter().enumerate() {
        match t.as_str() {
            Some(t) if released[at..].starts_with(t) => at += t.len(),
            _ => return n,
        }
    }
    tokens.len()
}

/// The JSON text of the first `keep` elements of the array at `path` in `doc`.
fn prefix_array(doc: &str, path: &[Seg], keep: usize) -> String {
    let mut out = String::from("[");
    for i in 0..keep {
        let mut p = path.to_vec();
        p.push(Seg::Idx(i));
        if let Some(r) = locate(doc, &p) {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&doc[r]);
        }
    }
    out.push(']');
    out
}

/// The replacement for a choice's `logprobs` (the value at `path` in `doc`, parsed as `lp`),
/// given the text released for each choice field (`released(field)`, `""` when none), or
/// `None` when it may stay as it is.
///
/// `completions` selects the completions shape (`tokens` … against the `text` field).
pub(crate) fn screen(
    doc: &str,
    path: &[Seg],
    lp: &Value,
    completions: bool,
    released: impl Fn(&str) -> String,
) -> Option<String> {
    let Value::Object(m) = lp else {
        // `null` carries nothing; any other non-object is not a shape any SDK reads as tokens,
        // but it is not released either.
        return (!lp.is_null()).then(|| "null".to_string());
    };
    if completions {
        let tokens = match m.get("tokens") {
            Some(Value::Array(t)) => t.as_slice(),
            None | Some(Value::Null) => &[],
            Some(_) => return Some("null".to_string()),
        };
        let keep = tokens_kept(tokens, &released("text"));
        let parallel_ok = COMPLETION_ARRAYS.iter().all(|k| match m.get(*k) {
            Some(Value::Array(a)) => a.len() <= tokens.len(),
            _ => true,
        });
        if keep == tokens.len() && parallel_ok {
            return None;
        }
        let mut out = String::from("{");
        for k in COMPLETION_ARRAYS {
            if let Some(Value::Array(_)) = m.get(*k) {
                if out.len() > 1 {
                    out.push(',');
                }
                let mut p = path.to_vec();
                p.push(Seg::Key(k));
                out.push_str(&format!("\"{k}\":{}", prefix_array(doc, &p, keep)));
            }
        }
        out.push('}');
        return Some(out);
    }
    let mut kept = Vec::new();
    let mut whole = true;
    for (array, field) in CHAT_ARRAYS {
        match m.get(*array) {
            Some(Value::Array(entries)) => {
                let keep = chat_kept(entries, &released(field));
                whole &= keep == entries.len();
                kept.push((*array, Some(keep)));
            }
            None => {}
            Some(Value::Null) => kept.push((*array, None)),
            Some(_) => {
                whole = false;
                kept.push((*array, None));
            }
        }
    }
    if whole {
        return None;
    }
    let mut out = String::from("{");
    for (array, keep) in kept {
        if out.len() > 1 {
            out.push(',');
        }
        match keep {
            Some(keep) => {
                let mut p = path.to_vec();
                p.push(Seg::Key(array));
                out.push_str(&format!("\"{array}\":{}", prefix_array(doc, &p, keep)));
            }
            None => out.push_str(&format!("\"{array}\":null")),
        }
    }
    out.push('}');
    Some(out)
}

/// Edits for the `logprobs` of every choice of a whole (non-streamed) Chat Completions or
/// Completions answer `body` (the text `doc`), given the text released for each screened field
/// (by its path, as `response_texts` gives them).
pub(crate) fn answer_edits(
    api: Api,
    doc: &str,
    body: &Value,
    released: &[(Path, String)],
) -> Vec<(Range<usize>, String)> {
    let completions = match api {
        Api::Completions => true,
        Api::ChatCompletions => false,
        Api::Responses | Api::Messages => return Vec::new(),
    };
    let Some(Value::Array(choices)) = body.get("choices") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, c) in choices.iter().enumerate() {
        let Some(lp) = c.get("logprobs").filter(|lp| !lp.is_null()) else {
            continue;
        };
        let lpath = vec![Seg::Key("choices"), Seg::Idx(i), Seg::Key("logprobs")];
        let text = |field: &str| {
            let mut p = vec![Seg::Key("choices"), Seg::Idx(i)];
            if completions {
                p.push(Seg::Key("text"));
            } else {
                p.extend([Seg::Key("message"), Seg::Name(field.to_string())]);
            }
            released
                .iter()
                .find(|(q, _)| same_path(q, &p))
                .map_or_else(String::new, |(_, t)| t.clone())
        };
        if let Some(json) = screen(doc, &lpath, lp, completions, text) {
            if let Some(r) = locate(doc, &lpath) {
                out.push((r, json));
            }
        }
    }
    out
}

/// Path equality that treats `Key` and `Name` with the same member name alike.
fn same_path(a: &[Seg], b: &[Seg]) -> bool {
    let name = |s: &Seg| match s {
        Seg::Key(k) => Some(k.to_string()),
        Seg::Name(k) => Some(k.clone()),
        Seg::Idx(_) => None,
    };
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Seg::Idx(i), Seg::Idx(j)) => i == j,
            _ => name(x).is_some() && name(x) == name(y),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(doc: &str, completions: bool, released: &[(&str, &str)]) -> Option<Value> {
        let v: Value = serde_json::from_str(doc).unwrap();
        let path = [Seg::Key("logprobs")];
        let got = screen(doc, &path, &v["logprobs"], completions, |f| {
            released
                .iter()
                .find(|(k, _)| *k == f)
                .map_or(String::new(), |(_, t)| t.to_string())
        });
        got.map(|s| serde_json::from_str(&s).unwrap())
    }

    #[test]
    fn keeps_only_tokens_released_verbatim() {
        let chat = r#"{"logprobs":{"content":[
            {"token":"The","logprob":-1,"bytes":[84,104,101],"top_logprobs":[{"token":"The","logprob":-1}]},
            {"token":" Blue","logprob":-1,"bytes":[32,66,108,117,101],"top_logprobs":[]},
            {"token":"bird","logprob":-1,"bytes":[98,105,114,100],"top_logprobs":[]}],"extra":"x"}}"#;
        let cases: &[(&str, Option<usize>)] = &[
            // Released whole: untouched.
            ("The Bluebird", None),
            ("The Bluebird and more", None),
            // Held or masked: only the verbatim prefix.
            ("The [REDACTED:keyword]", Some(1)),
            ("The", Some(1)),
            ("The Blu", Some(1)),
            ("", Some(0)),
            // Text from an earlier event first: nothing lines up.
            ("x The Bluebird", Some(0)),
        ];
        for (released, want) in cases {
            let got = run(chat, false, &[("content", released)]);
            match want {
                None => assert_eq!(got, None, "{released:?}"),
                Some(n) => {
                    let got = got.unwrap_or_else(|| panic!("{released:?}: rewritten"));
                    let entries = got["content"].as_array().unwrap();
                    assert_eq!(entries.len(), *n, "{released:?}");
                    assert!(
                        got.get("extra").is_none(),
                        "{released:?}: unknown members go"
                    );
                    assert!(!got.to_string().contains("Blue"), "{released:?}: {got}");
                }
            }
        }
    }

    #[test]
    fn bytes_must_match_the_token() {
        let doc = r#"{"logprobs":{"content":[{"token":"a","bytes":[97]},{"token":"b","bytes":[66]},{"token":"c"}]}}"#;
        let got = run(doc, false, &[("content", "abc")]).unwrap();
        assert_eq!(got["content"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn refusal_follows_the_refusal_text() {
        let doc = r#"{"logprobs":{"content":null,"refusal":[{"token":"No","bytes":null},{"token":" SECRET"}]}}"#;
        let got = run(doc, false, &[("refusal", "No [REDACTED:x]")]).unwrap();
        assert_eq!(got["refusal"].as_array().unwrap().len(), 1);
        assert_eq!(got["content"], Value::Null);
        assert_eq!(run(doc, false, &[("refusal", "No SECRET")]), None);
    }

    #[test]
    fn completions_arrays_are_cut_together() {
        let doc = r#"{"logprobs":{"tokens":["The"," Blue","bird"],"token_logprobs":[-1,-2,-3],
            "top_logprobs":[{"The":-1},{" Blue":-2},{"bird":-3}],"text_offset":[0,3,8]}}"#;
        assert_eq!(run(doc, true, &[("text", "The Bluebird")]), None);
        let got = run(doc, true, &[("text", "The [REDACTED:k]")]).unwrap();
        for k in COMPLETION_ARRAYS {
            assert_eq!(got[*k].as_array().unwrap().len(), 1, "{k}");
        }
        assert!(!got.to_string().contains("Blue"), "{got}");
    }

    #[test]
    fn odd_shapes_are_dropped() {
        let doc = r#"{"logprobs":"The Bluebird"}"#;
        assert_eq!(run(doc, false, &[]), Some(Value::Null));
        assert_eq!(run(r#"{"logprobs":null}"#, false, &[]), None);
    }
}
