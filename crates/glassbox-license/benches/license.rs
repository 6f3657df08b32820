//! Licence detection throughput on code-heavy text.
//!
//! Run: `cargo bench -p glassbox-license --bench license -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use glassbox_core::Detector;

const RUST: &str = r#"
use std::collections::HashMap;

/// Counts words in a text, case-insensitively.
pub fn word_counts(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for w in text.split_whitespace() {
        *counts.entry(w.to_lowercase()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts() {
        let c = super::word_counts("a b A");
        assert_eq!(c["a"], 2);
    }
}
"#;

const PYTHON: &str = r#"
import json
import sys


def load(path):
    """Load a JSON file and return the license field if present."""
    with open(path) as f:
        data = json.load(f)
    return data.get("license", "unknown")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(p, load(p))
"#;

const C_HEADER: &str = "/*\n * Copyright (C) 2021 Example Corp.\n *\n * This program is free software; you can redistribute it and/or modify\n * it under the terms of the GNU General Public License as published by\n * the Free Software Foundation; either version 2 of the License, or\n * (at your option) any later version.\n */\n// SPDX-License-Identifier: GPL-2.0-or-later\n#include <stdio.h>\nint main(void) { printf(\"hi\\n\"); return 0; }\n";

const PROSE: &str = "Here is a function that parses the configuration file and returns the values. It handles missing keys by falling back to defaults, and it reports errors with the line number so you can fix the file quickly. ";

fn repeat_to(parts: &[&str], size: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < size {
        s.push_str(parts[i % parts.len()]);
        i += 1;
    }
    s
}

fn bench(c: &mut Criterion) {
    let d = glassbox_license::detector(&Default::default()).expect("detector");
    let inputs = [
        (
            "answer_2k_code",
            repeat_to(&[PROSE, "```rust", RUST, "```\n"], 2 * 1024),
        ),
        ("code_64k_no_licence", repeat_to(&[RUST, PYTHON], 64 * 1024)),
        (
            "code_64k_with_headers",
            repeat_to(&[RUST, C_HEADER, PYTHON], 64 * 1024),
        ),
        (
            "gpl3_full_text",
            spdx::license_id("GPL-3.0-only")
                .expect("id")
                .text()
                .to_string(),
        ),
    ];
    let mut g = c.benchmark_group("license_detect");
    for (name, text) in &inputs {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::new("whole", name), text, |b, t| {
            b.iter(|| {
                let mut out = Vec::new();
                d.detect(black_box(t), 0, &mut out).expect("detect");
                out
            })
        });
    }
    // The streaming path: 64-byte chunks, live_from + detect per chunk (what the scanner does).
    let text = &inputs[2].1;
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("stream_64B_chunks/code_64k_with_headers", |b| {
        b.iter(|| {
            let mut from = 0;
            let mut found = 0;
            let mut end = 0;
            while end < text.len() {
                end = (end + 64).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                let window = &text[..end];
                let live = if end == text.len() {
                    end
                } else {
                    d.live_from(window, from)
                };
                let mut out = Vec::new();
                d.detect(window, from, &mut out).expect("detect");
                let mut next = live;
                for m in out.iter().filter(|m| m.start < live) {
                    next = next.max(m.end);
                    found += 1;
                }
                from = next;
            }
            found
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
