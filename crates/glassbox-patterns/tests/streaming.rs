//! Streaming equals whole-text: every fixture through every split point (byte offsets, so
//! splits fall inside multi-byte characters too) must give the same findings and, unless
//! blocked, the same released text as the whole-text scan.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use glassbox_core::{Action, Detector, Engine, Family, Finding, Policy};
use glassbox_patterns::{testing, Base64Detector, Rule};

fn engine() -> Engine {
    let policy = Policy::from_yaml(
        "id: t\nactions:\n  secret: mask\n  pii: mask\n  keyword.stop: block\n  keyword.note: annotate\nkeywords:\n  stop: [project nightingale]\n  note: [glassbox]\n",
        "t.yaml",
    )
    .unwrap();
    let mut rules = testing::sample_rules();
    rules.push(
        Rule::new(
            Family::Secret,
            "generic_password",
            r#"(?i)password\s{0,3}[:=]\s{0,3}"?(?P<s>[^\s"]{6,64})"#,
        )
        .reject_placeholders(),
    );
    let lists = testing::term_lists(&[("stop", &["project nightingale"]), ("note", &["glassbox"])]);
    let set = testing::rule_set(rules, &lists);
    let b64: Arc<dyn Detector> = Arc::new(Base64Detector::new(Arc::clone(&set)).unwrap());
    Engine::new(Arc::new(policy), vec![set, b64])
}

const FIXTURES: &[&str] = &[
    "plain text with nothing to find, just words.",
    "Use ghp_R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0fGa9uEw to push, and mail ops@example.com.",
    "key AKIAZ7QW3ERT5YUI2OPL and example AKIAIOSFODNN7EXAMPLE",
    "config:\n  password: \"s3cr3t-Pa55\"\n  user: admin\n",
    "Émile wrote ünïcödé 🚀 text: contact émile@exämple.com or bob.smith@example.co.uk 日本語",
    "We talk about glassbox here; Project  Nightingale must not be named.",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0\n-----END RSA PRIVATE KEY-----\nafter",
    "ghp_R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0fGa9uEwX is too long to be a token",
    "two: a@b.io,c@d.io",
    "trailing token ghp_R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0fGa9uEw",
    "zero\u{200B}width and full-width ｐａｓｓｗｏｒｄ text",
    "encoded: dG9rZW49Z2hwX1I3eDlLcTJMbVc0dkI4blQxY1o1eUgzalA2c0QwZkdhOXVFdw== end",
];

fn stream(engine: &Engine, text: &str, cuts: &[usize]) -> (String, Vec<Finding>, bool) {
    let mut s = engine.stream();
    let mut out = String::new();
    let mut findings = Vec::new();
    let mut at = 0;
    for &c in cuts.iter().chain(std::iter::once(&text.len())) {
        let chunk = s.feed(&text.as_bytes()[at..c]).unwrap();
        out.push_str(&chunk.text);
        findings.extend(chunk.findings);
        at = c;
    }
    let chunk = s.finish().unwrap();
    out.push_str(&chunk.text);
    findings.extend(chunk.findings);
    assert_eq!(s.held(), 0);
    (out, findings, s.is_blocked())
}

#[test]
fn every_single_split_point_equals_whole_text() {
    let engine = engine();
    for text in FIXTURES {
        let whole = engine.scan(text);
        let blocked = whole.verdict == Action::Block;
        for cut in 0..=text.len() {
            let (out, findings, stream_blocked) = stream(&engine, text, &[cut]);
            assert_eq!(findings, whole.findings, "text {text:?} cut at {cut}");
            assert_eq!(stream_blocked, blocked, "text {text:?} cut at {cut}");
            if !blocked {
                assert_eq!(out, whole.masked(text), "text {text:?} cut at {cut}");
            }
        }
    }
}

#[test]
fn every_pair_of_split_points_and_byte_by_byte() {
    let engine = engine();
    for text in FIXTURES.iter().filter(|t| t.len() < 100) {
        let whole = engine.scan(text);
        let masked = whole.masked(text);
        for a in 0..=text.len() {
            for b in a..=text.len() {
                let (out, findings, _) = stream(&engine, text, &[a, b]);
                assert_eq!(findings, whole.findings, "text {text:?} cuts {a},{b}");
                if whole.verdict != Action::Block {
                    assert_eq!(out, masked, "text {text:?} cuts {a},{b}");
                }
            }
        }
        let all: Vec<usize> = (1..text.len()).collect();
        let (out, findings, _) = stream(&engine, text, &all);
        assert_eq!(findings, whole.findings, "byte by byte: {text:?}");
        if whole.verdict != Action::Block {
            assert_eq!(out, masked, "byte by byte: {text:?}");
        }
    }
}

#[test]
fn secret_split_across_chunks_never_leaves_unmasked() {
    let engine = engine();
    let token = "ghp_R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0fGa9uEw";
    let text = format!("Here you go: {token} — keep it safe.");
    for a in 0..text.len() {
        for b in a..text.len() {
            let mut s = engine.stream();
            let mut released = Vec::new();
            for part in [
                &text.as_bytes()[..a],
                &text.as_bytes()[a..b],
                &text.as_bytes()[b..],
            ] {
                released.push(s.feed(part).unwrap().text);
            }
            released.push(s.finish().unwrap().text);
            let all = released.concat();
            assert!(
                !all.contains(&token[..8]),
                "leak with cuts {a},{b}: {released:?}"
            );
            assert!(all.contains("[REDACTED:secret.github_token]"), "{all}");
            // No released piece holds a run of the token longer than its fixed prefix.
            for piece in &released {
                assert!(!piece.contains("R7x9Kq"), "leak in piece {piece:?}");
            }
        }
    }
}

#[test]
fn held_back_is_bounded_by_the_matchers() {
    let engine = engine();
    // Ordinary prose: only the current word (which could become an email) is held.
    let mut s = engine.stream();
    let mut max_held = 0;
    for word in "the quick brown fox jumps over the lazy dog. "
        .repeat(20)
        .split_inclusive(' ')
    {
        s.feed(word.as_bytes()).unwrap();
        max_held = max_held.max(s.held());
    }
    // The longest word is 5 bytes; the word could still become an e-mail address, and the
    // normaliser keeps one character in case a combining mark follows.
    assert!(max_held <= 7, "held {max_held} bytes of ordinary prose");
    assert!(
        engine.max_holdback() >= 4096,
        "private keys need a long hold-back"
    );
    assert!(engine.max_holdback() <= 65_536);
}

#[test]
fn block_stops_release_before_the_blocked_span() {
    let engine = engine();
    let text = "Intro text. Project Nightingale launches soon. More text.";
    let (out, findings, blocked) = stream(&engine, text, &[5, 20, 30]);
    assert!(blocked);
    assert_eq!(out, "Intro text. ");
    assert!(findings
        .iter()
        .any(|f| f.category.as_str() == "keyword.stop"));
}

#[test]
fn invalid_utf8_is_an_error_with_offset() {
    let engine = engine();
    let mut s = engine.stream();
    s.feed(b"abc").unwrap();
    let e = s.feed(&[b'd', 0xff, b'e']).unwrap_err();
    assert_eq!(e.to_string(), "invalid UTF-8 at byte 4 of the stream");
    let mut s = engine.stream();
    s.feed("é".as_bytes().get(..1).unwrap()).unwrap();
    let e = s.finish().unwrap_err();
    assert!(
        e.to_string().contains("ended inside a UTF-8 character"),
        "{e}"
    );
}

#[test]
fn fixtures_have_the_expected_findings() {
    let engine = engine();
    let cats = |t: &str| -> Vec<String> {
        engine
            .scan(t)
            .findings
            .iter()
            .map(|f| format!("{}={}", f.category, &t[f.start..f.end]))
            .collect()
    };
    assert_eq!(cats(FIXTURES[0]), Vec::<String>::new());
    assert_eq!(
        cats(FIXTURES[1]),
        [
            "secret.github_token=ghp_R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0fGa9uEw",
            "pii.email=ops@example.com"
        ]
    );
    assert_eq!(
        cats(FIXTURES[2]),
        ["secret.aws_access_key_id=AKIAZ7QW3ERT5YUI2OPL"]
    );
    assert_eq!(cats(FIXTURES[3]), ["secret.generic_password=s3cr3t-Pa55"]);
    assert_eq!(cats(FIXTURES[4]), ["pii.email=bob.smith@example.co.uk"]);
    assert_eq!(
        cats(FIXTURES[5]),
        ["keyword.note=glassbox", "keyword.stop=Project  Nightingale"]
    );
    assert_eq!(cats(FIXTURES[6]).len(), 1);
    assert_eq!(cats(FIXTURES[7]), Vec::<String>::new());
    assert_eq!(cats(FIXTURES[8]), ["pii.email=a@b.io", "pii.email=c@d.io"]);
    assert_eq!(
        cats(FIXTURES[11]),
        ["secret.github_token=dG9rZW49Z2hwX1I3eDlLcTJMbVc0dkI4blQxY1o1eUgzalA2c0QwZkdhOXVFdw=="]
    );
    let masked = engine.scan(FIXTURES[1]).masked(FIXTURES[1]);
    assert_eq!(
        masked,
        "Use [REDACTED:secret.github_token] to push, and mail [REDACTED:pii.email]."
    );
}
