//! Test helpers: comment styles, reflowing, and the simulated stream that checks the
//! `Detector` streaming contract.

#![allow(dead_code)]

use glassbox_core::{Detector, Match};

/// Comment styles: `(name, block opener, line prefix, block closer)`.
pub const STYLES: &[(&str, &str, &str, &str)] = &[
    ("c-block", "/*\n", " * ", " */\n"),
    ("cpp-line", "", "// ", ""),
    ("python-hash", "", "# ", ""),
    ("html", "<!--\n", "  ", "-->\n"),
    ("sql", "", "-- ", ""),
    ("lisp", "", ";; ", ""),
    ("rust-doc", "", "//! ", ""),
    ("python-docstring", "\"\"\"\n", "    ", "\"\"\"\n"),
    ("haskell", "{-\n", "   ", "-}\n"),
    ("fortran", "", "! ", ""),
    ("markdown-quote", "", "> ", ""),
    ("plain", "", "", ""),
];

/// Reflows `text` to lines of at most `width` characters (paragraphs kept), each with the
/// style's prefix, inside its block markers.
pub fn wrap(text: &str, style: (&str, &str, &str, &str), width: usize) -> String {
    let (_, open, prefix, close) = style;
    let mut out = String::from(open);
    for para in text.split("\n\n") {
        let mut line = String::new();
        for w in para.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + w.len() > width {
                out.push_str(prefix);
                out.push_str(&line);
                out.push('\n');
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(w);
        }
        if !line.is_empty() {
            out.push_str(prefix);
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str(prefix.trim_end());
        out.push('\n');
    }
    out.push_str(close);
    out
}

/// Wraps a comment in some code of the style's language.
pub fn in_code(comment: &str, style: &str) -> String {
    let (before, after) = match style {
        "python-hash" | "python-docstring" => (
            "#!/usr/bin/env python3\n",
            "\nimport os\n\ndef main():\n    return os.getcwd()\n",
        ),
        "sql" => ("", "\nSELECT id, name FROM users WHERE active = 1;\n"),
        "lisp" => ("", "\n(defun square (x) (* x x))\n"),
        "html" => ("<!doctype html>\n", "\n<p>Hello</p>\n"),
        "haskell" => ("", "\nmodule Main where\nmain = putStrLn \"hi\"\n"),
        "fortran" => ("", "\nprogram hello\n  print *, 'hi'\nend program hello\n"),
        "rust-doc" | "cpp-line" | "c-block" => {
            ("", "\n#include <stdio.h>\nint main(void) { return 0; }\n")
        }
        _ => ("Here is the file:\n\n", "\nThat is all.\n"),
    };
    format!("{before}{comment}{after}")
}

/// Findings of the whole text, sorted.
pub fn whole(d: &dyn Detector, text: &str) -> Vec<Match> {
    let mut out = Vec::new();
    d.detect(text, 0, &mut out).expect("detect");
    sort(&mut out);
    out
}

fn sort(v: &mut [Match]) {
    v.sort_by(|a, b| {
        (a.start, a.end, a.category.as_str()).cmp(&(b.start, b.end, b.category.as_str()))
    });
}

/// What a streaming scanner finds when `text` arrives in pieces ending at `cuts` (then the
/// rest): at each step `detect(window, from)` keeps the matches starting before
/// `live_from(window, from)` and resumes after them; at the end everything left is final.
pub fn streamed(d: &dyn Detector, text: &str, cuts: &[usize]) -> Vec<Match> {
    let mut found = Vec::new();
    let mut from = 0;
    let mut ends: Vec<usize> = cuts
        .iter()
        .copied()
        .filter(|&c| c < text.len() && text.is_char_boundary(c))
        .collect();
    ends.push(text.len());
    for end in ends {
        let window = &text[..end];
        if from > end {
            continue;
        }
        let live = if end == text.len() {
            end
        } else {
            d.live_from(window, from)
        };
        assert!(
            live >= from && live <= end,
            "live_from {live} outside [{from}, {end}]"
        );
        let mut out = Vec::new();
        d.detect(window, from, &mut out).expect("detect");
        let mut next = live;
        for m in out {
            if m.start < live {
                next = next.max(m.end);
                found.push(m);
            }
        }
        from = next;
    }
    sort(&mut found);
    found
}

/// Cut points every `step` bytes.
pub fn every(text: &str, step: usize) -> Vec<usize> {
    (1..text.len()).step_by(step.max(1)).collect()
}

/// Checks that streaming `text` in steps of each size finds what the whole text gives.
pub fn assert_stream_equals_whole(d: &dyn Detector, text: &str, steps: &[usize]) {
    let w = whole(d, text);
    for &step in steps {
        let s = streamed(d, text, &every(text, step));
        assert_eq!(
            s, w,
            "streaming in steps of {step} differs from whole text for:\n{text}"
        );
    }
}

/// Categories of `ms`, deduplicated, in order.
pub fn cats(ms: &[Match]) -> Vec<String> {
    let mut v: Vec<String> = ms.iter().map(|m| m.category.to_string()).collect();
    v.sort();
    v.dedup();
    v
}

/// Bytes of `text` covered by the union of the spans.
pub fn covered(ms: &[Match]) -> usize {
    let mut spans: Vec<(usize, usize)> = ms.iter().map(|m| (m.start, m.end)).collect();
    spans.sort();
    let (mut total, mut cur_end) = (0, 0);
    for (s, e) in spans {
        let s = s.max(cur_end);
        if e > s {
            total += e - s;
            cur_end = e;
        }
    }
    total
}
