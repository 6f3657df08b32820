//! The phrase tables: standard notices and licence titles (hand-written), prose references
//! (generated from verbs × licence names), and sentences of every licence text on the SPDX list
//! (from the `spdx` crate's `text` feature).
//!
//! Full licence texts run to tens of KB, too long for a bounded streaming match; each is cut
//! into sentences (and sentences over 48 tokens into chunks of 40) that are matched on their
//! own and each report `license.<ID>`, so a full text is found as a series of bounded matches
//! covering it. Wording that several licence texts contain is reported as (among common
//! licences in [`SHARED_PRIORITY`] if any has it) the least restrictive of them by class, then
//! the one that is a sub-document of the others (nearly all its wording is in them: MIT in X11,
//! BSD-2-Clause in BSD-3-Clause), then the first in [`SHARED_PRIORITY`]: a BSD-3-Clause text
//! reports its two
//! BSD-2-Clause clauses as `BSD-2-Clause` and its third clause as `BSD-3-Clause`; an AGPL text
//! reports its GPL-3.0 wording as `GPL-3.0-only` and its network clause as `AGPL-3.0-only`. The
//! strongest finding over a text is thus its own licence's class.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::class;
use crate::phrase::{expand, fold, words, PhraseInfo, PhraseKind, PhraseSet};

/// Shortest sentence of a licence text used as a phrase, in tokens (shorter ones are generic).
pub const MIN_TEXT_TOKENS: usize = 10;
const CHUNK_TOKENS: usize = 40;
const SPLIT_OVER: usize = 48;

/// Common licences: wording one of them shares with others is attributed among these only.
/// (`MIT-0` is left out on purpose: its text is MIT's minus a sentence, and MIT's wording
/// should read as MIT.)
pub const SHARED_PRIORITY: &[&str] = &[
    "MIT",
    "0BSD",
    "ISC",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-4-Clause",
    "Apache-2.0",
    "Apache-1.1",
    "Zlib",
    "BSL-1.0",
    "Unlicense",
    "CC0-1.0",
    "GPL-2.0-only",
    "GPL-3.0-only",
    "LGPL-2.1-only",
    "LGPL-3.0-only",
    "LGPL-2.0-only",
    "GPL-1.0-only",
    "AGPL-3.0-only",
    "MPL-2.0",
    "MPL-1.1",
    "EPL-2.0",
    "EPL-1.0",
    "CDDL-1.0",
    "CDDL-1.1",
    "EUPL-1.2",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC-BY-NC-4.0",
    "CC-BY-NC-SA-4.0",
    "CC-BY-ND-4.0",
    "CC-BY-NC-ND-4.0",
    "CC-BY-3.0",
    "CC-BY-SA-3.0",
    "CC-BY-NC-3.0",
    "CC-BY-NC-SA-3.0",
    "SSPL-1.0",
    "BUSL-1.1",
    "Elastic-2.0",
    "Artistic-2.0",
    "OFL-1.1",
    "Python-2.0",
    "PostgreSQL",
    "WTFPL",
    "OSL-3.0",
    "AFL-3.0",
    "Ms-PL",
    "Ms-RL",
];

/// Standard notices, headers and licence titles: `(licence, score, phrase spec)`. Specs use
/// `{a|b|}` for alternatives; punctuation and case do not matter.
const NOTICES: &[(&str, f32, &str)] = &[
    // Apache
    ("Apache-2.0", 1.0, "licensed under the apache license version 2 0 the license you may not use this file except in compliance with the license {you may obtain a copy of the license at http www apache org licenses license 2 0|}{ unless required by applicable law or agreed to in writing software distributed under the license is distributed on an as is basis without warranties or conditions of any kind either express or implied see the license for the specific language governing permissions and limitations under the license|}"),
    ("Apache-2.0", 1.0, "licensed to the apache software foundation asf under one or more contributor license agreements see the notice file distributed with this work for additional information regarding copyright ownership the asf licenses this file to you under the apache license version 2 0 the license you may not use this file except in compliance with the license"),
    // MPL, EPL
    ("MPL-2.0", 1.0, "this source code form is subject to the terms of the mozilla public license v 2 0 if a copy of the mpl was not distributed with this file you can obtain one at http mozilla org mpl 2 0"),
    ("EPL-2.0", 1.0, "this program and the accompanying materials are made available under the terms of the eclipse public license {v|} 2 0 which {is available at|accompanies this distribution and is available at} http www eclipse org legal epl 2 0"),
    ("EPL-1.0", 1.0, "{all rights reserved |}this program and the accompanying materials are made available under the terms of the eclipse public license v1 0 which accompanies this distribution and is available at http www eclipse org legal epl v10 html"),
    // MIT / BSD one-line headers
    ("MIT", 1.0, "use of this source code is governed by an mit style license that can be found in the license file{ or at http opensource org licenses mit|}"),
    ("MIT", 1.0, "this source code is licensed under the mit license found in the license file in the root directory of this source tree"),
    ("BSD-3-Clause", 1.0, "use of this source code is governed by a bsd style license that can be found in the license file"),
    // Source-available
    ("SSPL-1.0", 1.0, "{this program is free software |}you can redistribute it and or modify it under the terms of the server side public license version 1 as published by mongodb inc"),
    ("BUSL-1.1", 1.0, "use of this software is governed by the business source license included in the {license|licenses} {file|directory}"),
    ("BUSL-1.1", 0.9, "business source license 1 1"),
    ("Elastic-2.0", 1.0, "licensed under the elastic license 2 0 you may not use this file except in compliance with the elastic license 2 0"),
    ("Elastic-2.0", 0.9, "elastic license 2 0 elv2"),
    // Creative Commons
    ("CC-BY-4.0", 1.0, "this work is licensed under {a|the} creative commons attribution 4 0 international license{ to view a copy of this license visit http creativecommons org licenses by 4 0|}"),
    ("CC-BY-SA-4.0", 1.0, "this work is licensed under {a|the} creative commons attribution sharealike 4 0 international license{ to view a copy of this license visit http creativecommons org licenses by sa 4 0|}"),
    ("CC-BY-NC-4.0", 1.0, "this work is licensed under {a|the} creative commons attribution noncommercial 4 0 international license{ to view a copy of this license visit http creativecommons org licenses by nc 4 0|}"),
    ("CC-BY-NC-SA-4.0", 1.0, "this work is licensed under {a|the} creative commons attribution noncommercial sharealike 4 0 international license{ to view a copy of this license visit http creativecommons org licenses by nc sa 4 0|}"),
    ("CC-BY-ND-4.0", 1.0, "this work is licensed under {a|the} creative commons attribution noderivatives 4 0 international license{ to view a copy of this license visit http creativecommons org licenses by nd 4 0|}"),
    ("CC-BY-NC-ND-4.0", 1.0, "this work is licensed under {a|the} creative commons attribution noncommercial noderivatives 4 0 international license{ to view a copy of this license visit http creativecommons org licenses by nc nd 4 0|}"),
    // Model licences (titles and release lines)
    ("LicenseRef-Llama-2-Community", 0.9, "llama 2 community license agreement"),
    ("LicenseRef-Llama-2-Community", 1.0, "llama 2 version release date july 18 2023"),
    ("LicenseRef-Llama-3-Community", 0.9, "meta llama 3 community license agreement"),
    ("LicenseRef-Llama-3-Community", 1.0, "meta llama 3 version release date april 18 2024"),
    ("LicenseRef-Llama-3.1-Community", 0.9, "llama 3 1 community license agreement"),
    ("LicenseRef-Llama-3.1-Community", 1.0, "llama 3 1 version release date july 23 2024"),
    ("LicenseRef-Llama-3.2-Community", 0.9, "llama 3 2 community license agreement"),
    ("LicenseRef-Llama-3.2-Community", 1.0, "llama 3 2 version release date september 25 2024"),
    ("LicenseRef-Llama-3.3-Community", 0.9, "llama 3 3 community license agreement"),
    ("LicenseRef-Llama-3.3-Community", 1.0, "llama 3 3 version release date december 6 2024"),
    ("LicenseRef-Databricks-Open-Model", 0.9, "databricks open model license"),
    ("LicenseRef-Databricks-Open-Model", 1.0, "dbrx is provided under and subject to the databricks open model license"),
    ("LicenseRef-Mistral-Research", 0.9, "mistral ai research license"),
    ("LicenseRef-Mistral-Non-Production", 0.9, "mistral ai non production license"),
    ("LicenseRef-Gemma", 0.9, "gemma terms of use"),
    ("LicenseRef-Qwen", 0.9, "qwen license agreement"),
    ("LicenseRef-Qwen-Research", 0.9, "qwen research license agreement"),
];

/// GNU licences for the generated notices: `(name in notices, SPDX base, versions)`.
const GNU: &[(&str, &str, &[&str])] = &[
    ("gnu general public license", "GPL", &["2", "3"]),
    ("gnu lesser general public license", "LGPL", &["2 1", "3"]),
    ("gnu library general public license", "LGPL", &["2"]),
    ("gnu affero general public license", "AGPL", &["3"]),
];

/// Licence names in prose: `(licence, name specs)`.
const NAMES: &[(&str, &str)] = &[
    (
        "GPL-1.0-or-later",
        "{gpl|gnu gpl|gnu general public license}",
    ),
    (
        "GPL-2.0-only",
        "{gpl|gnu gpl|gnu general public license} {v2|2|v 2|version 2|2 0|v2 0|version 2 0}",
    ),
    ("GPL-2.0-only", "gplv2"),
    (
        "GPL-3.0-only",
        "{gpl|gnu gpl|gnu general public license} {v3|3|v 3|version 3|3 0|v3 0|version 3 0}",
    ),
    ("GPL-3.0-only", "gplv3"),
    (
        "LGPL-2.1-only",
        "{lgpl|gnu lgpl|gnu lesser general public license} {v2 1|2 1|version 2 1}",
    ),
    ("LGPL-2.1-only", "lgplv2 1"),
    (
        "LGPL-3.0-only",
        "{lgpl|gnu lgpl|gnu lesser general public license} {v3|3|version 3|3 0}",
    ),
    ("LGPL-3.0-only", "lgplv3"),
    (
        "LGPL-2.0-or-later",
        "{lgpl|gnu lgpl|gnu lesser general public license}",
    ),
    (
        "AGPL-3.0-only",
        "{agpl|gnu agpl|gnu affero general public license} {v3|3|version 3|3 0}",
    ),
    ("AGPL-3.0-only", "{agplv3|agpl}"),
    ("MIT", "{mit|expat}"),
    (
        "Apache-2.0",
        "{apache|apache software|asf} {license|} {v2|2|v 2|version 2|2 0|v2 0|version 2 0}",
    ),
    (
        "BSD-2-Clause",
        "{bsd 2 clause|2 clause bsd|simplified bsd|freebsd}",
    ),
    (
        "BSD-3-Clause",
        "{bsd 3 clause|3 clause bsd|new bsd|modified bsd|revised bsd|bsd}",
    ),
    (
        "MPL-2.0",
        "{mpl|mozilla public license} {2 0|v2|v2 0|version 2 0|}",
    ),
    (
        "EPL-2.0",
        "{epl|eclipse public license} {2 0|v2|v2 0|version 2 0|}",
    ),
    (
        "EPL-1.0",
        "{epl|eclipse public license} {1 0|v1|v1 0|version 1 0}",
    ),
    ("ISC", "isc"),
    ("Unlicense", "unlicense"),
    ("CC0-1.0", "{cc0|cc0 1 0|creative commons zero}"),
    ("WTFPL", "wtfpl"),
    ("Zlib", "zlib"),
    ("BSL-1.0", "{boost software license|boost|bsl 1 0}"),
    ("CC-BY-4.0", "{cc by 4 0|creative commons attribution 4 0}"),
    (
        "CC-BY-SA-4.0",
        "{cc by sa 4 0|creative commons attribution sharealike 4 0}",
    ),
    (
        "CC-BY-NC-4.0",
        "{cc by nc 4 0|creative commons attribution noncommercial 4 0}",
    ),
    (
        "CC-BY-NC-SA-4.0",
        "{cc by nc sa 4 0|creative commons attribution noncommercial sharealike 4 0}",
    ),
    ("CC-BY-ND-4.0", "cc by nd 4 0"),
    ("CC-BY-NC-ND-4.0", "cc by nc nd 4 0"),
    (
        "SSPL-1.0",
        "{sspl|server side public license} {v1|1|version 1|}",
    ),
    ("BUSL-1.1", "{busl|bsl 1 1|business source license} {1 1|}"),
    ("Elastic-2.0", "{elastic license|elastic license 2 0|elv2}"),
    (
        "LicenseRef-Llama-2-Community",
        "llama 2 community license {agreement|}",
    ),
    (
        "LicenseRef-Llama-3-Community",
        "{meta llama 3|llama 3} community license {agreement|}",
    ),
    (
        "LicenseRef-Llama-3.1-Community",
        "llama 3 1 community license {agreement|}",
    ),
    (
        "LicenseRef-Databricks-Open-Model",
        "databricks open model license",
    ),
    (
        "LicenseRef-Mistral-Research",
        "mistral {ai|} research license",
    ),
];

const VERBS: &str =
    "{released|licensed|distributed|available|published|provided|is|are|dual licensed}";

fn gnu_notices(set: &mut PhraseSet) {
    let subjects = "{this program is free software|this library is free software|this file is free software|this software is free software|}";
    for (name, base, versions) in GNU {
        for v in *versions {
            let id_v = match *v {
                "2 1" => "2.1",
                "2" => "2.0",
                "3" => "3.0",
                other => other,
            };
            let later = format!("{base}-{id_v}-or-later");
            let only = format!("{base}-{id_v}-only");
            let hope = format!(" {{this program|this library|it}} is distributed in the hope that it will be useful but without any warranty without even the implied warranty of merchantability or fitness for a particular purpose see the {name} for more details");
            let copy = format!(" you should have received a copy of the {name} along with this {{program|library}} {{if not see http www gnu org licenses|if not write to the free software foundation inc 51 franklin street fifth floor boston ma 02110 1301 usa|if not write to the free software foundation inc 59 temple place suite 330 boston ma 02111 1307 usa|if not write to the free software foundation inc 675 mass ave cambridge ma 02139 usa}}");
            let grants = [
                (later.as_str(), format!("{subjects} you can redistribute it and or modify it under the terms of the {name} as published by the free software foundation either version {v} of the license or at your option any later version")),
                (only.as_str(), format!("{subjects} you can redistribute it and or modify it under the terms of the {name} as published by the free software foundation version {v} of the license")),
                (only.as_str(), format!("{subjects} you can redistribute it and or modify it under the terms of the {name} version {v} as published by the free software foundation")),
                (only.as_str(), format!("{subjects} you can redistribute it and or modify it under the terms of the {name} as published by the free software foundation version {v}")),
            ];
            for (id, grant) in grants {
                // The grant alone, with the warranty paragraph, and with both paragraphs.
                for spec in [
                    grant.clone(),
                    format!("{grant}{hope}"),
                    format!("{grant}{hope}{copy}"),
                ] {
                    add_spec(set, id, 1.0, PhraseKind::Notice, &spec);
                }
            }
        }
    }
}

fn add_spec(set: &mut PhraseSet, licence: &str, score: f32, kind: PhraseKind, spec: &str) {
    for s in expand(spec) {
        let toks = words(&s);
        let info = PhraseInfo {
            licence: licence.to_string(),
            score,
            kind,
        };
        set.add(&toks, info);
    }
}

fn references(set: &mut PhraseSet, score: f32) {
    for (licence, names) in NAMES {
        for name in expand(names) {
            let name = name.trim();
            add_spec(
                set,
                licence,
                score,
                PhraseKind::Reference,
                &format!("{VERBS} under {{the|a|}} {{terms of the|terms of|}} {name} {{license|}}"),
            );
            add_spec(
                set,
                licence,
                score,
                PhraseKind::Reference,
                &format!("{name} {{license|}} licensed"),
            );
        }
    }
}

/// Splits a licence text into sentences of interned tokens: at `.;:!?` followed by white
/// space, at blank lines, and at placeholders (`<year>`, `[name of copyright owner]`, but not
/// `<https://…>`), which never match.
fn sentences(text: &str, set: &mut PhraseSet) -> Vec<Vec<u32>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut cur: Vec<u32> = Vec::new();
    let mut buf = String::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphanumeric() {
            let start = i;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            buf.clear();
            buf.push_str(&text[start..i]);
            buf.make_ascii_lowercase();
            cur.push(set.intern(fold(&buf)));
            continue;
        }
        let brk = match c {
            b'<' | b'[' => {
                let close = if c == b'<' { b'>' } else { b']' };
                // A placeholder (`<year>`, `[name of copyright owner]`), not a URL or address.
                match b[i..b.len().min(i + 81)].iter().position(|&x| x == close) {
                    Some(len) if !b[i..i + len].iter().any(|x| b":/@.".contains(x)) => {
                        i += len;
                        true
                    }
                    _ => false,
                }
            }
            b'.' | b';' | b':' | b'!' | b'?' => {
                b.get(i + 1).is_none_or(|n| n.is_ascii_whitespace())
            }
            b'\n' => {
                let mut k = i + 1;
                while k < b.len() && matches!(b[k], b' ' | b'\t' | b'\r') {
                    k += 1;
                }
                b.get(k) == Some(&b'\n')
            }
            _ => false,
        };
        if brk && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Cuts a sentence into phrase-sized chunks.
fn chunks<T>(sentence: &[T]) -> Vec<&[T]> {
    if sentence.len() <= SPLIT_OVER {
        return vec![sentence];
    }
    let mut out: Vec<&[T]> = sentence.chunks(CHUNK_TOKENS).collect();
    if out.len() > 1 && out[out.len() - 1].len() < MIN_TEXT_TOKENS {
        // Too short on its own: fold the tail into the chunk before it.
        let n = out.len();
        let start = sentence.len() - out[n - 2].len() - out[n - 1].len();
        out.truncate(n - 2);
        out.push(&sentence[start..]);
    }
    out
}

/// The licence ids whose texts are used: non-deprecated ones, one id per distinct text
/// (`GPL-3.0-only` and `GPL-3.0-or-later` share a text: the `-only` id is kept).
fn text_ids() -> Vec<(&'static str, &'static str)> {
    let mut by_text: HashMap<*const u8, (&'static str, &'static str)> = HashMap::new();
    for (id, text) in spdx::text::LICENSE_TEXTS {
        let Some(lid) = spdx::license_id(id) else {
            continue;
        };
        if lid.is_deprecated() {
            continue;
        }
        let key = text.as_ptr();
        match by_text.get(&key) {
            Some((prev, _)) if prev.ends_with("-only") => {}
            _ => {
                if !by_text.contains_key(&key) || id.ends_with("-only") {
                    by_text.insert(key, (id, text));
                }
            }
        }
    }
    let mut v: Vec<_> = by_text.into_values().collect();
    for (id, text) in &mut v {
        // The SPDX LGPL-3.0 text appends the whole GPL-3.0; a project ships them as two files.
        if id.starts_with("LGPL-3.0") {
            if let Some(cut) = text.find("GNU GENERAL PUBLIC LICENSE") {
                *text = &text[..cut];
            }
        }
    }
    v.sort_unstable();
    v
}

/// Wording that every GNU licence's "How to apply these terms" appendix shares whatever the
/// version; the notice table handles it with the version, so text chunks containing it are
/// not used.
const AMBIGUOUS: &[&str] = &[
    "in the hope that it will be useful",
    "should have received a copy of the",
    "free software foundation inc",
    "either version 2 of the license or at your option any later version",
    "either version 3 of the license or at your option any later version",
];

fn contains_seq(hay: &[u32], needle: &[u32]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

const GRAM: usize = 8;

fn gram_hash(ids: &[u32]) -> u64 {
    ids.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &t| {
        (h ^ u64::from(t)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn texts(set: &mut PhraseSet) {
    let rank = |id: &str| SHARED_PRIORITY.iter().position(|p| *p == id);
    let ambiguous: Vec<Vec<u32>> = AMBIGUOUS
        .iter()
        .map(|a| words(a).iter().map(|w| set.intern(w)).collect())
        .collect();
    let ids = text_ids();
    // Every chunk of every text, once, in first-seen order; and each text's whole token stream.
    let mut chunk_index: HashMap<Vec<u32>, usize> = HashMap::new();
    let mut chunk_list: Vec<Vec<u32>> = Vec::new();
    let mut streams: Vec<Vec<u32>> = Vec::with_capacity(ids.len());
    let mut text_chunks: Vec<Vec<usize>> = Vec::with_capacity(ids.len());
    for (_, text) in &ids {
        let sents = sentences(text, set);
        let mut mine = Vec::new();
        for s in &sents {
            for c in chunks(s) {
                if c.len() < MIN_TEXT_TOKENS || ambiguous.iter().any(|a| contains_seq(c, a)) {
                    continue;
                }
                let ci = match chunk_index.get(c) {
                    Some(&ci) => ci,
                    None => {
                        chunk_index.insert(c.to_vec(), chunk_list.len());
                        chunk_list.push(c.to_vec());
                        chunk_list.len() - 1
                    }
                };
                mine.push(ci);
            }
        }
        streams.push(sents.concat());
        text_chunks.push(mine);
    }
    // Owners: every text whose token stream contains the chunk anywhere (punctuation and
    // sentence breaks do not matter to the matcher, so neither do they here). Found by the
    // hash of each chunk's first GRAM tokens, then verified.
    let mut by_gram: HashMap<u64, Vec<usize>> = HashMap::new();
    for (ci, c) in chunk_list.iter().enumerate() {
        by_gram.entry(gram_hash(&c[..GRAM])).or_default().push(ci);
    }
    let mut owners: Vec<Vec<usize>> = vec![Vec::new(); chunk_list.len()];
    for (ti, stream) in streams.iter().enumerate() {
        for p in 0..stream.len().saturating_sub(GRAM - 1) {
            let Some(cands) = by_gram.get(&gram_hash(&stream[p..p + GRAM])) else {
                continue;
            };
            for &ci in cands {
                let c = &chunk_list[ci];
                if stream[p..].starts_with(c) && owners[ci].last() != Some(&ti) {
                    owners[ci].push(ti);
                }
            }
        }
    }
    // Text `a` is a sub-document of `b` when nearly all of `a`'s wording is also in `b`
    // (MIT inside X11, BSD-2-Clause inside BSD-3-Clause, GPL-3.0 inside the SPDX LGPL-3.0 text).
    let mut container_of: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    for (a, mine) in text_chunks.iter().enumerate() {
        let mut co: HashMap<usize, usize> = HashMap::new();
        for &ci in mine {
            for &b in &owners[ci] {
                if b != a {
                    *co.entry(b).or_default() += 1;
                }
            }
        }
        for (b, n) in co {
            if n * 10 >= mine.len() * 9 {
                container_of[a].push(b);
            }
        }
    }
    for (ci, chunk) in chunk_list.iter().enumerate() {
        // Common licences first: if any sharer is in SHARED_PRIORITY, only those compete.
        let all = &owners[ci];
        let listed: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&t| rank(ids[t].0).is_some())
            .collect();
        let sharers = if listed.is_empty() {
            all.clone()
        } else {
            listed
        };
        // The least restrictive class among them decides (so a text's own sentences decide
        // how strictly it is judged: SSPL's GPL-3.0 wording reads as GPL-3.0-only).
        let least = sharers
            .iter()
            .map(|&t| class::restrictiveness(class::builtin_class(ids[t].0)))
            .min()
            .unwrap_or(0);
        let sharers: Vec<usize> = sharers
            .into_iter()
            .filter(|&t| class::restrictiveness(class::builtin_class(ids[t].0)) == least)
            .collect();
        // Then wording shared with a sub-document belongs to the sub-document.
        // (Two near-identical texts each contain the other: neither is dropped for that.)
        let sub =
            |a: usize, b: usize| container_of[a].contains(&b) && !container_of[b].contains(&a);
        let mut who: Vec<&'static str> = sharers
            .iter()
            .filter(|&&b| !sharers.iter().any(|&a| a != b && sub(a, b)))
            .map(|&ti| ids[ti].0)
            .collect();
        if who.is_empty() {
            who = sharers.iter().map(|&ti| ids[ti].0).collect();
        }
        // Then the most common licence.
        let owner = who
            .iter()
            .copied()
            .min_by_key(|i| (rank(i).unwrap_or(usize::MAX), *i));
        if let Some(id) = owner {
            set.add_ids(
                chunk,
                PhraseInfo {
                    licence: id.to_string(),
                    score: 0.9,
                    kind: PhraseKind::Text,
                },
            );
        }
    }
}

/// Which phrase tables to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tables {
    /// Notices, titles and full-text sentences.
    pub texts: bool,
    /// Prose references.
    pub references: bool,
}

/// Builds the phrase set for `tables`; `reference_score` is the score of prose references.
pub fn build(tables: Tables, reference_score: f32) -> PhraseSet {
    let mut set = PhraseSet::new();
    if tables.texts {
        for (id, score, spec) in NOTICES {
            add_spec(&mut set, id, *score, PhraseKind::Notice, spec);
        }
        gnu_notices(&mut set);
    }
    if tables.references {
        references(&mut set, reference_score);
    }
    if tables.texts {
        texts(&mut set);
    }
    set
}

/// The full table (texts and references at score 0.6), built once per process: building it
/// tokenises every SPDX licence text.
pub fn shared_full() -> &'static PhraseSet {
    static SET: OnceLock<PhraseSet> = OnceLock::new();
    SET.get_or_init(|| {
        build(
            Tables {
                texts: true,
                references: true,
            },
            0.6,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_at_stops_and_placeholders() {
        let mut set = PhraseSet::new();
        let s = sentences(
            "Copyright (c) <year> <owner>. All rights\nreserved. Version 2.0 is it: yes\n \nNext",
            &mut set,
        );
        let joined: Vec<String> = s
            .iter()
            .map(|w| w.iter().map(|&t| set.word(t)).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            joined,
            [
                "copyright c",
                "all rights reserved",
                "version 2 0 is it",
                "yes",
                "next"
            ]
        );
    }

    #[test]
    fn long_sentences_are_chunked() {
        let s: Vec<String> = (0..88).map(|i| format!("w{i}")).collect();
        let c = chunks(&s);
        assert_eq!(c.iter().map(|c| c.len()).collect::<Vec<_>>(), [40, 48]);
        let s: Vec<String> = (0..85).map(|i| format!("w{i}")).collect();
        assert_eq!(
            chunks(&s).iter().map(|c| c.len()).collect::<Vec<_>>(),
            [40, 45]
        );
    }

    #[test]
    fn every_phrase_reports_a_valid_category_with_a_class() {
        let set = shared_full();
        assert!(set.len() > 40_000, "{}", set.len());
        assert!(set.longest() <= crate::phrase::MAX_PHRASE_TOKENS);
        let mut ids: Vec<&str> = set.infos().iter().map(|i| i.licence.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            assert!(
                glassbox_core::Category::new(format!("license.{id}")).is_ok(),
                "{id}"
            );
            if id.starts_with("LicenseRef-") {
                assert_ne!(
                    class::builtin_class(id),
                    glassbox_core::policy::LicenseClass::Unknown,
                    "{id}"
                );
            }
        }
    }

    #[test]
    fn text_ids_prefer_only_and_skip_deprecated() {
        let ids: Vec<&str> = text_ids().into_iter().map(|(i, _)| i).collect();
        assert!(ids.contains(&"GPL-3.0-only"));
        assert!(!ids.contains(&"GPL-3.0-or-later"));
        assert!(!ids.contains(&"GPL-3.0"));
        assert!(ids.contains(&"MIT"));
        assert!(ids.len() > 500, "{}", ids.len());
    }
}
