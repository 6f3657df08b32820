//! The secrets catalogue against its fixtures: every positive is reported with the expected kind
//! and exactly the expected span, no negative fires, every rule is bounded, and the whole
//! catalogue compiles into one `RegexSet`.
//!
//! Fixtures: `tests/fixtures/secrets/{positives,negatives}.jsonl`, written by `generate.py` next to
//! them. Matching uses [`Rule::find_all`], the reference semantics the compiled `RuleSet` follows.

use std::collections::BTreeSet;

use glassbox_core::policy::SecretsConfig;
use glassbox_core::{Category, Family};
use glassbox_patterns::secrets::{self, check_bounded, MAX_MATCH_LEN};
use glassbox_patterns::Rule;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/secrets");

/// Kinds that report the value of an assignment, header, URL or command whatever its format, so
/// they may report the same span as a format rule (`API_KEY=sk-proj-…` is both `generic_api_key`
/// and `openai_api_key`; `https://x-access-token:ghs_…@github.com` is both `uri_credentials` and
/// `github_app_token`). The format rule scores 1.0, these score less or say where the value sat;
/// the detector keeps the strongest.
const CONTEXT_KINDS: &[&str] = &[
    "generic_api_key",
    "generic_password",
    "bearer_token",
    "basic_auth",
    "uri_credentials",
    "curl_user_password",
    "npmrc_auth_token",
    "docker_registry_auth",
    "connection_string_password",
    "nuget_config_password",
    "api_key_header",
];

struct Compiled {
    rule: Rule,
    re: regex::Regex,
}

fn compiled() -> Vec<Compiled> {
    secrets::rules(&SecretsConfig::default())
        .expect("the default secrets config is valid")
        .into_iter()
        .map(|rule| {
            let re = rule
                .compile()
                .unwrap_or_else(|e| panic!("{}: {e}", rule.kind));
            Compiled { rule, re }
        })
        .collect()
}

/// `(kind, start, end)` of every finding of every rule over `text`.
fn findings(rules: &[Compiled], text: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    for c in rules {
        for (s, e) in c.rule.find_all(&c.re, text) {
            out.push((c.rule.kind.clone(), s, e));
        }
    }
    out
}

/// The rows of a JSONL fixture with their 1-based line numbers.
fn rows(name: &str) -> Vec<(usize, serde_json::Value)> {
    let path = format!("{FIXTURES}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v = serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1));
            (i + 1, v)
        })
        .collect()
}

fn field<'a>(row: &'a serde_json::Value, name: &str, at: &str) -> &'a str {
    row[name]
        .as_str()
        .unwrap_or_else(|| panic!("{at}: field `{name}` is missing or not a string"))
}

#[test]
fn positives_are_reported_with_their_kind_and_exact_span() {
    let rules = compiled();
    let mut failures = Vec::new();
    for (line, row) in rows("positives.jsonl") {
        let at = format!("positives.jsonl:{line}");
        let (kind, text, secret) = (
            field(&row, "kind", &at),
            field(&row, "text", &at),
            field(&row, "secret", &at),
        );
        let start = text
            .find(secret)
            .unwrap_or_else(|| panic!("{at}: `secret` is not in `text`"));
        assert_eq!(
            text.matches(secret).count(),
            1,
            "{at}: `secret` occurs more than once in `text`"
        );
        let want = (start, start + secret.len());
        let found = findings(&rules, text);
        let mut seen = BTreeSet::new();
        for f in &found {
            if !seen.insert(f) {
                failures.push(format!(
                    "{at}: two rules of `{}` both reported {:?}",
                    f.0,
                    (f.1, f.2)
                ));
            }
        }
        let overlaps = |(s, e): (usize, usize)| s < want.1 && want.0 < e;
        if !found.iter().any(|(k, s, e)| k == kind && (*s, *e) == want) {
            let near: Vec<_> = found
                .iter()
                .filter(|(_, s, e)| overlaps((*s, *e)))
                .collect();
            failures.push(format!(
                "{at}: `{kind}` did not report {want:?} `{secret}`; overlapping findings: {near:?}"
            ));
            continue;
        }
        for (k, s, e) in &found {
            if !overlaps((*s, *e)) || (*s, *e) == want && k == kind {
                continue;
            }
            if k == kind {
                failures.push(format!(
                    "{at}: `{kind}` also reported {:?}, overlapping {want:?}",
                    (s, e)
                ));
            } else if !CONTEXT_KINDS.contains(&k.as_str()) && !CONTEXT_KINDS.contains(&kind) {
                failures.push(format!(
                    "{at}: `{k}` reported {:?} `{}`, overlapping the expected `{kind}` {want:?}",
                    (s, e),
                    &text[*s..*e]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn negatives_produce_no_finding() {
    let rules = compiled();
    let mut failures = Vec::new();
    for (line, row) in rows("negatives.jsonl") {
        let at = format!("negatives.jsonl:{line}");
        let (text, why) = (field(&row, "text", &at), field(&row, "why", &at));
        for (k, s, e) in findings(&rules, text) {
            failures.push(format!(
                "{at} ({why}): `{k}` reported {:?} `{}`",
                (s, e),
                &text[s..e]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn there_are_enough_negatives() {
    assert!(rows("negatives.jsonl").len() >= 80);
}

#[test]
fn every_kind_has_a_positive() {
    let covered: BTreeSet<String> = rows("positives.jsonl")
        .iter()
        .map(|(l, r)| field(r, "kind", &format!("positives.jsonl:{l}")).to_string())
        .collect();
    let missing: Vec<_> = secrets::kinds()
        .into_iter()
        .filter(|k| !covered.contains(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "kinds without a positive fixture: {missing:?}"
    );
    let unknown: Vec<_> = covered
        .iter()
        .filter(|k| !secrets::kinds().contains(&k.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "positives name kinds that do not exist: {unknown:?}"
    );
}

#[test]
fn checksummed_positives_vanish_when_two_characters_swap() {
    // Checksummed formats: changing one character of a positive must make it disappear.
    let rules = compiled();
    for (line, row) in rows("positives.jsonl") {
        let at = format!("positives.jsonl:{line}");
        let (kind, text, secret) = (
            field(&row, "kind", &at),
            field(&row, "text", &at),
            field(&row, "secret", &at),
        );
        if ![
            "github_token",
            "github_oauth_token",
            "github_app_token",
            "github_refresh_token",
            "npm_token",
            "age_secret_key",
        ]
        .contains(&kind)
        {
            continue;
        }
        // Swap two distinct characters of the random part (after the prefix, before the checksum).
        let bytes = secret.as_bytes();
        let i = (bytes.len() / 2..bytes.len() - 8)
            .find(|&i| bytes[i] != bytes[i + 1])
            .expect("distinct neighbours");
        let mut mutated = bytes.to_vec();
        mutated.swap(i, i + 1);
        let mutated = String::from_utf8(mutated).expect("ASCII");
        let text = text.replace(secret, &mutated);
        let hits: Vec<_> = findings(&rules, &text)
            .into_iter()
            .filter(|(k, _, _)| k == kind)
            .collect();
        assert!(
            hits.is_empty(),
            "{at}: `{kind}` still reported after swapping bytes {i},{}: {hits:?}",
            i + 1
        );
    }
}

#[test]
fn every_rule_is_bounded_and_uses_ascii_word_boundaries() {
    for rule in secrets::rules(&SecretsConfig::default()).unwrap() {
        check_bounded(&rule.pattern)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", rule.kind, rule.pattern));
        let hir = regex_syntax::parse(&rule.pattern).unwrap();
        let max = hir.properties().maximum_len().unwrap();
        assert!(max <= MAX_MATCH_LEN, "{}: longest match {max}", rule.kind);
        assert!(
            !secrets::has_unicode_word_boundary(&hir),
            "{}: Unicode word boundary",
            rule.kind
        );
        assert_eq!(rule.family, Family::Secret);
        assert!(
            rule.score > 0.0 && rule.score <= 1.0,
            "{}: score {}",
            rule.kind,
            rule.score
        );
    }
}

#[test]
fn the_unicode_boundary_check_sees_nested_boundaries() {
    let hir = regex_syntax::parse(r"a(?:b|(c\b){1,2})").unwrap();
    assert!(secrets::has_unicode_word_boundary(&hir));
    let hir = regex_syntax::parse(r"a(?:b|(c(?-u:\b)){1,2})").unwrap();
    assert!(!secrets::has_unicode_word_boundary(&hir));
}

#[test]
fn the_catalogue_compiles_into_one_regex_set() {
    let patterns: Vec<String> = secrets::rules(&SecretsConfig::default())
        .unwrap()
        .into_iter()
        .map(|r| r.pattern)
        .collect();
    let set = regex::RegexSetBuilder::new(&patterns)
        .size_limit(256 << 20)
        .dfa_size_limit(256 << 20)
        .build()
        .expect("the catalogue fits one RegexSet at 256 MiB limits");
    assert_eq!(set.len(), patterns.len());
    // The set and the single rules agree on which patterns match each fixture.
    let rules = compiled();
    for name in ["positives.jsonl", "negatives.jsonl"] {
        for (line, row) in rows(name) {
            let text = field(&row, "text", &format!("{name}:{line}"));
            let by_set: Vec<usize> = set.matches(text).into_iter().collect();
            let by_rule: Vec<usize> = (0..rules.len())
                .filter(|&i| rules[i].re.is_match(text))
                .collect();
            assert_eq!(by_set, by_rule, "{name}:{line}");
        }
    }
}

#[test]
fn there_are_at_least_110_kinds_with_valid_category_names() {
    let kinds = secrets::kinds();
    assert!(kinds.len() >= 110, "{} kinds", kinds.len());
    let distinct: BTreeSet<_> = kinds.iter().collect();
    assert_eq!(distinct.len(), kinds.len(), "kinds() repeats a kind");
    for k in &kinds {
        let c = Category::new(format!("secret.{k}")).unwrap_or_else(|e| panic!("{k}: {e}"));
        assert_eq!(c.to_string(), format!("secret.{k}"));
        assert!(
            k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{k}: use snake_case"
        );
    }
    // Every rule's kind is listed.
    for r in secrets::rules(&SecretsConfig::default()).unwrap() {
        assert!(kinds.contains(&r.kind.as_str()), "{}", r.kind);
    }
}

/// The SECRETS.md table, rendered from the catalogue.
fn render_doc() -> String {
    let mut out = String::from(
        "# Secret kinds\n\n\
         The built-in credential formats of `glassbox-patterns` (`secret.<kind>` findings).\n\
         Generated from `secrets::catalogue()` by `tests/secrets_fixtures.rs`; regenerate with\n\
         `GLASSBOX_BLESS=1 cargo test -p glassbox-patterns --test secrets_fixtures`.\n\n\
         Every kind can be switched off in a policy with `secrets: { disable: [<kind>] }`.\n\
         Every rule also rejects placeholders (`YOUR_API_KEY`, `${VAR}`, `<token>`, `xxxx`, `...`,\n\
         documentation example keys) unless noted.\n\n\
         | Kind | What it is | Shape | Checked beyond the pattern | Score |\n\
         |---|---|---|---|---|\n",
    );
    // A `|` inside a cell (even inside backticks) ends the cell in GitHub Markdown.
    let cell = |s: &str| s.replace('|', "\\|");
    for d in secrets::catalogue() {
        let checks = if d.checks.is_empty() {
            "—".to_string()
        } else {
            cell(&d.checks)
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {:.1} |\n",
            d.kind,
            cell(&d.description),
            cell(&d.shape),
            checks,
            d.score
        ));
    }
    out.push_str(&format!("\n{} kinds.\n", secrets::kinds().len()));
    out
}

#[test]
fn secrets_md_lists_every_kind() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/SECRETS.md");
    let want = render_doc();
    if std::env::var_os("GLASSBOX_BLESS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    for k in secrets::kinds() {
        assert!(
            have.contains(&format!("| `{k}` |")),
            "SECRETS.md does not list `{k}`; regenerate with GLASSBOX_BLESS=1"
        );
    }
    assert!(
        have == want,
        "SECRETS.md is out of date; regenerate with GLASSBOX_BLESS=1"
    );
}
