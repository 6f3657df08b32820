//! Licence detection in text: notices in many comment styles, full SPDX licence texts embedded
//! in code, SPDX tags, prose references; and the streaming contract on all of them.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use common::*;
use glassbox_core::policy::LicenseConfig;
use glassbox_core::Detector;
use glassbox_license::{class, detector, LicenseDetector};

fn det() -> LicenseDetector {
    detector(&LicenseConfig::default()).unwrap()
}

const GPL2_LATER: &str = "This program is free software; you can redistribute it and/or modify it under the terms of the GNU General Public License as published by the Free Software Foundation; either version 2 of the License, or (at your option) any later version.\n\nThis program is distributed in the hope that it will be useful, but WITHOUT ANY WARRANTY; without even the implied warranty of MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the GNU General Public License for more details.\n\nYou should have received a copy of the GNU General Public License along with this program; if not, write to the Free Software Foundation, Inc., 51 Franklin Street, Fifth Floor, Boston, MA 02110-1301 USA.";

const GPL3_LATER: &str = "This program is free software: you can redistribute it and/or modify it under the terms of the GNU General Public License as published by the Free Software Foundation, either version 3 of the License, or (at your option) any later version.\n\nThis program is distributed in the hope that it will be useful, but WITHOUT ANY WARRANTY; without even the implied warranty of MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU General Public License for more details.\n\nYou should have received a copy of the GNU General Public License along with this program.  If not, see <https://www.gnu.org/licenses/>.";

const LGPL21_LATER: &str = "This library is free software; you can redistribute it and/or modify it under the terms of the GNU Lesser General Public License as published by the Free Software Foundation; either version 2.1 of the License, or (at your option) any later version.";

const AGPL3_LATER: &str = "This program is free software: you can redistribute it and/or modify it under the terms of the GNU Affero General Public License as published by the Free Software Foundation, either version 3 of the License, or (at your option) any later version.";

const GPL2_ONLY: &str = "This program is free software; you can redistribute it and/or modify it under the terms of the GNU General Public License version 2 as published by the Free Software Foundation.";

const APACHE: &str = "Licensed under the Apache License, Version 2.0 (the \"License\"); you may not use this file except in compliance with the License. You may obtain a copy of the License at\n\n http://www.apache.org/licenses/LICENSE-2.0\n\nUnless required by applicable law or agreed to in writing, software distributed under the License is distributed on an \"AS IS\" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the License for the specific language governing permissions and limitations under the License.";

const MPL: &str = "This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0. If a copy of the MPL was not distributed with this file, You can obtain one at http://mozilla.org/MPL/2.0/.";

const EPL2: &str = "This program and the accompanying materials are made available under the terms of the Eclipse Public License 2.0 which is available at https://www.eclipse.org/legal/epl-2.0/";

const SSPL: &str = "This program is free software: you can redistribute it and/or modify it under the terms of the Server Side Public License, version 1, as published by MongoDB, Inc.";

const BUSL: &str =
    "Use of this software is governed by the Business Source License included in the LICENSE file.";

const ELASTIC: &str = "Licensed under the Elastic License 2.0; you may not use this file except in compliance with the Elastic License 2.0.";

const CC_BY_NC: &str = "This work is licensed under a Creative Commons Attribution-NonCommercial 4.0 International License. To view a copy of this license, visit http://creativecommons.org/licenses/by-nc/4.0/";

const GO_BSD: &str = "Use of this source code is governed by a BSD-style license that can be found in the LICENSE file.";

/// Notices: `(name, text, licence)`.
const NOTICES: &[(&str, &str, &str)] = &[
    ("gpl2+", GPL2_LATER, "GPL-2.0-or-later"),
    ("gpl3+", GPL3_LATER, "GPL-3.0-or-later"),
    ("lgpl21+", LGPL21_LATER, "LGPL-2.1-or-later"),
    ("agpl3+", AGPL3_LATER, "AGPL-3.0-or-later"),
    ("gpl2", GPL2_ONLY, "GPL-2.0-only"),
    ("apache", APACHE, "Apache-2.0"),
    ("mpl", MPL, "MPL-2.0"),
    ("epl2", EPL2, "EPL-2.0"),
    ("sspl", SSPL, "SSPL-1.0"),
    ("busl", BUSL, "BUSL-1.1"),
    ("elastic", ELASTIC, "Elastic-2.0"),
    ("cc-by-nc", CC_BY_NC, "CC-BY-NC-4.0"),
    ("go-bsd", GO_BSD, "BSD-3-Clause"),
];

#[test]
fn notices_in_every_comment_style_and_width() {
    let d = det();
    for (name, text, licence) in NOTICES {
        for style in STYLES {
            for width in [40, 72, 100] {
                let comment = wrap(text, *style, width);
                let code = in_code(&comment, style.0);
                let found = whole(&d, &code);
                let want = format!("license.{licence}");
                assert_eq!(
                    cats(&found),
                    std::slice::from_ref(&want),
                    "{name} in {} at width {width}:\n{code}",
                    style.0
                );
                // The span covers the notice: at least 90% of its words' bytes.
                let words: usize = text.split_whitespace().map(str::len).sum();
                let span: usize = found.iter().map(|m| m.end - m.start).sum();
                assert!(
                    span * 10 >= words * 9,
                    "{name} in {}: span {span} < words {words}",
                    style.0
                );
                assert!(found.iter().all(|m| m.score == 1.0));
            }
        }
    }
}

#[test]
fn edited_notice_still_found_by_its_distinctive_clause() {
    let d = det();
    // "This program" renamed and a word dropped from the warranty paragraph.
    let edited = GPL3_LATER
        .replace(
            "This program is free software",
            "Frobnicator is free software",
        )
        .replace("even the implied", "the implied");
    let found = whole(&d, &wrap(&edited, STYLES[1], 80));
    assert_eq!(cats(&found), ["license.GPL-3.0-or-later"]);
}

/// Full texts from the SPDX list, embedded in code of several languages.
const FULL_TEXTS: &[&str] = &[
    "MIT",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "0BSD",
    "Zlib",
    "BSL-1.0",
    "Unlicense",
    "GPL-2.0-only",
    "GPL-3.0-only",
    "LGPL-2.1-only",
    "LGPL-3.0-only",
    "AGPL-3.0-only",
    "MPL-2.0",
    "EPL-2.0",
    "EPL-1.0",
    "CDDL-1.0",
    "EUPL-1.2",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC-BY-NC-4.0",
    "CC0-1.0",
    "SSPL-1.0",
    "BUSL-1.1",
    "Elastic-2.0",
    "Artistic-2.0",
    "OFL-1.1",
    "PostgreSQL",
    "WTFPL",
];

#[test]
fn full_spdx_texts_in_code() {
    let d = det();
    for (i, id) in FULL_TEXTS.iter().enumerate() {
        let mut text = spdx::license_id(id).unwrap().text();
        if id.starts_with("LGPL-3.0") {
            // The SPDX text appends the GPL-3.0 (found as such); the LGPL part alone here.
            text = &text[..text.find("GNU GENERAL PUBLIC LICENSE").unwrap()];
        }
        let style = STYLES[i % STYLES.len()];
        let code = in_code(&wrap(text, style, 60 + (i * 7) % 40), style.0);
        let found = whole(&d, &code);
        let want = format!("license.{id}");
        let c = cats(&found);
        assert!(c.contains(&want), "{id} in {}: found {c:?}", style.0);
        // The matches cover most of the licence's words.
        let words: usize = text.split_whitespace().map(str::len).sum::<usize>();
        assert!(
            covered(&found) * 2 >= words,
            "{id}: covered {} of ~{words}",
            covered(&found)
        );
        // What the text is judged by (its most restrictive finding) is the licence's class.
        let strongest = found
            .iter()
            .map(|m| class::restrictiveness(class::builtin_class(m.category.kind().unwrap())))
            .max()
            .unwrap();
        assert_eq!(
            strongest,
            class::restrictiveness(class::builtin_class(id)),
            "{id}: found {c:?}"
        );
    }
}

/// How much of the SPDX list is recognised by its own id when a text is pasted as is.
#[test]
fn most_of_the_spdx_list_is_recognised() {
    let d = det();
    let mut missed = Vec::new();
    let mut total = 0;
    for l in spdx::identifiers::LICENSES {
        let Some(id) = spdx::license_id(l.name) else {
            continue;
        };
        if id.is_deprecated() || l.name.ends_with("-or-later") {
            continue;
        }
        total += 1;
        let found = whole(&d, id.text());
        if !cats(&found).contains(&format!("license.{}", l.name)) {
            missed.push(l.name);
        }
    }
    eprintln!("recognised by own id: {} of {total}", total - missed.len());
    // Texts that are variants of another (MIT-like, BSD-like) share all their sentences.
    assert!(
        missed.len() * 4 < total,
        "{} of {total} missed: {missed:?}",
        missed.len()
    );
}

#[test]
fn spdx_tags() {
    let d = det();
    let cases: &[(&str, &[&str])] = &[
        ("// SPDX-License-Identifier: MIT\n", &["MIT"]),
        (
            "/* SPDX-License-Identifier: GPL-2.0-only */\n",
            &["GPL-2.0-only"],
        ),
        ("# SPDX-License-Identifier: MIT OR GPL-3.0-only\n", &["MIT"]),
        ("# SPDX-License-Identifier: GPL-3.0-only OR MIT\n", &["MIT"]),
        (
            "-- SPDX-License-Identifier: GPL-2.0-only AND BSD-3-Clause\n",
            &["BSD-3-Clause", "GPL-2.0-only"],
        ),
        (
            "<!-- SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception -->\n",
            &["Apache-2.0"],
        ),
        (
            "// SPDX-License-Identifier: LicenseRef-Acme-Internal\n",
            &["LicenseRef-Acme-Internal"],
        ),
        (
            "// spdx-license-identifier: (AGPL-3.0-only OR LGPL-2.1-only) AND MIT\n",
            &["LGPL-2.1-only", "MIT"],
        ),
        (
            "// SPDX-License-Identifier: MIT OR Bogus-1.0\n",
            &["invalid_expression"],
        ),
        ("// SPDX-License-Identifier:\n", &["invalid_expression"]),
        ("// SPDX-License-Identifier MIT\n", &[]),
    ];
    for (line, want) in cases {
        let text = format!("int a;\n{line}int b;\n");
        let found = whole(&d, &text);
        let want: Vec<String> = want.iter().map(|w| format!("license.{w}")).collect();
        assert_eq!(cats(&found), want, "{line}");
        for m in &found {
            assert!(text[m.start..]
                .to_ascii_lowercase()
                .starts_with("spdx-license-identifier"));
            assert!(!text[m.start..m.end].contains('\n'));
        }
    }
}

#[test]
fn the_end_of_the_text_ends_a_tag_line() {
    let d = det();
    let t = "int a;\n// SPDX-License-Identifier: ISC";
    let found = whole(&d, t);
    assert_eq!(cats(&found), ["license.ISC"]);
    assert_eq!(found[0].end, t.len());
    // Streamed, the tag is held until the end and then found the same.
    assert_eq!(d.live_from(t, 0), t.find("SPDX").unwrap());
    assert_stream_equals_whole(&d, t, &[1, 5]);
}

#[test]
fn prose_references_and_questions() {
    let d = det();
    let cases: &[(&str, Option<&str>)] = &[
        (
            "This crate is released under the GPLv3.",
            Some("GPL-3.0-only"),
        ),
        ("The project is MIT-licensed.", Some("MIT")),
        (
            "Our SDK is licensed under the Apache License, Version 2.0, so you can ship it.",
            Some("Apache-2.0"),
        ),
        (
            "It is distributed under the terms of the GNU General Public License v2.",
            Some("GPL-2.0-only"),
        ),
        (
            "Everything here is available under the MPL 2.0\nand more text.",
            Some("MPL-2.0"),
        ),
        (
            "The weights are released under the Llama 3 Community License Agreement.",
            Some("LicenseRef-Llama-3-Community"),
        ),
        ("Is this released under the GPLv3?", None),
        ("Can I use MIT-licensed code in a GPL project?", None),
        ("What is the MIT license?", None),
        ("Which licence should I pick, MIT or Apache?", None),
        ("The license file is missing; please add one.", None),
    ];
    for (text, want) in cases {
        let found = whole(&d, text);
        match want {
            Some(id) => {
                assert_eq!(cats(&found), [format!("license.{id}")], "{text}");
                assert!(
                    found.iter().all(|m| (m.score - 0.6).abs() < 1e-6),
                    "{text}: {found:?}"
                );
            }
            None => assert!(found.is_empty(), "{text}: {found:?}"),
        }
    }
}

#[test]
fn ordinary_code_and_prose_have_no_findings() {
    let d = det();
    let texts = [
        "fn license(&self) -> &str { &self.license }\nlet free = software.free();\n",
        "You can redistribute the load across the cluster under the terms we agreed.",
        "This program is distributed over three servers; see the runbook for more details.",
        "MIT researchers released a new dataset under embargo.",
        "Permission is granted to read this document.",
    ];
    for t in texts {
        assert!(whole(&d, t).is_empty(), "{t}: {:?}", whole(&d, t));
    }
}

#[test]
fn streaming_equals_whole_text_on_fixtures() {
    let d = det();
    let mut fixtures: Vec<String> = NOTICES
        .iter()
        .enumerate()
        .map(|(i, (_, t, _))| {
            let style = STYLES[i % STYLES.len()];
            in_code(&wrap(t, style, 70), style.0)
        })
        .collect();
    fixtures.push(
        "Intro.\n// SPDX-License-Identifier: MIT OR Apache-2.0\nThis crate is released under the GPLv3. Is it MIT-licensed? The project is MIT-licensed.\n# SPDX-License-Identifier: Bogus\nSPDX-License-Identifier:".into(),
    );
    fixtures.push(format!(
        "{}\n{}",
        spdx::license_id("MIT").unwrap().text(),
        spdx::license_id("BSD-3-Clause").unwrap().text()
    ));
    for f in &fixtures {
        assert_stream_equals_whole(&d, f, &[1, 3, 16, 61, 500]);
    }
}

#[test]
fn streaming_equals_whole_text_at_random_cuts() {
    let d = det();
    let text = format!(
        "{}\n// SPDX-License-Identifier: Apache-2.0 OR MIT\nIt is released under the MPL 2.0. Is it GPL-licensed?\n{}",
        wrap(APACHE, STYLES[2], 66),
        in_code(&wrap(GPL3_LATER, STYLES[0], 80), "c-block"),
    );
    // A small linear congruential generator: the same cuts on every run.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..40 {
        let mut cuts = Vec::new();
        for _ in 0..12 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            cuts.push((x >> 33) as usize % text.len());
        }
        cuts.sort_unstable();
        assert_eq!(
            streamed(&d, &text, &cuts),
            whole(&d, &text),
            "cuts {cuts:?}"
        );
    }
}

#[test]
fn streaming_equals_whole_text_on_a_long_licence() {
    let d = det();
    let text = in_code(
        &wrap(
            spdx::license_id("GPL-3.0-only").unwrap().text(),
            STYLES[0],
            78,
        ),
        "c-block",
    );
    assert_stream_equals_whole(&d, &text, &[7, 113, 4096]);
}

#[test]
fn live_from_holds_only_what_could_still_match() {
    let d = det();
    // Plain prose: nothing is held.
    let t = "The weather is nice today and the build is green. ";
    assert_eq!(d.live_from(t, 0), t.len());
    // A notice in progress is held from its first word.
    let t = "int x;\n// This program is free software; you can redistribute it and/or modify\n// it under";
    assert_eq!(d.live_from(t, 0), t.find("This").unwrap());
    // A tag whose line has not ended is held from the tag.
    let t = "x\n// SPDX-License-Identifier: MIT OR Apa";
    assert_eq!(d.live_from(t, 0), t.find("SPDX").unwrap());
    // A partial anchor at the end is held.
    let t = "x = 1; // SPDX-Lic";
    assert_eq!(d.live_from(t, 0), t.find("SPDX").unwrap());
    // A prose reference waits for the end of its sentence (a question would drop it).
    let t = "This crate is released under the GPLv3";
    assert!(d.live_from(t, 0) <= t.find("released").unwrap());
    let t = "This crate is released under the GPLv3. Fine. ";
    assert_eq!(d.live_from(t, 0), t.len());
    assert!(d.max_match_len() >= 8 * 1024 && d.max_match_len() <= 16 * 1024);
}

#[test]
fn switches_turn_parts_off() {
    let text = "// SPDX-License-Identifier: MIT\nThis crate is released under the GPLv3.\n";
    let mut cfg = LicenseConfig {
        tags: false,
        ..Default::default()
    };
    let found = whole(&detector(&cfg).unwrap(), text);
    assert_eq!(cats(&found), ["license.GPL-3.0-only"]);
    cfg.tags = true;
    cfg.references = false;
    let found = whole(&detector(&cfg).unwrap(), text);
    assert_eq!(cats(&found), ["license.MIT"]);
    cfg.enabled = false;
    assert!(whole(&detector(&cfg).unwrap(), text).is_empty());
    let cfg = LicenseConfig {
        reference_score: 0.3,
        ..Default::default()
    };
    let found = whole(
        &detector(&cfg).unwrap(),
        "It is released under the MIT license.",
    );
    assert!((found[0].score - 0.3).abs() < 1e-6);
}

#[test]
fn bad_offsets_are_errors_not_panics() {
    let d = det();
    let mut out = Vec::new();
    let e = d.detect("héllo", 2, &mut out).unwrap_err();
    assert!(e.reason.contains("not a character boundary"), "{e}");
    assert!(d.detect("abc", 9, &mut out).is_err());
    assert_eq!(d.live_from("abc", 9), 3);
}
