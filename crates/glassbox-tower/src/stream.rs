//! Screening of streamed (SSE) answers: events in, protocol-correct events out.
//!
//! Each logical text stream (a choice's content, a tool call's arguments, an Anthropic content
//! block, a Responses output part or function-call argument string) has its own
//! [`StreamScanner`]. When an event carrying a delta arrives, the delta is fed to its stream's
//! scanner and the event is re-emitted with the text the scanner released (held text from
//! earlier events first, then the safe prefix of this delta); an event whose delta is released
//! unchanged is re-emitted byte for byte. When a stream ends (OpenAI `finish_reason`, Anthropic
//! `content_block_stop`, Responses `*.done`, `[DONE]` or the end of the body) its scanner is
//! flushed and what remains goes into that event's delta or, when the event has none, into a
//! delta event synthesised just before it with the same ids. Events whose released delta is empty
//! are kept with an empty delta, which every official SDK accepts; this keeps ids, order and
//! sequence numbers as the upstream sent them.
//!
//! Block ends the stream in the protocol's own terminal form and stops reading the upstream:
//! - Chat Completions / Completions: a chunk per unfinished choice with
//!   `finish_reason: "content_filter"`, then `data: [DONE]`;
//! - Anthropic Messages: `event: error` with `{"type":"error","error":{"type":
//!   "invalid_request_error","message":…}}` (the SDKs raise it);
//! - Responses: `event: error` with the documented `type`, `code` (`content_filter`),
//!   `message`, `param`, `sequence_number` plus an `error` object (which the OpenAI SDKs raise).

use std::collections::{BTreeMap, HashMap};

use glassbox_core::{AuditSink, Engine, StreamChunk, StreamScanner};
use serde::de::IgnoredAny;
use serde_json::{json, Map, Value};

use crate::api::{ErrorKind, TEXT_FIELDS};
use crate::chunk::{Choice, Chunk, MessagesEvent, ResponsesEvent};
use crate::json_span::{locate, quote, splice, Path, Seg};
use crate::logprobs;
use crate::record::{PartDigest, Report};
use crate::sse::{write_event, SseEvent, SseParser};
use crate::Api;

/// Identifies one logical text stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    /// Chat/Completions choice text field (`content`, `refusal`, `reasoning_content`, `text`).
    Choice(u64, &'static str),
    /// Chat tool call arguments: (choice, tool call index).
    Tool(u64, u64),
    /// Anthropic content block.
    Block(u64),
    /// Responses output text / refusal: (output index, content index, field).
    Output(u64, u64, &'static str),
    /// Responses function call arguments: output index.
    Args(u64),
}

impl Key {
    fn part(&self) -> String {
        match self {
            Key::Choice(i, f) => {
                let suffix = TEXT_FIELDS
                    .iter()
                    .find(|(name, _)| name == f)
                    .map_or("", |(_, s)| *s);
                format!("choice.{i}{suffix}")
            }
            Key::Tool(i, j) => format!("choice.{i}.tool_call.{j}"),
            Key::Block(i) => format!("block.{i}"),
            Key::Output(k, c, "refusal") => format!("output.{k}.{c}.refusal"),
            Key::Output(k, c, _) => format!("output.{k}.{c}"),
            Key::Args(k) => format!("output.{k}.arguments"),
        }
    }

    fn choice(&self) -> Option<u64> {
        match self {
            Key::Choice(i, _) | Key::Tool(i, _) => Some(*i),
            _ => None,
        }
    }
}

struct TextStream {
    part: String,
    scanner: StreamScanner,
    digest: PartDigest,
    raw: Option<String>,
    /// Everything released so far (kept for the Responses API's full-text `done` fields).
    released: Option<String>,
    finished: bool,
}

/// The state of one screened SSE response.
pub(crate) struct StreamScreen {
    api: Api,
    engine: Engine,
    sink: std::sync::Arc<dyn AuditSink>,
    parser: SseParser,
    scratch: Vec<SseEvent>,
    streams: BTreeMap<Key, TextStream>,
    /// Findings and failures so far (coverage and digests are added at the end).
    pub report: Report,
    blocked: bool,
    ended: bool,
    eol: &'static str,
    /// Chat/Completions: choice indexes seen, and those that finished.
    choices: BTreeMap<u64, bool>,
    /// Anthropic: per content block, its delta type and text field.
    block_kinds: HashMap<u64, (&'static str, &'static str)>,
    /// Responses: item ids per output index; sequence numbers added by synthesised events.
    item_ids: HashMap<u64, Value>,
    seq_shift: u64,
    last_seq: Option<u64>,
    /// Text released per part, for the classifier gate: `(part, text, part ended)`. `None`
    /// when the policy has no response classifiers.
    released_log: Option<Vec<(String, String, bool)>>,
    /// Chat/Completions: the last chunk's top-level fields, for synthesised chunks.
    /// (The data of the last chunk, parsed again only when a chunk must be synthesised.)
    last_chunk: String,
}

/// A text field of the current event and what replaces it.
struct Edit {
    path: Path,
    key: Key,
    original: String,
    text: String,
}

impl StreamScreen {
    pub fn new(api: Api, engine: Engine, sink: std::sync::Arc<dyn AuditSink>) -> Self {
        StreamScreen {
            api,
            engine,
            sink,
            parser: SseParser::new(),
            scratch: Vec::new(),
            streams: BTreeMap::new(),
            report: Report::default(),
            blocked: false,
            ended: false,
            eol: "\n",
            choices: BTreeMap::new(),
            block_kinds: HashMap::new(),
            item_ids: HashMap::new(),
            seq_shift: 0,
            last_seq: None,
            last_chunk: String::new(),
            released_log: None,
        }
    }

    /// Records the text released per part for [`StreamScreen::take_released`] (the classifier
    /// gate reads it).
    pub fn log_released(&mut self) {
        self.released_log = Some(Vec::new());
    }

    /// The text released since the last call: `(part, text, part ended)` in order.
    pub fn take_released(&mut self) -> Vec<(String, String, bool)> {
        self.released_log
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The choices (Chat/Completions) whose end has been written, as the protocol state the
    /// classifier gate keeps with held bytes.
    pub fn finished_choices(&self) -> Vec<u64> {
        self.choices
            .iter()
            .filter(|(_, done)| **done)
            .map(|(i, _)| *i)
            .collect()
    }

    /// A classifier verdict blocks the stream: returns the protocol's block ending, written as
    /// if the client had received exactly the bytes it did (`finished`: the choices whose end
    /// it saw). Nothing after it is produced.
    pub fn block_by_verdict(&mut self, finished: &[u64]) -> Vec<u8> {
        for (i, done) in self.choices.iter_mut() {
            *done = finished.contains(i);
        }
        self.ended = true;
        self.terminal()
    }

    /// Whether policy blocked the stream (the terminal events have been written).
    pub fn is_blocked(&self) -> bool {
        self.blocked
    }

    /// Feeds upstream bytes; what may be sent on is appended to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.blocked || self.ended {
            return;
        }
        let mut events = std::mem::take(&mut self.scratch);
        self.parser.feed(bytes, &mut events);
        self.events(&mut events, out);
        self.scratch = events;
    }

    /// The upstream body ended: the last events are handled and every open stream is flushed.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.blocked || self.ended {
            return;
        }
        let mut events = std::mem::take(&mut self.scratch);
        self.parser.finish(&mut events);
        self.events(&mut events, out);
        if !self.blocked {
            self.flush_all(out);
            if self.blocked {
                out.extend(self.terminal());
            }
        }
        self.ended = true;
    }

    /// The upstream failed mid-stream: held text is dropped (it was never screened to its end)
    /// and the protocol's error event is written.
    pub fn fail(&mut self, message: &str, out: &mut Vec<u8>) {
        if self.blocked || self.ended {
            return;
        }
        self.ended = true;
        out.extend(self.error_event(ErrorKind::Upstream, message));
    }

    /// Moves coverage, digests and raw content into the report and returns it.
    pub fn into_report(mut self) -> Report {
        for (_, s) in std::mem::take(&mut self.streams) {
            self.report.scanner(&s.scanner);
            if let Some(d) = s.digest.finish() {
                self.report.digests.push(d);
            }
            if let Some(raw) = s.raw {
                self.report.raw.push((s.part, raw));
            }
        }
        self.report
    }

    fn events(&mut self, events: &mut Vec<SseEvent>, out: &mut Vec<u8>) {
        for ev in events.drain(..) {
            if self.blocked || self.ended {
                break;
            }
            self.eol = ev.eol;
            let Some(data) = ev.data.as_deref() else {
                out.extend_from_slice(&ev.raw);
                continue;
            };
            if data.trim() == "[DONE]" {
                self.flush_all(out);
                if self.blocked {
                    out.extend(self.terminal());
                } else {
                    out.extend_from_slice(&ev.raw);
                }
                continue;
            }
            match self.api {
                Api::ChatCompletions | Api::Completions => self.openai(&ev, data, out),
                Api::Messages => self.anthropic(&ev, data, out),
                Api::Responses => {
                    if self.responses_delta(&ev, data, out) {
                        continue;
                    }
                    let Ok(Value::Object(v)) = serde_json::from_str::<Value>(data) else {
                        // Not JSON: carries no text any SDK would read; passed on as it is.
                        out.extend_from_slice(&ev.raw);
                        continue;
                    };
                    self.responses(&ev, data, &v, out);
                }
            }
        }
    }

    // === text streams ===

    fn stream(&mut self, key: &Key) -> &mut TextStream {
        let sink = &*self.sink;
        let engine = &self.engine;
        let keep_released = self.api == Api::Responses;
        self.streams
            .entry(key.clone())
            .or_insert_with(|| TextStream {
                part: key.part(),
                scanner: engine.stream(),
                digest: PartDigest::new(sink, key.part()),
                raw: sink.wants_raw_content().then(String::new),
                released: keep_released.then(String::new),
                finished: false,
            })
    }

    /// Feeds a delta to its stream; returns the released text.
    fn feed_text(&mut self, key: &Key, text: &str) -> String {
        let s = self.stream(key);
        if s.finished {
            // A delta after the stream's end: screen it as a stream of its own.
            s.finished = false;
        }
        s.digest.update(text.as_bytes());
        if let Some(raw) = &mut s.raw {
            raw.push_str(text);
        }
        let chunk = s.scanner.feed_str(text);
        self.absorb(key, chunk)
    }

    /// Ends a stream; returns what it still held.
    fn flush(&mut self, key: &Key) -> String {
        let Some(s) = self.streams.get_mut(key) else {
            return String::new();
        };
        if s.finished {
            return String::new();
        }
        s.finished = true;
        // `feed_str` never leaves a partial character, so `finish` cannot fail.
        let chunk = s.scanner.finish().unwrap_or_default();
        let part = s.part.clone();
        let rest = self.absorb(key, chunk);
        if let Some(log) = &mut self.released_log {
            log.push((part, String::new(), true));
        }
        rest
    }

    fn absorb(&mut self, key: &Key, chunk: StreamChunk) -> String {
        self.report.findings(&chunk.findings, 0);
        self.report.failures(&chunk.failures);
        if chunk.blocked || self.report.forced_block {
            self.blocked = true;
        }
        if let Some(s) = self.streams.get_mut(key) {
            if let Some(r) = &mut s.released {
                r.push_str(&chunk.text);
            }
            if let Some(log) = &mut self.released_log {
                if !chunk.text.is_empty() {
                    log.push((s.part.clone(), chunk.text.clone(), false));
                }
            }
        }
        chunk.text
    }

    fn open_keys(&self, filter: impl Fn(&Key) -> bool) -> Vec<Key> {
        self.streams
            .iter()
            .filter(|(k, s)| !s.finished && filter(k))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Flushes every open stream into synthesised delta events. Stops at a block; the caller
    /// then writes the terminal events.
    fn flush_all(&mut self, out: &mut Vec<u8>) {
        for key in self.open_keys(|_| true) {
            let rest = self.flush(&key);
            if self.blocked {
                return;
            }
            if !rest.is_empty() {
                out.extend(self.synth_delta(&key, &rest, None));
            }
        }
    }

    /// Applies edits to the current event and writes it (after `before`).
    fn write(
        &mut self,
        ev: &SseEvent,
        data: &str,
        edits: Vec<Edit>,
        extra: Vec<(Path, String)>,
    ) -> Vec<u8> {
        let mut spans = Vec::new();
        for e in edits.into_iter().filter(|e| e.text != e.original) {
            if let Some(r) = locate(data, &e.path) {
                spans.push((r, quote(&e.text)));
            }
        }
        for (path, json) in extra {
            if let Some(r) = locate(data, &path) {
                spans.push((r, json));
            }
        }
        if spans.is_empty() {
            ev.raw.clone()
        } else {
            ev.with_data(&splice(data, spans))
        }
    }

    // === OpenAI Chat Completions / Completions ===

    fn openai(&mut self, ev: &SseEvent, data: &str, out: &mut Vec<u8>) {
        let Some(chunk) = self.typed_event::<Chunk<'_>>(ev, data, out) else {
            return;
        };
        let Some(choices) = chunk.choices.0 else {
            if chunk.error.0 {
                // The upstream's own error event: nothing more will be screened.
                self.flush_all(out);
            }
            if self.blocked {
                out.extend(self.terminal());
            } else {
                out.extend_from_slice(&ev.raw);
            }
            return;
        };
        // Synthesised chunks take their top-level fields from this chunk.
        self.last_chunk.clear();
        self.last_chunk.push_str(data);
        let mut before = Vec::new();
        let mut edits: Vec<Edit> = Vec::new();
        let mut extra: Vec<(Path, String)> = Vec::new();
        let empty = Choice::default();
        for (pos, c) in choices.iter().enumerate() {
            let c = c.0.as_ref().unwrap_or(&empty);
            let idx = c.index.0.unwrap_or(pos as u64);
            self.choices.entry(idx).or_insert(false);
            let cpath = vec![Seg::Key("choices"), Seg::Idx(pos)];
            let mut fields: Vec<(Key, Path, &str)> = Vec::new();
            if self.api == Api::Completions {
                if let Some(t) = c.text.0.as_deref() {
                    fields.push((Key::Choice(idx, "text"), with(&cpath, Seg::Key("text")), t));
                }
            } else if let Some(delta) = &c.delta.0 {
                let dpath = with(&cpath, Seg::Key("delta"));
                for (field, _) in TEXT_FIELDS {
                    if let Some(t) = delta.field(field) {
                        fields.push((Key::Choice(idx, field), with(&dpath, Seg::Key(field)), t));
                    }
                }
                for (j, call) in delta.tool_calls.0.iter().flatten().enumerate() {
                    let Some(call) = &call.0 else { continue };
                    let t = call.index.0.unwrap_or(j as u64);
                    if let Some(a) = call
                        .function
                        .0
                        .as_ref()
                        .and_then(|f| f.arguments.0.as_deref())
                    {
                        let mut p = with(&dpath, Seg::Key("tool_calls"));
                        p.extend([Seg::Idx(j), Seg::Key("function"), Seg::Key("arguments")]);
                        fields.push((Key::Tool(idx, t), p, a));
                    }
                }
            }
            let first_edit = edits.len();
            for (key, path, text) in fields {
                let released = self.feed_text(&key, text);
                edits.push(Edit {
                    path,
                    key,
                    original: text.to_string(),
                    text: released,
                });
                if self.blocked {
                    break;
                }
            }
            if self.blocked {
                break;
            }
            if c.finish_reason.0 {
                self.choices.insert(idx, true);
                for key in self.open_keys(|k| k.choice() == Some(idx)) {
                    let rest = self.flush(&key);
                    if self.blocked {
                        break;
                    }
                    if rest.is_empty() {
                        continue;
                    }
                    match edits.iter_mut().find(|e| e.key == key) {
                        Some(e) => e.text.push_str(&rest),
                        None => before.extend(self.synth_delta(&key, &rest, None)),
                    }
                }
                if self.blocked {
                    break;
                }
            }
            if c.logprobs.0 {
                // Token logprobs repeat the text: only tokens released as they are may stay.
                let lpath = with(&cpath, Seg::Key("logprobs"));
                if let Some(r) = locate(data, &lpath) {
                    let lp = serde_json::from_str::<Value>(&data[r]).unwrap_or(Value::Null);
                    let this = &edits[first_edit..];
                    let released = |f: &str| {
                        this.iter()
                            .find(|e| matches!(e.key, Key::Choice(_, g) if g == f))
                            .map_or_else(String::new, |e| e.text.clone())
                    };
                    let completions = self.api == Api::Completions;
                    if let Some(json) = logprobs::screen(data, &lpath, &lp, completions, released) {
                        extra.push((lpath, json));
                    }
                }
            }
        }
        out.extend(before);
        if self.blocked {
            // Only the released text of this event goes out: fields after the blocking one
            // were never screened.
            for e in edits.iter().filter(|e| !e.text.is_empty()) {
                out.extend(self.synth_delta(&e.key, &e.text, None));
            }
            out.extend(self.terminal());
            return;
        }
        out.extend(self.write(ev, data, edits, extra));
    }

    /// An event's data read as the typed event `T`; `None` when the event has been dealt with
    /// here instead: passed on as it is when it is not a JSON object or not JSON at all (it
    /// carries no text any SDK would read), or ended as unscreenable when it is JSON the SDKs
    /// read but `T` has no one reading of (a repeated member).
    fn typed_event<'d, T: serde::Deserialize<'d>>(
        &mut self,
        ev: &SseEvent,
        data: &'d str,
        out: &mut Vec<u8>,
    ) -> Option<T> {
        if !data.trim_start().starts_with('{') {
            out.extend_from_slice(&ev.raw);
            return None;
        }
        match serde_json::from_str::<T>(data) {
            Ok(t) => Some(t),
            Err(e) if serde_json::from_str::<IgnoredAny>(data).is_ok() => {
                self.unscreenable(&format!("a stream event could not be screened: {e}"), out);
                None
            }
            Err(_) => {
                out.extend_from_slice(&ev.raw);
                None
            }
        }
    }

    /// An event that cannot be screened although the SDKs would read it: the stream ends as
    /// blocked, recorded as a fail-closed screening failure.
    fn unscreenable(&mut self, reason: &str, out: &mut Vec<u8>) {
        tracing::warn!(%reason, "stream event not screened");
        self.report.failed_closed.push(reason.to_string());
        self.report.forced_block = true;
        self.flush_all(out);
        out.extend(self.terminal());
    }

    /// The template for a synthesised chunk: from `v`, else from the last chunk seen.
    fn template(&self, v: Option<&Map<String, Value>>) -> Map<String, Value> {
        match v {
            Some(v) => Self::chunk_template(Some(v)),
            None => {
                let last = serde_json::from_str::<Map<String, Value>>(&self.last_chunk).ok();
                Self::chunk_template(last.as_ref())
            }
        }
    }

    /// Top-level fields of a chunk (`id`, `object`, `created`, `model`, `system_fingerprint`,
    /// unknown ones) without `choices` and `usage`.
    fn chunk_template(v: Option<&Map<String, Value>>) -> Map<String, Value> {
        let mut m = v.cloned().unwrap_or_default();
        m.remove("choices");
        m.remove("usage");
        m
    }

    // === Anthropic Messages ===

    fn anthropic(&mut self, ev: &SseEvent, data: &str, out: &mut Vec<u8>) {
        let Some(v) = self.typed_event::<MessagesEvent<'_>>(ev, data, out) else {
            return;
        };
        let ty = v.ty.0.as_deref().unwrap_or("");
        let idx = v.index.0.unwrap_or(0);
        let mut edits = Vec::new();
        let mut before = Vec::new();
        match ty {
            "content_block_start" => {
                let cb = v.content_block.0.as_ref();
                let kind = match cb.map(|b| b.ty()) {
                    Some("text") => Some(("text_delta", "text")),
                    Some("thinking") => Some(("thinking_delta", "thinking")),
                    Some("tool_use" | "server_tool_use") => {
                        Some(("input_json_delta", "partial_json"))
                    }
                    _ => None,
                };
                if let Some((delta, field)) = kind {
                    self.block_kinds.insert(idx, (delta, field));
                    if let Some(t) = cb.and_then(|b| b.field(field)) {
                        if !t.is_empty() {
                            let key = Key::Block(idx);
                            let text = self.feed_text(&key, t);
                            let path = vec![Seg::Key("content_block"), Seg::Key(field)];
                            edits.push(Edit {
                                path,
                                key,
                                original: t.to_string(),
                                text,
                            });
                        }
                    }
                }
            }
            "content_block_delta" => {
                let d = v.delta.0.as_ref();
                let field = match d.map(|d| d.ty()) {
                    Some("text_delta") => Some(("text_delta", "text")),
                    Some("input_json_delta") => Some(("input_json_delta", "partial_json")),
                    Some("thinking_delta") => Some(("thinking_delta", "thinking")),
                    _ => None,
                };
                if let Some((delta, field)) = field {
                    self.block_kinds.entry(idx).or_insert((delta, field));
                    if let Some(t) = d.and_then(|d| d.field(field)) {
                        let key = Key::Block(idx);
                        let text = self.feed_text(&key, t);
                        let path = vec![Seg::Key("delta"), Seg::Key(field)];
                        edits.push(Edit {
                            path,
                            key,
                            original: t.to_string(),
                            text,
                        });
                    }
                }
            }
            "content_block_stop" => {
                let key = Key::Block(idx);
                let rest = self.flush(&key);
                if !rest.is_empty() && !self.blocked {
                    before.extend(self.synth_delta(&key, &rest, None));
                }
            }
            "message_delta" | "message_stop" => self.flush_all(&mut before),
            _ => {}
        }
        out.extend(before);
        if self.blocked {
            if edits.iter().any(|e| !e.text.is_empty()) {
                out.extend(self.write(ev, data, edits, Vec::new()));
            }
            out.extend(self.terminal());
        } else {
            out.extend(self.write(ev, data, edits, Vec::new()));
        }
    }

    // === OpenAI Responses ===

    /// The common case, a text or arguments delta, read into a typed borrowed event; `false`
    /// (nothing written) for any other event, or one the typed reading does not take (a
    /// repeated member, a `response` object), which [`Self::responses`] then handles.
    fn responses_delta(&mut self, ev: &SseEvent, data: &str, out: &mut Vec<u8>) -> bool {
        if !data.trim_start().starts_with('{') {
            return false;
        }
        let Ok(e) = serde_json::from_str::<ResponsesEvent<'_>>(data) else {
            return false;
        };
        let oi = e.output_index.0.unwrap_or(0);
        let ci = e.content_index.0.unwrap_or(0);
        let key = match e.ty.0.as_deref() {
            Some("response.output_text.delta") => Key::Output(oi, ci, "text"),
            Some("response.refusal.delta") => Key::Output(oi, ci, "refusal"),
            Some("response.function_call_arguments.delta") => Key::Args(oi),
            _ => return false,
        };
        if e.response.0 {
            return false;
        }
        if let Some(id) = e.item_id.0 {
            self.item_ids.insert(oi, id);
        }
        let seq = e.sequence_number.0;
        if seq.is_some() {
            self.last_seq = seq;
        }
        let mut edits = Vec::new();
        if let Some(t) = e.delta.0.as_deref() {
            let text = self.feed_text(&key, t);
            edits.push(Edit {
                path: vec![Seg::Key("delta")],
                key,
                original: t.to_string(),
                text,
            });
        }
        if self.blocked {
            for e in edits.iter().filter(|e| !e.text.is_empty()) {
                out.extend(self.synth_delta(&e.key, &e.text, seq));
            }
            out.extend(self.terminal());
            return true;
        }
        let extra = self.seq_edit(seq);
        out.extend(self.write(ev, data, edits, extra));
        true
    }

    fn responses(&mut self, ev: &SseEvent, data: &str, v: &Map<String, Value>, out: &mut Vec<u8>) {
        let ty = v.get("type").and_then(Value::as_str).unwrap_or("");
        let oi = v.get("output_index").and_then(Value::as_u64).unwrap_or(0);
        let ci = v.get("content_index").and_then(Value::as_u64).unwrap_or(0);
        if let Some(id) = v.get("item_id") {
            self.item_ids.insert(oi, id.clone());
        }
        let mut before = Vec::new();
        let mut edits = Vec::new();
        if let Some(n) = v.get("sequence_number").and_then(Value::as_u64) {
            self.last_seq = Some(n);
        }
        let delta_key = match ty {
            "response.output_text.delta" => Some(Key::Output(oi, ci, "text")),
            "response.refusal.delta" => Some(Key::Output(oi, ci, "refusal")),
            "response.function_call_arguments.delta" => Some(Key::Args(oi)),
            _ => None,
        };
        if let Some(key) = delta_key {
            if let Some(Value::String(t)) = v.get("delta") {
                let text = self.feed_text(&key, t);
                let path = vec![Seg::Key("delta")];
                edits.push(Edit {
                    path,
                    key,
                    original: t.clone(),
                    text,
                });
            }
        }
        // Full texts repeated by `done`, `added` and `completed` events.
        let mut full: Vec<(Key, Path)> = Vec::new();
        match ty {
            "response.output_text.done" => {
                full.push((Key::Output(oi, ci, "text"), vec![Seg::Key("text")]))
            }
            "response.refusal.done" => {
                full.push((Key::Output(oi, ci, "refusal"), vec![Seg::Key("refusal")]))
            }
            "response.function_call_arguments.done" => {
                full.push((Key::Args(oi), vec![Seg::Key("arguments")]));
            }
            "response.content_part.added" | "response.content_part.done" => {
                for f in ["text", "refusal"] {
                    full.push((
                        Key::Output(oi, ci, static_field(f)),
                        vec![Seg::Key("part"), Seg::Key(static_field(f))],
                    ));
                }
            }
            "response.output_item.added" | "response.output_item.done" => {
                item_fields(v.get("item"), oi, vec![Seg::Key("item")], &mut full);
            }
            _ => {
                if let Some(Value::Array(items)) = v.get("response").and_then(|r| r.get("output")) {
                    for (k, item) in items.iter().enumerate() {
                        let p = vec![Seg::Key("response"), Seg::Key("output"), Seg::Idx(k)];
                        item_fields(Some(item), k as u64, p, &mut full);
                    }
                }
            }
        }
        for (key, path) in full {
            let Some(r) = locate(data, &path) else {
                continue;
            };
            let Ok(Value::String(original)) = serde_json::from_str::<Value>(&data[r]) else {
                continue;
            };
            let text = self.full_text(&key, &original, v, &mut before);
            if self.blocked {
                break;
            }
            edits.push(Edit {
                path,
                key,
                original,
                text,
            });
        }
        if matches!(
            ty,
            "response.completed" | "response.incomplete" | "response.failed"
        ) && !self.blocked
        {
            self.flush_all(&mut before);
        }
        out.extend(before);
        if self.blocked {
            for e in edits
                .iter()
                .filter(|e| !e.text.is_empty() && delta_key_is_some(ty))
            {
                out.extend(self.synth_delta(&e.key, &e.text, seq_of(v)));
            }
            out.extend(self.terminal());
            return;
        }
        let extra = self.seq_edit(seq_of(v));
        out.extend(self.write(ev, data, edits, extra));
    }

    /// The screened full text of a stream repeated in a `done`/`completed` event: the stream is
    /// ended (its rest synthesised as a delta before this event) and everything it released is
    /// returned; a text never streamed is screened whole now.
    fn full_text(
        &mut self,
        key: &Key,
        original: &str,
        v: &Map<String, Value>,
        before: &mut Vec<u8>,
    ) -> String {
        if let Some(s) = self.streams.get(key) {
            if !s.finished {
                let rest = self.flush(key);
                if !rest.is_empty() && !self.blocked {
                    before.extend(self.synth_delta(key, &rest, seq_of(v)));
                }
            }
            return self
                .streams
                .get(key)
                .and_then(|s| s.released.clone())
                .unwrap_or_default();
        }
        if original.is_empty() {
            return String::new();
        }
        self.feed_text(key, original);
        self.flush(key);
        self.streams
            .get(key)
            .and_then(|s| s.released.clone())
            .unwrap_or_default()
    }

    /// The current event's sequence number moved past the synthesised events before it.
    fn seq_edit(&mut self, seq: Option<u64>) -> Vec<(Path, String)> {
        match seq {
            Some(n) if self.seq_shift > 0 => {
                vec![(
                    vec![Seg::Key("sequence_number")],
                    (n + self.seq_shift).to_string(),
                )]
            }
            _ => Vec::new(),
        }
    }

    /// The next sequence number for a synthesised event placed before the current event
    /// (whose own number is `seq`).
    fn next_seq(&mut self, seq: Option<u64>) -> Option<u64> {
        let n = seq?;
        let s = n + self.seq_shift;
        self.seq_shift += 1;
        Some(s)
    }

    // === synthesised events ===

    /// A delta event carrying `text` for `key`, placed before the current event (Responses:
    /// whose sequence number is `seq`; Chat: its top-level fields come from the last chunk).
    fn synth_delta(&mut self, key: &Key, text: &str, seq: Option<u64>) -> Vec<u8> {
        match (self.api, key) {
            (Api::ChatCompletions | Api::Completions, _) => {
                let mut m = self.template(None);
                let choice = match key {
                    Key::Choice(i, "text") => {
                        json!({"index": i, "text": text, "logprobs": null, "finish_reason": null})
                    }
                    Key::Choice(i, f) => {
                        json!({"index": i, "delta": {*f: text}, "logprobs": null, "finish_reason": null})
                    }
                    Key::Tool(i, t) => {
                        json!({"index": i, "delta": {"tool_calls": [{"index": t, "function": {"arguments": text}}]}, "logprobs": null, "finish_reason": null})
                    }
                    _ => return Vec::new(),
                };
                m.insert("choices".into(), Value::Array(vec![choice]));
                write_event(None, &Value::Object(m).to_string(), self.eol)
            }
            (Api::Messages, Key::Block(i)) => {
                let (delta, field) = self
                    .block_kinds
                    .get(i)
                    .copied()
                    .unwrap_or(("text_delta", "text"));
                let d = json!({"type": "content_block_delta", "index": i, "delta": {"type": delta, field: text}});
                write_event(Some("content_block_delta"), &d.to_string(), self.eol)
            }
            (Api::Responses, Key::Output(k, c, f)) => {
                let (ty, _) = if *f == "refusal" {
                    ("response.refusal.delta", 0)
                } else {
                    ("response.output_text.delta", 0)
                };
                let mut d = json!({"type": ty, "item_id": self.item_ids.get(k).cloned().unwrap_or(Value::Null), "output_index": k, "content_index": c, "delta": text});
                if *f != "refusal" {
                    d["logprobs"] = json!([]);
                }
                if let Some(s) = self.next_seq(seq) {
                    d["sequence_number"] = json!(s);
                }
                write_event(Some(ty), &d.to_string(), self.eol)
            }
            (Api::Responses, Key::Args(k)) => {
                let ty = "response.function_call_arguments.delta";
                let mut d = json!({"type": ty, "item_id": self.item_ids.get(k).cloned().unwrap_or(Value::Null), "output_index": k, "delta": text});
                if let Some(s) = self.next_seq(seq) {
                    d["sequence_number"] = json!(s);
                }
                write_event(Some(ty), &d.to_string(), self.eol)
            }
            _ => Vec::new(),
        }
    }

    fn terminal(&mut self) -> Vec<u8> {
        self.terminal_from(None)
    }

    /// The protocol's block ending.
    fn terminal_from(&mut self, v: Option<&Map<String, Value>>) -> Vec<u8> {
        self.blocked = true;
        let message = format!(
            "response blocked by glassbox policy `{}`: {}",
            self.engine.policy().id,
            self.report.block_reason()
        );
        match self.api {
            Api::ChatCompletions | Api::Completions => {
                let mut out = Vec::new();
                let open: Vec<u64> = self
                    .choices
                    .iter()
                    .filter(|(_, done)| !**done)
                    .map(|(i, _)| *i)
                    .collect();
                let open = if open.is_empty() && self.choices.is_empty() {
                    vec![0]
                } else {
                    open
                };
                for i in open {
                    let mut m = self.template(v);
                    let choice = if self.api == Api::Completions {
                        json!({"index": i, "text": "", "logprobs": null, "finish_reason": "content_filter"})
                    } else {
                        json!({"index": i, "delta": {}, "logprobs": null, "finish_reason": "content_filter"})
                    };
                    m.insert("choices".into(), Value::Array(vec![choice]));
                    out.extend(write_event(None, &Value::Object(m).to_string(), self.eol));
                }
                out.extend(write_event(None, "[DONE]", self.eol));
                tracing::debug!(%message, "stream blocked");
                out
            }
            _ => self.error_event(ErrorKind::Blocked, &message),
        }
    }

    /// The protocol's error event.
    fn error_event(&mut self, kind: ErrorKind, message: &str) -> Vec<u8> {
        match self.api {
            Api::ChatCompletions | Api::Completions => {
                let body = crate::api::error_body(self.api, kind, message);
                write_event(None, &body.to_string(), self.eol)
            }
            Api::Messages => {
                let body = crate::api::error_body(self.api, kind, message);
                write_event(Some("error"), &body.to_string(), self.eol)
            }
            Api::Responses => {
                let code = if kind == ErrorKind::Blocked {
                    "content_filter"
                } else {
                    "upstream_error"
                };
                let mut d = json!({
                    "type": "error",
                    "code": code,
                    "message": message,
                    "param": null,
                    "error": {"type": code, "code": code, "message": message},
                });
                if let Some(s) = self.last_seq.map(|n| n + self.seq_shift + 1) {
                    d["sequence_number"] = json!(s);
                }
                write_event(Some("error"), &d.to_string(), self.eol)
            }
        }
    }
}

fn with(path: &Path, seg: Seg) -> Path {
    let mut p = path.clone();
    p.push(seg);
    p
}

fn static_field(f: &str) -> &'static str {
    if f == "refusal" {
        "refusal"
    } else {
        "text"
    }
}

/// A Responses event's `sequence_number`.
fn seq_of(v: &Map<String, Value>) -> Option<u64> {
    v.get("sequence_number").and_then(Value::as_u64)
}

fn delta_key_is_some(ty: &str) -> bool {
    ty.ends_with(".delta")
}

/// Text fields of a Responses output item at `path`.
fn item_fields(item: Option<&Value>, oi: u64, path: Path, full: &mut Vec<(Key, Path)>) {
    let Some(item) = item else { return };
    if let Some(Value::Array(parts)) = item.get("content") {
        for (c, part) in parts.iter().enumerate() {
            for f in ["text", "refusal"] {
                if part.get(f).is_some() {
                    let mut p = with(&path, Seg::Key("content"));
                    p.extend([Seg::Idx(c), Seg::Key(static_field(f))]);
                    full.push((Key::Output(oi, c as u64, static_field(f)), p));
                }
            }
        }
    }
    if item.get("arguments").is_some() {
        full.push((Key::Args(oi), with(&path, Seg::Key("arguments"))));
    }
}
