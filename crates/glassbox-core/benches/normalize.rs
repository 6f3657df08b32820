//! Normalisation throughput on ~1 MB of LLM-answer-like text.
//!
//! Run: `cargo bench -p glassbox-core --bench normalize -- --warm-up-time 1 --measurement-time 3`
//!
//! - `ascii`: English prose, Markdown and code, with the occasional `&` and `%` an answer has
//!   (`R&D`, `95%`, a URL with `%20`): the fast path with its rare exits.
//! - `mixed`: the same with accented words, typographic quotes and dashes, CJK, Hangul, emoji,
//!   a right-to-left phrase and the odd entity, zero-width character or full-width word.
//!
//! Each is normalised whole and streamed in 16-byte pushes (about one SSE token delta each).

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use glassbox_core::normalize::{normalize, OffsetMap, StreamNormalizer};

const ASCII_PARTS: &[&str] = &[
    "Here is a step-by-step explanation of how the algorithm works. ",
    "First, the input is split into tokens, and each token is looked up in the vocabulary. ",
    "The model then assigns a probability to every candidate continuation.\n\n",
    "## Example\n\n```python\ndef fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n```\n\n",
    "- Use a virtual environment so that dependencies do not leak.\n- Pin versions in requirements.txt.\n",
    "In our tests the cache hit rate was 95% after warm-up, and R&D expects more. ",
    "See https://example.com/search?q=rust%20streaming for details. ",
    "The function returns `Ok(())` on success and an error otherwise; callers should retry. ",
    "| Column | Type | Notes |\n|---|---|---|\n| id | int | primary key |\n",
    "Finally, remember that performance depends on the workload, the hardware and the data. ",
];

const MIXED_PARTS: &[&str] = &[
    "The caf\u{E9} in Z\u{FC}rich serves cr\u{E8}me br\u{FB}l\u{E9}e \u{2014} na\u{EF}vely delicious. ",
    "\u{201C}It\u{2019}s fine,\u{201D} she said \u{2013} but was it? ",
    "\u{65E5}\u{672C}\u{8A9E}\u{306E}\u{6587}\u{7AE0}\u{3092}\u{66F8}\u{304D}\u{307E}\u{3059}\u{3002} ",
    "\u{D55C}\u{AD6D}\u{C5B4} \u{D14D}\u{C2A4}\u{D2B8}\u{B97C} \u{CC98}\u{B9AC}\u{D569}\u{B2C8}\u{B2E4}. ",
    "Great job! \u{1F389}\u{1F44D}\u{1F3FD} \u{2764}\u{FE0F} ",
    "\u{5E9}\u{5DC}\u{5D5}\u{5DD} \u{5E2}\u{5D5}\u{5DC}\u{5DD} means hello world. ",
    "Use &lt;div&gt; tags &amp; escape &#39;quotes&#39;. ",
    "pass\u{200B}word and \u{FF50}\u{FF41}\u{FF53}\u{FF53} are the same word. ",
    "\u{41F}\u{440}\u{438}\u{432}\u{435}\u{442}, \u{43C}\u{438}\u{440}! ",
    "Temperature: 21\u{B0}C \u{B1} 0.5, price 12\u{A0}\u{20AC}. ",
];

/// About `target` bytes of text: the parts in a fixed pseudo-random order, ASCII filler between.
fn corpus(parts: &[&str], target: usize) -> String {
    let mut s = String::with_capacity(target + 256);
    let mut x: u32 = 0x2545_F491;
    while s.len() < target {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s.push_str(parts[x as usize % parts.len()]);
        s.push_str(ASCII_PARTS[(x >> 8) as usize % ASCII_PARTS.len()]);
    }
    s
}

fn stream(text: &str, chunk: usize) -> usize {
    let mut n = StreamNormalizer::new();
    let (mut out, mut map) = (String::with_capacity(text.len()), OffsetMap::new());
    let mut at = 0;
    while at < text.len() {
        let mut end = (at + chunk).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        n.push(&text[at..end], &mut out, &mut map);
        // The engine forgets released map segments; keep the map bounded the same way.
        map.forget_before(out.len().saturating_sub(4096));
        at = end;
    }
    n.finish(&mut out, &mut map);
    out.len()
}

fn bench(c: &mut Criterion) {
    const MB: usize = 1 << 20;
    let texts = [
        ("ascii", corpus(ASCII_PARTS, MB)),
        ("mixed", corpus(MIXED_PARTS, MB)),
    ];
    let mut g = c.benchmark_group("normalize");
    for (name, text) in &texts {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::new("whole", name), text, |b, t| {
            b.iter(|| normalize(t).0.len())
        });
        g.bench_with_input(BenchmarkId::new("stream16", name), text, |b, t| {
            b.iter(|| stream(t, 16))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
