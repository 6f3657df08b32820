//! `SPDX-License-Identifier:` tags in any comment syntax, parsed as SPDX expressions.
//!
//! A tag is the anchor (ASCII case-insensitive), up to [`MAX_PAD`] spaces or tabs, `:`, up to
//! [`MAX_PAD`] more, and the expression up to the end of the line or [`MAX_EXPR`] bytes,
//! whichever is first, with trailing comment closers (`*/`, `*)`, `-->`, `--}}`, `#}`, `%>`, quotes,
//! `,`, `;`) removed. The expression is parsed strictly first, then in the `spdx` crate's lax
//! mode (`GPL-2.0+`, `Apache 2.0`, `MIT/Apache-2.0`); if both fail the tag is an
//! `license.invalid_expression` finding and [`parse_expression`] gives the reason and offset.

use std::ops::Range;

/// The tag anchor, lower-case.
pub const ANCHOR: &str = "spdx-license-identifier";
/// Most spaces/tabs on either side of the `:`.
pub const MAX_PAD: usize = 16;
/// Longest expression, in bytes.
pub const MAX_EXPR: usize = 200;
/// Longest tag match, in bytes.
pub const MAX_TAG: usize = ANCHOR.len() + 2 * MAX_PAD + 1 + MAX_EXPR;

const CLOSERS: &[&str] = &[
    "*/", "*)", "-->", "--}}", "#}", "%>", "\"\"\"", "'''", "\"", "'", ",", ";", "`",
];

/// A tag found in text.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// Span of the whole tag, anchor to the end of the expression.
    pub span: Range<usize>,
    /// Span of the expression.
    pub expr: Range<usize>,
}

/// Where scanning for a tag at an anchor ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TagScan {
    /// A complete tag.
    Found(Tag),
    /// Not a tag (no `:` after the anchor).
    NotATag,
    /// The text ends before the tag is complete: more text could change it.
    Open,
}

/// An invalid SPDX expression: the `spdx` crate's reason and where in the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SPDX expression `{expression}` at byte {offset}: {reason}")]
pub struct ExpressionError {
    /// The expression as written.
    pub expression: String,
    /// Byte offset of the problem within the expression.
    pub offset: usize,
    /// What is wrong.
    pub reason: String,
}

/// Parses an SPDX expression strictly, then leniently.
///
/// # Errors
/// [`ExpressionError`] with the strict parser's reason and offset when neither mode accepts it.
pub fn parse_expression(s: &str) -> Result<spdx::Expression, ExpressionError> {
    match spdx::Expression::parse(s) {
        Ok(e) => Ok(e),
        Err(strict) => {
            spdx::Expression::parse_mode(s, spdx::ParseMode::LAX).map_err(|_| ExpressionError {
                expression: s.to_string(),
                offset: strict.span.start,
                reason: strict.reason.to_string(),
            })
        }
    }
}

/// Scans the tag whose anchor starts at `at` (`text[at..]` starts with the anchor). With
/// `end_is_final`, the end of `text` ends the line (whole-text detection); otherwise a tag that
/// reaches the end of `text` is [`TagScan::Open`] (more text could change it).
pub fn scan_at(text: &str, at: usize, end_is_final: bool) -> TagScan {
    let b = text.as_bytes();
    let mut i = at + ANCHOR.len();
    let pad = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && (b[*i] == b' ' || b[*i] == b'\t') && *i - start < MAX_PAD {
            *i += 1;
        }
    };
    pad(&mut i);
    if i == b.len() {
        return if end_is_final {
            TagScan::NotATag
        } else {
            TagScan::Open
        };
    }
    if b[i] != b':' {
        return TagScan::NotATag;
    }
    i += 1;
    pad(&mut i);
    let expr_start = i;
    let limit = (expr_start + MAX_EXPR).min(b.len());
    let line_end = b[expr_start..limit]
        .iter()
        .position(|&c| c == b'\n' || c == b'\r');
    let mut end = match line_end {
        Some(p) => expr_start + p,
        None if !end_is_final && limit == b.len() && b.len() - expr_start < MAX_EXPR => {
            return TagScan::Open;
        }
        None => floor_char_boundary(text, limit),
    };
    // Trim trailing blanks and comment closers.
    loop {
        let s = text[expr_start..end].trim_end();
        let mut e = expr_start + s.len();
        if let Some(c) = CLOSERS.iter().find(|c| s.ends_with(*c)) {
            e -= c.len();
        } else if s.ends_with(')') && s.matches(')').count() > s.matches('(').count() {
            e -= 1;
        }
        if e == end {
            break;
        }
        end = e;
    }
    TagScan::Found(Tag {
        span: at..end,
        expr: expr_start..end,
    })
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr_of(line: &str) -> Option<String> {
        let at = line.to_ascii_lowercase().find(ANCHOR)?;
        match scan_at(line, at, false) {
            TagScan::Found(t) => Some(line[t.expr].to_string()),
            _ => None,
        }
    }

    #[test]
    fn comment_styles() {
        let cases = [
            ("// SPDX-License-Identifier: MIT\n", "MIT"),
            (
                "/* SPDX-License-Identifier: GPL-2.0-only */\n",
                "GPL-2.0-only",
            ),
            (
                "# spdx-license-identifier:   Apache-2.0 OR MIT\n",
                "Apache-2.0 OR MIT",
            ),
            ("<!-- SPDX-License-Identifier: CC-BY-4.0 -->\n", "CC-BY-4.0"),
            (
                "-- SPDX-License-Identifier: (MIT OR Apache-2.0)\r\n",
                "(MIT OR Apache-2.0)",
            ),
            ("{{!-- SPDX-License-Identifier: MPL-2.0 --}}\n", "MPL-2.0"),
            (
                "\"SPDX-License-Identifier: BSD-3-Clause\",\n",
                "BSD-3-Clause",
            ),
            ("(* SPDX-License-Identifier: ISC *)\n", "ISC"),
        ];
        for (line, want) in cases {
            assert_eq!(expr_of(line).as_deref(), Some(want), "{line}");
        }
        assert_eq!(
            scan_at("SPDX-License-Identifier MIT\n", 0, false),
            TagScan::NotATag
        );
        assert_eq!(
            scan_at("SPDX-License-Identifier: MIT", 0, false),
            TagScan::Open
        );
        assert_eq!(
            scan_at("SPDX-License-Identifier  ", 0, false),
            TagScan::Open
        );
        // At the end of the whole text the line is over.
        let t = "SPDX-License-Identifier: MIT */";
        assert_eq!(
            scan_at(t, 0, true),
            TagScan::Found(Tag {
                span: 0..28,
                expr: 25..28
            })
        );
        assert_eq!(
            scan_at("SPDX-License-Identifier  ", 0, true),
            TagScan::NotATag
        );
    }

    #[test]
    fn expressions_strict_then_lax_then_error() {
        assert!(parse_expression("MIT OR Apache-2.0").is_ok());
        assert!(parse_expression("GPL-2.0+").is_ok());
        assert!(parse_expression("MIT/Apache-2.0").is_ok());
        let e = parse_expression("MIT OR Nonsense-9").unwrap_err();
        assert_eq!(e.offset, 7, "{e}");
        assert!(e.to_string().contains("unknown"), "{e}");
        let e = parse_expression("(MIT").unwrap_err();
        assert!(e.reason.contains("paren"), "{e}");
    }
}
