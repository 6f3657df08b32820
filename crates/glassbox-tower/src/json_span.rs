//! Byte spans of JSON values, so that a masked text field is rewritten in place and every other
//! byte of a body or an SSE event (unknown fields, key order, whitespace) passes unchanged.
//!
//! [`locate`] walks a document (already validated by `serde_json`) and returns the span of the
//! value at a path; [`splice`] replaces spans with new JSON string literals.

use std::ops::Range;

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// An object member.
    Key(&'static str),
    /// An object member with an owned name.
    Name(String),
    /// An array element.
    Idx(usize),
}

/// A path from the document root.
pub(crate) type Path = Vec<Seg>;

/// The byte span of the value at `path` in `doc`, or `None` when there is no such value or the
/// document is not well-formed there.
pub(crate) fn locate(doc: &str, path: &[Seg]) -> Option<Range<usize>> {
    let b = doc.as_bytes();
    let mut at = skip_ws(b, 0);
    for seg in path {
        match seg {
            Seg::Key(k) => at = member(b, at, k)?,
            Seg::Name(k) => at = member(b, at, k)?,
            Seg::Idx(i) => at = element(b, at, *i)?,
        }
    }
    let end = value_end(b, at)?;
    Some(at..end)
}

/// Replaces each span by its replacement, which is JSON text (a string literal from
/// [`quote`], a number). Spans must not overlap.
pub(crate) fn splice(doc: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(doc.len() + 16);
    let mut at = 0;
    for (r, text) in edits {
        if r.start < at || r.end > doc.len() {
            // Overlapping or out of range: callers never produce this; skip rather than panic.
            continue;
        }
        out.push_str(&doc[at..r.start]);
        out.push_str(&text);
        at = r.end;
    }
    out.push_str(&doc[at..]);
    out
}

/// The JSON string literal for `s`.
pub(crate) fn quote(s: &str) -> String {
    // Serialising a &str cannot fail.
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Start of the value of member `key` of the object starting at `at`.
fn member(b: &[u8], at: usize, key: &str) -> Option<usize> {
    if b.get(at) != Some(&b'{') {
        return None;
    }
    let mut i = skip_ws(b, at + 1);
    if b.get(i) == Some(&b'}') {
        return None;
    }
    loop {
        let kend = string_end(b, i)?;
        let name = &b[i..kend];
        i = skip_ws(b, kend);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let vstart = skip_ws(b, i + 1);
        if key_equals(name, key) {
            return Some(vstart);
        }
        i = skip_ws(b, value_end(b, vstart)?);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            _ => return None,
        }
    }
}

fn key_equals(literal: &[u8], key: &str) -> bool {
    let inner = &literal[1..literal.len() - 1];
    if !inner.contains(&b'\\') {
        return inner == key.as_bytes();
    }
    std::str::from_utf8(literal)
        .ok()
        .and_then(|s| serde_json::from_str::<String>(s).ok())
        .is_some_and(|s| s == key)
}

/// Start of element `idx` of the array starting at `at`.
fn element(b: &[u8], at: usize, idx: usize) -> Option<usize> {
    if b.get(at) != Some(&b'[') {
        return None;
    }
    let mut i = skip_ws(b, at + 1);
    if b.get(i) == Some(&b']') {
        return None;
    }
    let mut n = 0;
    loop {
        if n == idx {
            return Some(i);
        }
        i = skip_ws(b, value_end(b, i)?);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            _ => return None,
        }
        n += 1;
    }
}

/// One past the end of the string literal starting at `at`.
fn string_end(b: &[u8], at: usize) -> Option<usize> {
    if b.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = at + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// One past the end of the value starting at `at`.
fn value_end(b: &[u8], at: usize) -> Option<usize> {
    match *b.get(at)? {
        b'"' => string_end(b, at),
        open @ (b'{' | b'[') => {
            let close = if open == b'{' { b'}' } else { b']' };
            let mut i = skip_ws(b, at + 1);
            if b.get(i) == Some(&close) {
                return Some(i + 1);
            }
            loop {
                if open == b'{' {
                    i = skip_ws(b, string_end(b, i)?);
                    if b.get(i) != Some(&b':') {
                        return None;
                    }
                    i = skip_ws(b, i + 1);
                }
                i = skip_ws(b, value_end(b, i)?);
                match b.get(i) {
                    Some(b',') => i = skip_ws(b, i + 1),
                    Some(c) if *c == close => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        _ => {
            let mut i = at;
            while i < b.len() && !matches!(b[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                i += 1;
            }
            (i > at).then_some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#" {"a": [1, {"b\u0022": "x\"y", "c" : "z"}], "d":{}, "e" : "é" } "#;

    #[test]
    fn locates_values_by_path() {
        let cases: &[(&[Seg], Option<&str>)] = &[
            (
                &[Seg::Key("a")],
                Some(r#"[1, {"b\u0022": "x\"y", "c" : "z"}]"#),
            ),
            (&[Seg::Key("a"), Seg::Idx(0)], Some("1")),
            (&[Seg::Key("a"), Seg::Idx(1), Seg::Key("c")], Some(r#""z""#)),
            (
                &[Seg::Key("a"), Seg::Idx(1), Seg::Name("b\"".into())],
                Some(r#""x\"y""#),
            ),
            (&[Seg::Key("a"), Seg::Idx(2)], None),
            (&[Seg::Key("d")], Some("{}")),
            (&[Seg::Key("d"), Seg::Key("x")], None),
            (&[Seg::Key("e")], Some(r#""é""#)),
            (&[Seg::Key("zz")], None),
        ];
        for (path, want) in cases {
            let got = locate(DOC, path).map(|r| &DOC[r]);
            assert_eq!(got, *want, "{path:?}");
        }
    }

    #[test]
    fn splice_rewrites_only_the_spans() {
        let c = locate(DOC, &[Seg::Key("a"), Seg::Idx(1), Seg::Key("c")]).unwrap();
        let e = locate(DOC, &[Seg::Key("e")]).unwrap();
        let out = splice(DOC, vec![(e, quote("E\n")), (c, quote("q\""))]);
        assert_eq!(
            out,
            r#" {"a": [1, {"b\u0022": "x\"y", "c" : "q\""}], "d":{}, "e" : "E\n" } "#
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["e"], "E\n");
    }
}
