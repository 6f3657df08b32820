//! Server-sent events: an incremental parser that keeps each event's raw bytes, and a writer
//! that re-emits an event with new data and otherwise the same framing.
//!
//! The parser follows the WHATWG `text/event-stream` rules: lines end in CRLF, LF or CR (a CRLF
//! split across chunks is one terminator), a blank line dispatches the event, `data:` lines are
//! joined with `\n`, a single space after the colon is dropped, lines starting with `:` are
//! comments. An event is handed out as soon as its blank line arrives: nothing waits for more
//! input than the event itself.

use std::ops::Range;

/// What one line of an event was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Data,
    Other,
}

/// One event block as received.
#[derive(Debug, Clone, Default)]
pub(crate) struct SseEvent {
    /// Every byte of the block: a stray LF completing the previous block's CR, the lines with
    /// their terminators and the blank line.
    pub raw: Vec<u8>,
    /// Bytes at the start of `raw` that belong to no line (the stray LF).
    prefix: usize,
    /// Line ranges in `raw` (with terminators) and kinds.
    lines: Vec<(Range<usize>, LineKind)>,
    /// The `event:` field.
    pub event: Option<String>,
    /// The joined `data:` lines, when the block had any.
    pub data: Option<String>,
    /// The terminator of the last line seen (used for synthesised events).
    pub eol: &'static str,
}

impl SseEvent {
    /// Re-emits the event with `data` in place of its data lines; every other line (comments,
    /// `event:`, `id:`, `retry:`, unknown fields) and every terminator stays as received.
    pub fn with_data(&self, data: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.raw.len() + data.len());
        out.extend_from_slice(&self.raw[..self.prefix]);
        let mut wrote = false;
        for (r, kind) in &self.lines {
            match kind {
                LineKind::Other => out.extend_from_slice(&self.raw[r.clone()]),
                LineKind::Data if !wrote => {
                    let eol = line_terminator(&self.raw[r.clone()]);
                    let eol = if eol.is_empty() {
                        self.eol.as_bytes()
                    } else {
                        eol
                    };
                    for line in data.split('\n') {
                        out.extend_from_slice(b"data: ");
                        out.extend_from_slice(line.as_bytes());
                        out.extend_from_slice(eol);
                    }
                    wrote = true;
                }
                LineKind::Data => {}
            }
        }
        // The blank line that ended the block.
        let end = self.lines.last().map_or(self.prefix, |(r, _)| r.end);
        out.extend_from_slice(&self.raw[end..]);
        out
    }
}

fn line_terminator(line: &[u8]) -> &[u8] {
    if line.ends_with(b"\r\n") {
        &line[line.len() - 2..]
    } else if line.ends_with(b"\n") || line.ends_with(b"\r") {
        &line[line.len() - 1..]
    } else {
        &[]
    }
}

/// Writes a new event block `event: <name>` (when given) and `data: <data>` lines.
pub(crate) fn write_event(name: Option<&str>, data: &str, eol: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 32);
    if let Some(name) = name {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(eol.as_bytes());
    }
    for line in data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(eol.as_bytes());
    }
    out.extend_from_slice(eol.as_bytes());
    out
}

/// Incremental parser.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    cur: SseEvent,
    /// Start in `cur.raw` of the line being read.
    line_start: usize,
    /// The previous chunk ended in CR: an LF first in the next one completes that terminator.
    skip_lf: bool,
    /// The terminator style last seen.
    eol: &'static str,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        SseParser {
            eol: "\n",
            ..SseParser::default()
        }
    }

    /// Feeds bytes; complete events are appended to `out`.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<SseEvent>) {
        if bytes.is_empty() {
            return;
        }
        if self.skip_lf {
            self.skip_lf = false;
            if let Some((b'\n', rest)) = bytes.split_first() {
                if self.cur.raw.is_empty() {
                    // The CR was the previous block's blank line.
                    self.cur.raw.push(b'\n');
                    self.cur.prefix = 1;
                    self.line_start = 1;
                } else if let Some((r, _)) = self.cur.lines.last_mut() {
                    self.cur.raw.push(b'\n');
                    r.end += 1;
                    self.line_start += 1;
                }
                bytes = rest;
            }
        }
        while !bytes.is_empty() {
            let Some(pos) = bytes.iter().position(|&c| c == b'\n' || c == b'\r') else {
                self.cur.raw.extend_from_slice(bytes);
                return;
            };
            self.cur.raw.extend_from_slice(&bytes[..pos]);
            let content_end = self.cur.raw.len();
            let (term_len, eol) = if bytes[pos] == b'\r' {
                match bytes.get(pos + 1) {
                    Some(b'\n') => (2, "\r\n"),
                    Some(_) => (1, "\r"),
                    None => {
                        self.skip_lf = true;
                        (1, "\r")
                    }
                }
            } else {
                (1, "\n")
            };
            self.eol = eol;
            self.cur.raw.extend_from_slice(&bytes[pos..pos + term_len]);
            bytes = &bytes[pos + term_len..];
            let line = self.line_start..self.cur.raw.len();
            if content_end == self.line_start {
                self.dispatch(out);
            } else {
                self.field(line, content_end);
            }
        }
    }

    /// Ends the stream: an unterminated last block is handed out as it is.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if self.cur.raw.len() > self.line_start {
            let end = self.cur.raw.len();
            self.field(self.line_start..end, end);
        }
        if !self.cur.raw.is_empty() {
            self.dispatch(out);
        }
    }

    fn field(&mut self, line: Range<usize>, content_end: usize) {
        let content = &self.cur.raw[line.start..content_end];
        let (name, value) = match content.iter().position(|&c| c == b':') {
            Some(0) => (&content[..0], &content[..0]),
            Some(i) => {
                let v = &content[i + 1..];
                (&content[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (content, &content[..0]),
        };
        let is_comment = content.first() == Some(&b':');
        let mut kind = LineKind::Other;
        if !is_comment {
            match name {
                b"data" => {
                    let v = utf8_lossy(value);
                    match &mut self.cur.data {
                        Some(d) => {
                            d.push('\n');
                            d.push_str(&v);
                        }
                        None => self.cur.data = Some(v.into_owned()),
                    }
                    kind = LineKind::Data;
                }
                b"event" => self.cur.event = Some(utf8_lossy(value).into_owned()),
                _ => {}
            }
        }
        self.cur.lines.push((line.clone(), kind));
        self.line_start = line.end;
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let mut ev = std::mem::take(&mut self.cur);
        ev.eol = self.eol;
        self.line_start = 0;
        // Events of one stream are alike in size: one allocation each instead of growing
        // from empty by doubling.
        self.cur.raw.reserve(ev.raw.len());
        self.cur.lines.reserve(ev.lines.len());
        out.push(ev);
    }
}

/// `String::from_utf8_lossy` with the fast validation first (the lossy path walks the text in
/// chunks at a fraction of the speed, and events are nearly always valid UTF-8).
fn utf8_lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_split(input: &[u8], cuts: &[usize]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        let mut at = 0;
        for &c in cuts.iter().chain(std::iter::once(&input.len())) {
            p.feed(&input[at..c], &mut out);
            at = c;
        }
        p.finish(&mut out);
        out
    }

    const STREAM: &[u8] = b": keep-alive\r\n\r\nevent: message_start\r\nid: 7\r\nretry: 100\r\ndata: {\"a\":\r\ndata:1}\r\n\r\ndata: x\rdata: y\r\rdata: [DONE]\n\n";

    #[test]
    fn every_split_point_gives_the_same_events_and_bytes() {
        let whole = parse_split(STREAM, &[]);
        let summary = |evs: &[SseEvent]| {
            evs.iter()
                .map(|e| (e.event.clone(), e.data.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            summary(&whole),
            vec![
                (None, None),
                (Some("message_start".into()), Some("{\"a\":\n1}".into())),
                (None, Some("x\ny".into())),
                (None, Some("[DONE]".into())),
            ]
        );
        for a in 0..=STREAM.len() {
            for b in a..=STREAM.len() {
                let evs = parse_split(STREAM, &[a, b]);
                assert_eq!(summary(&evs), summary(&whole), "cuts {a} {b}");
                let bytes: Vec<u8> = evs.iter().flat_map(|e| e.raw.clone()).collect();
                assert_eq!(bytes, STREAM, "cuts {a} {b}");
            }
        }
    }

    #[test]
    fn rewrite_keeps_framing() {
        let evs = parse_split(STREAM, &[]);
        let out = evs[1].with_data("{\"b\":2}");
        assert_eq!(
            out,
            b"event: message_start\r\nid: 7\r\nretry: 100\r\ndata: {\"b\":2}\r\n\r\n"
        );
        assert_eq!(
            write_event(Some("x"), "1\n2", "\n"),
            b"event: x\ndata: 1\ndata: 2\n\n"
        );
    }

    #[test]
    fn invalid_utf8_reads_as_replacement_characters_and_raw_bytes_stay() {
        let input = b"event: a\xffb\ndata: x\xc3\n\ndata: ok\n\n";
        let evs = parse_split(input, &[]);
        assert_eq!(evs[0].event.as_deref(), Some("a\u{fffd}b"));
        assert_eq!(evs[0].data.as_deref(), Some("x\u{fffd}"));
        assert_eq!(evs[1].data.as_deref(), Some("ok"));
        let bytes: Vec<u8> = evs.iter().flat_map(|e| e.raw.clone()).collect();
        assert_eq!(bytes, input);
    }

    #[test]
    fn unterminated_last_event_is_handed_out() {
        let evs = parse_split(b"data: a\n\ndata: b", &[]);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[1].data.as_deref(), Some("b"));
        assert_eq!(evs[1].raw, b"data: b");
    }
}
