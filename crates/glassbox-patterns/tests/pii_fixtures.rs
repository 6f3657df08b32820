//! PII rules against the fixture files, with the reference semantics of `Rule::find_all`:
//! every positive yields exactly its value (and nothing else from any rule), every negative
//! yields nothing. Also checks that every PII pattern is bounded, uses ASCII word boundaries
//! only, and builds into one `RegexSet` with the limits `RuleSet` uses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use glassbox_core::policy::PiiConfig;
use glassbox_patterns::pii;
use glassbox_patterns::Rule;
use regex_syntax::hir::Look;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Positive {
    kind: String,
    text: String,
    value: String,
    #[serde(default)]
    config: Option<PiiConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Negative {
    text: String,
    why: String,
    #[serde(default)]
    config: Option<PiiConfig>,
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pii")
        .join(name)
}

/// Rows of a JSONL file with their 1-based line numbers; a bad row fails naming file and line.
fn rows<T: for<'de> Deserialize<'de>>(name: &str) -> Vec<(usize, T)> {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let row = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}:{}: bad row: {e}", path.display(), i + 1));
            (i + 1, row)
        })
        .collect()
}

/// Compiled rules for one configuration.
struct Compiled(Vec<(Rule, regex::Regex)>);

impl Compiled {
    fn new(cfg: &PiiConfig) -> Compiled {
        let rules = pii::rules(cfg).expect("fixture config is valid");
        Compiled(
            rules
                .into_iter()
                .map(|r| {
                    let re = r
                        .compile()
                        .unwrap_or_else(|e| panic!("pii.{}: {e}", r.kind));
                    (r, re)
                })
                .collect(),
        )
    }

    /// Every finding of every rule, sorted: (kind, start, end).
    fn findings(&self, text: &str) -> Vec<(String, usize, usize)> {
        let mut out: Vec<_> = self
            .0
            .iter()
            .flat_map(|(rule, re)| {
                rule.find_all(re, text)
                    .into_iter()
                    .map(|(s, e)| (rule.kind.clone(), s, e))
            })
            .collect();
        out.sort();
        out
    }
}

/// Caches compiled rule sets by configuration (the phone rule's metadata is shared anyway).
#[derive(Default)]
struct Cache(BTreeMap<String, Compiled>);

impl Cache {
    fn get(&mut self, cfg: &Option<PiiConfig>) -> &Compiled {
        let cfg = cfg.clone().unwrap_or_default();
        let key = format!("{cfg:?}");
        self.0.entry(key).or_insert_with(|| Compiled::new(&cfg))
    }
}

fn show(text: &str, found: &[(String, usize, usize)]) -> String {
    found
        .iter()
        .map(|(k, s, e)| format!("pii.{k} {s}..{e} {:?}", &text[*s..*e]))
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn positives_report_exactly_their_value() {
    let mut cache = Cache::default();
    let mut failures = Vec::new();
    let rows: Vec<(usize, Positive)> = rows("positives.jsonl");
    for (line, row) in &rows {
        assert!(
            pii::kinds().contains(&row.kind.as_str()),
            "positives.jsonl:{line}: unknown kind `{}`",
            row.kind
        );
        let starts: Vec<usize> = row.text.match_indices(&row.value).map(|(i, _)| i).collect();
        assert_eq!(
            starts.len(),
            1,
            "positives.jsonl:{line}: value must occur exactly once in text"
        );
        let want = vec![(row.kind.clone(), starts[0], starts[0] + row.value.len())];
        let got = cache.get(&row.config).findings(&row.text);
        if got != want {
            failures.push(format!(
                "positives.jsonl:{line}: {:?}\n  want pii.{} {:?}\n  got  [{}]",
                row.text,
                row.kind,
                row.value,
                show(&row.text, &got)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} positives failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn negatives_report_nothing() {
    let mut cache = Cache::default();
    let mut failures = Vec::new();
    let rows: Vec<(usize, Negative)> = rows("negatives.jsonl");
    assert!(
        rows.len() >= 60,
        "negatives.jsonl has {} rows, want at least 60",
        rows.len()
    );
    for (line, row) in &rows {
        assert!(
            !row.why.trim().is_empty(),
            "negatives.jsonl:{line}: `why` is empty"
        );
        let got = cache.get(&row.config).findings(&row.text);
        if !got.is_empty() {
            failures.push(format!(
                "negatives.jsonl:{line}: {:?} ({})\n  got [{}]",
                row.text,
                row.why,
                show(&row.text, &got)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} negatives fired:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn positives_cover_every_kind_and_the_phone_formats() {
    let rows: Vec<(usize, Positive)> = rows("positives.jsonl");
    for kind in pii::kinds() {
        let n = rows.iter().filter(|(_, r)| r.kind == kind).count();
        assert!(n >= 3, "pii.{kind} has {n} positive rows, want at least 3");
    }
    // Country calling codes of the phone positives, written with and without `+cc`.
    let mut with_cc = BTreeSet::new();
    let mut national = BTreeSet::new();
    for (line, r) in rows.iter().filter(|(_, r)| r.kind == "phone") {
        let code = if r.value.starts_with('+') {
            phonenumber::parse(None, &r.value)
                .ok()
                .filter(|n| n.is_valid())
                .map(|n| n.code().value())
        } else {
            r.config
                .clone()
                .unwrap_or_default()
                .phone_regions
                .iter()
                .find_map(|region| {
                    let region = region.parse().ok()?;
                    phonenumber::parse(Some(region), &r.value)
                        .ok()
                        .filter(|n| n.is_valid())
                        .map(|n| n.code().value())
                })
        };
        let code =
            code.unwrap_or_else(|| panic!("positives.jsonl:{line}: {:?} does not parse", r.value));
        if r.value.starts_with('+') {
            with_cc.insert(code);
        } else {
            national.insert(code);
        }
    }
    // US, UK, DE, FR, IN, JP, BR, AU.
    for code in [1, 44, 49, 33, 91, 81, 55, 61] {
        assert!(with_cc.contains(&code), "no phone positive with +{code}");
        assert!(
            national.contains(&code),
            "no phone positive in national format for +{code}"
        );
    }
}

/// All rules any configuration can produce.
fn all_rules() -> Vec<Rule> {
    let cfg = PiiConfig {
        private_ip: true,
        ..PiiConfig::default()
    };
    pii::rules(&cfg).expect("the default config with private_ip is valid")
}

#[test]
fn every_pattern_is_bounded_and_ascii_bounded() {
    for rule in all_rules() {
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(&rule.pattern)
            .unwrap();
        let max = hir.properties().maximum_len();
        assert!(
            max.is_some_and(|m| m <= 512),
            "pii.{}: maximum_len {max:?} (want Some(<= 512))",
            rule.kind
        );
        let looks = hir.properties().look_set();
        for look in [Look::WordUnicode, Look::WordUnicodeNegate] {
            assert!(
                !looks.contains(look),
                "pii.{}: uses a Unicode word boundary; use (?-u:\\b)",
                rule.kind
            );
        }
        assert!(
            rule.compile()
                .unwrap()
                .capture_names()
                .any(|n| n == Some("s")),
            "pii.{}: no `s` group",
            rule.kind
        );
    }
}

#[test]
fn leading_context_is_bounded_by_the_published_constant() {
    for rule in all_rules() {
        let at = rule
            .pattern
            .find("(?P<s>")
            .expect("every PII pattern has an `s` group");
        let prefix = &rule.pattern[..at];
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(prefix)
            .unwrap();
        let max = hir.properties().maximum_len().expect("bounded prefix");
        assert!(
            max <= pii::MAX_LEADING_CONTEXT,
            "pii.{}: {max} bytes of leading context in {prefix:?}",
            rule.kind
        );
    }
}

#[test]
fn all_patterns_build_into_one_regex_set() {
    let rules = all_rules();
    let set = regex::RegexSetBuilder::new(rules.iter().map(|r| r.pattern.as_str()))
        .size_limit(256 << 20)
        .dfa_size_limit(256 << 20)
        .build()
        .expect("one RegexSet over every PII pattern");
    assert_eq!(set.len(), rules.len());
    // The set agrees with the rules on a text that has one of everything.
    let text = "jane.doe@northwind-traders.com, +44 20 7946 0958, 4539 1043 3218 1967, 536-22-8107, 81.2.69.142";
    let hits: BTreeSet<&str> = set
        .matches(text)
        .into_iter()
        .map(|i| rules[i].kind.as_str())
        .collect();
    for kind in ["email", "phone", "credit_card", "us_ssn", "ip_address"] {
        assert!(
            hits.contains(kind),
            "RegexSet did not flag pii.{kind}: {hits:?}"
        );
    }
}

#[test]
fn compiled_rule_set_agrees_with_reference_semantics_on_every_fixture() {
    use glassbox_core::Detector;
    let mut texts: Vec<(String, Option<PiiConfig>)> = Vec::new();
    for (_, r) in rows::<Positive>("positives.jsonl") {
        texts.push((r.text, r.config));
    }
    for (_, r) in rows::<Negative>("negatives.jsonl") {
        texts.push((r.text, r.config));
    }
    let mut cache = Cache::default();
    let mut sets: BTreeMap<String, glassbox_patterns::RuleSet> = BTreeMap::new();
    for (text, cfg) in &texts {
        let want = cache.get(cfg).findings(text);
        let resolved = cfg.clone().unwrap_or_default();
        let set = sets.entry(format!("{resolved:?}")).or_insert_with(|| {
            glassbox_patterns::RuleSet::compile("pii", pii::rules(&resolved).expect("valid"))
                .expect("PII rules compile into one RuleSet")
        });
        let mut out = Vec::new();
        set.detect(text, 0, &mut out).expect("detect runs");
        let mut got: Vec<(String, usize, usize)> = out
            .into_iter()
            .map(|m| {
                let kind = m.category.as_str().trim_start_matches("pii.").to_string();
                (kind, m.start, m.end)
            })
            .collect();
        got.sort();
        assert_eq!(got, want, "{text:?}");
    }
}
