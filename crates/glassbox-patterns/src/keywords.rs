//! Keyword lists: operator-defined words and phrases, whole-word, case-insensitive, matched on
//! normalised text (so `ＰＲＯＪＥＣＴ Nightingale` and `project\u{200B} nightingale` match
//! `project nightingale`). Findings are `keyword.<list>`.

use std::collections::BTreeMap;

use glassbox_core::normalize::normalize;
use glassbox_core::policy::KeywordList;
use glassbox_core::Family;

use crate::Rule;

/// One rule per list: an alternation of the list's terms (longest first), each phrase's words
/// joined by 1–4 whitespace characters, with ASCII word boundaries where the term starts or ends
/// with a word character (unless the list sets `substring: true`).
pub fn rules(lists: &BTreeMap<String, KeywordList>) -> Vec<Rule> {
    lists
        .iter()
        .map(|(name, list)| {
            let mut terms: Vec<String> =
                list.terms().iter().map(|t| normalize(t.trim()).0).collect();
            terms.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
            terms.dedup();
            let alts: Vec<String> = terms
                .iter()
                .map(|t| term_pattern(t, list.substring()))
                .collect();
            Rule::new(
                Family::Keyword,
                name.clone(),
                format!("(?i)(?:{})", alts.join("|")),
            )
        })
        .collect()
}

fn term_pattern(term: &str, substring: bool) -> String {
    let words: Vec<String> = term.split_whitespace().map(regex::escape).collect();
    let body = words.join(r"\s{1,4}");
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut p = String::new();
    if !substring && is_word(term.chars().next()) {
        p.push_str(r"(?-u:\b)");
    }
    p.push_str(&body);
    if !substring && is_word(term.chars().last()) {
        p.push_str(r"(?-u:\b)");
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuleSet;
    use glassbox_core::Detector;

    fn detect(lists: &[(&str, KeywordList)], text: &str) -> Vec<(String, String)> {
        let lists: BTreeMap<String, KeywordList> = lists
            .iter()
            .map(|(n, l)| (n.to_string(), l.clone()))
            .collect();
        let set = RuleSet::compile("keywords", rules(&lists)).unwrap();
        let mut out = Vec::new();
        set.detect(text, 0, &mut out).unwrap();
        out.sort_by_key(|m| m.start);
        out.iter()
            .map(|m| (m.category.to_string(), text[m.start..m.end].to_string()))
            .collect()
    }

    fn terms(t: &[&str]) -> KeywordList {
        KeywordList::Terms(t.iter().map(|s| s.to_string()).collect())
    }

    macro_rules! kw_tests {
        ($($name:ident: $terms:expr, $text:expr => [$($want:expr),*];)*) => {$(
            #[test]
            fn $name() {
                let got = detect(&[("blocked", $terms)], $text);
                let want: Vec<(String, String)> =
                    vec![$(("keyword.blocked".to_string(), $want.to_string())),*];
                assert_eq!(got, want, "text: {:?}", $text);
            }
        )*};
    }

    kw_tests! {
        whole_word: terms(&["nightingale"]), "Project Nightingale ships" => ["Nightingale"];
        not_inside_words: terms(&["night"]), "nightingale at midnight" => [];
        phrase_with_spacing: terms(&["project nightingale"]), "PROJECT\n  nightingale!" => ["PROJECT\n  nightingale"];
        longest_first: terms(&["project", "project nightingale"]), "project nightingale" => ["project nightingale"];
        several: terms(&["alpha", "beta"]), "alpha, beta; gamma" => ["alpha", "beta"];
        substring_lists: KeywordList::Detailed { terms: vec!["night".into()], substring: true }, "midnight" => ["night"];
        punctuation_terms: terms(&["c++"]), "I like c++ a lot" => ["c++"];
        unicode_terms: terms(&["straße"]), "die STRASSE und die Straße" => ["Straße"];
    }
}
