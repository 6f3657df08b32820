//! The few fields of an OpenAI Chat Completions / Completions stream chunk, of an Anthropic
//! Messages stream event and of an OpenAI Responses delta event the layer reads, deserialised straight from the event's data without
//! building a `serde_json::Value`.
//!
//! Every field is lenient in the way `Value::get` was: a member of an unexpected type reads as
//! absent (and is skipped without allocating), strings borrow from the event when they have no
//! escapes. Unknown members are skipped. A document with a repeated member that the layer reads
//! fails to deserialise (`serde` rejects duplicate fields); the caller treats that as an answer
//! it cannot screen.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// `choices[]` of a chunk.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Chunk<'a> {
    #[serde(borrow, default)]
    pub choices: Lenient<Vec<Lenient<Choice<'a>>>>,
    /// Whether the chunk has an `error` member (of any value).
    #[serde(default)]
    pub error: Present,
}

/// One choice of a chunk.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Choice<'a> {
    #[serde(default)]
    pub index: Num,
    #[serde(borrow, default)]
    pub delta: Lenient<Delta<'a>>,
    /// Completions API text.
    #[serde(borrow, default)]
    pub text: Text<'a>,
    #[serde(default)]
    pub finish_reason: NonNull,
    #[serde(default)]
    pub logprobs: NonNull,
}

/// A chat delta.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Delta<'a> {
    #[serde(borrow, default)]
    pub content: Text<'a>,
    #[serde(borrow, default)]
    pub refusal: Text<'a>,
    #[serde(borrow, default)]
    pub reasoning_content: Text<'a>,
    #[serde(borrow, default)]
    pub tool_calls: Lenient<Vec<Lenient<ToolCall<'a>>>>,
}

impl<'a> Delta<'a> {
    /// The text field by name (one of `TEXT_FIELDS`).
    pub fn field(&self, name: &str) -> Option<&str> {
        match name {
            "content" => self.content.0.as_deref(),
            "refusal" => self.refusal.0.as_deref(),
            "reasoning_content" => self.reasoning_content.0.as_deref(),
            _ => None,
        }
    }
}

/// A streamed tool call.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ToolCall<'a> {
    #[serde(default)]
    pub index: Num,
    #[serde(borrow, default)]
    pub function: Lenient<Function<'a>>,
}

/// A tool call's function.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Function<'a> {
    #[serde(borrow, default)]
    pub arguments: Text<'a>,
}

/// An Anthropic Messages stream event: its type, block index and the block or delta that
/// carries text.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct MessagesEvent<'a> {
    #[serde(rename = "type", borrow, default)]
    pub ty: Text<'a>,
    #[serde(default)]
    pub index: Num,
    /// `content_block_start`'s block.
    #[serde(borrow, default)]
    pub content_block: Lenient<Block<'a>>,
    /// `content_block_delta`'s delta.
    #[serde(borrow, default)]
    pub delta: Lenient<Block<'a>>,
}

/// An Anthropic content block or block delta: its type and text fields.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Block<'a> {
    #[serde(rename = "type", borrow, default)]
    pub ty: Text<'a>,
    #[serde(borrow, default)]
    pub text: Text<'a>,
    #[serde(borrow, default)]
    pub thinking: Text<'a>,
    #[serde(borrow, default)]
    pub partial_json: Text<'a>,
}

impl Block<'_> {
    /// The type, `""` when absent or not a string.
    pub fn ty(&self) -> &str {
        self.ty.0.as_deref().unwrap_or("")
    }

    /// The text field by name (`text`, `thinking`, `partial_json`).
    pub fn field(&self, name: &str) -> Option<&str> {
        match name {
            "text" => self.text.0.as_deref(),
            "thinking" => self.thinking.0.as_deref(),
            "partial_json" => self.partial_json.0.as_deref(),
            _ => None,
        }
    }
}

/// An OpenAI Responses stream event, as far as a `*.delta` event needs it. (Other events
/// repeat whole texts and items and are read as a `serde_json::Value`.)
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ResponsesEvent<'a> {
    #[serde(rename = "type", borrow, default)]
    pub ty: Text<'a>,
    #[serde(default)]
    pub output_index: Num,
    #[serde(default)]
    pub content_index: Num,
    /// Kept as it is (synthesised deltas repeat it).
    #[serde(default)]
    pub item_id: AnyValue,
    #[serde(default)]
    pub sequence_number: Num,
    #[serde(borrow, default)]
    pub delta: Text<'a>,
    /// Whether the event carries a `response` object (whose output the layer would read).
    #[serde(default)]
    pub response: Present,
}

/// Any JSON value, `null` included; `None` when the member is absent.
#[derive(Debug, Default)]
pub(crate) struct AnyValue(pub Option<serde_json::Value>);

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(d).map(|v| AnyValue(Some(v)))
    }
}

/// A JSON string, borrowed when it has no escapes; anything else reads as `None`.
#[derive(Debug, Default)]
pub(crate) struct Text<'a>(pub Option<Cow<'a, str>>);

/// An unsigned integer; anything else reads as `None`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Num(pub Option<u64>);

/// Whether the member is there and not `null`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NonNull(pub bool);

/// Whether the member is there at all (`null` included).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Present(pub bool);

/// An object (or array) of type `T`; any other JSON value reads as `None`.
#[derive(Debug)]
pub(crate) struct Lenient<T>(pub Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

/// Skips the rest of a map or sequence.
fn drain_map<'de, A: MapAccess<'de>>(mut m: A) -> Result<(), A::Error> {
    while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut s: A) -> Result<(), A::Error> {
    while s.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A visitor that maps every JSON value to `Default` except the ones it overrides.
macro_rules! other_values_are {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Owned(s.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Owned(s))))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Text<'a>, A::Error> {
                drain_map(m).map(|()| Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<Text<'a>, A::Error> {
                drain_seq(s).map(|()| Text(None))
            }
            other_values_are!(Text(None));
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Num, E> {
                Ok(Num(Some(n)))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Num, A::Error> {
                drain_map(m).map(|()| Num(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<Num, A::Error> {
                drain_seq(s).map(|()| Num(None))
            }
            other_values_are!(Num(None));
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for NonNull {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NonNull;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<NonNull, E> {
                Ok(NonNull(false))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<NonNull, E> {
                Ok(NonNull(true))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<NonNull, E> {
                Ok(NonNull(true))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<NonNull, E> {
                Ok(NonNull(true))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<NonNull, E> {
                Ok(NonNull(true))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<NonNull, E> {
                Ok(NonNull(true))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<NonNull, A::Error> {
                drain_map(m).map(|()| NonNull(true))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<NonNull, A::Error> {
                drain_seq(s).map(|()| NonNull(true))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A member that is there deserialises; `default` covers the absent case.
        IgnoredAny::deserialize(d).map(|_| Present(true))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Lenient<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(m)).map(|t| Lenient(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<Lenient<T>, A::Error> {
                T::deserialize(de::value::SeqAccessDeserializer::new(s)).map(|t| Lenient(Some(t)))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Lenient<T>, E> {
                Ok(Lenient(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Lenient<T>, E> {
                Ok(Lenient(None))
            }
            other_values_are!(Lenient(None));
        }
        d.deserialize_any(V(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_value_get() {
        let data = r#"{"id":"x","choices":[
            {"index":1,"delta":{"content":"a\"b","refusal":null,"tool_calls":[{"index":2,"function":{"arguments":"{}"}},7]},"logprobs":null,"finish_reason":null,"extra":[1,{"a":2}]},
            {"index":"1","delta":"weird","text":"t","logprobs":{"content":[]},"finish_reason":"stop"},
            3],"usage":{"x":1}}"#;
        let c: Chunk<'_> = serde_json::from_str(data).unwrap();
        let choices = c.choices.0.unwrap();
        assert_eq!(choices.len(), 3);
        let a = choices[0].0.as_ref().unwrap();
        assert_eq!(a.index.0, Some(1));
        let d = a.delta.0.as_ref().unwrap();
        assert_eq!(d.field("content"), Some("a\"b"));
        assert_eq!(d.field("refusal"), None);
        let calls = d.tool_calls.0.as_ref().unwrap();
        assert_eq!(calls[0].0.as_ref().unwrap().index.0, Some(2));
        assert!(calls[1].0.is_none());
        assert!(!a.finish_reason.0 && !a.logprobs.0);
        let b = choices[1].0.as_ref().unwrap();
        assert_eq!(b.index.0, None);
        assert!(b.delta.0.is_none());
        assert_eq!(b.text.0.as_deref(), Some("t"));
        assert!(b.finish_reason.0 && b.logprobs.0);
        assert!(choices[2].0.is_none());
        assert!(!c.error.0);

        let e: Chunk<'_> = serde_json::from_str(r#"{"error":null,"choices":null}"#).unwrap();
        assert!(e.error.0 && e.choices.0.is_none());
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let c: Chunk<'_> =
            serde_json::from_str(r#"{"choices":[{"delta":{"content":"plain"}}]}"#).unwrap();
        let choices = c.choices.0.unwrap();
        let d = choices[0].0.as_ref().unwrap().delta.0.as_ref().unwrap();
        assert!(matches!(d.content.0, Some(Cow::Borrowed("plain"))));
    }

    #[test]
    fn messages_events_read_like_value_get() {
        let e: MessagesEvent<'_> = serde_json::from_str(
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"a\nb","extra":[1]},"usage":{}}"#,
        )
        .unwrap();
        assert_eq!(e.ty.0.as_deref(), Some("content_block_delta"));
        assert_eq!(e.index.0, Some(2));
        let d = e.delta.0.as_ref().unwrap();
        assert_eq!((d.ty(), d.field("text")), ("text_delta", Some("a\nb")));
        assert!(e.content_block.0.is_none());

        let e: MessagesEvent<'_> = serde_json::from_str(
            r#"{"type":"content_block_start","index":"0","content_block":{"type":"tool_use","input":{},"partial_json":7},"delta":"x"}"#,
        )
        .unwrap();
        assert_eq!(e.index.0, None);
        let b = e.content_block.0.as_ref().unwrap();
        assert_eq!((b.ty(), b.field("partial_json")), ("tool_use", None));
        assert!(e.delta.0.is_none());

        let e: MessagesEvent<'_> = serde_json::from_str(r#"{"type":7}"#).unwrap();
        assert!(e.ty.0.is_none());
        let r = serde_json::from_str::<MessagesEvent<'_>>(
            r#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"a","text":"b"}}"#,
        );
        assert!(r.is_err(), "a repeated member is an error");
    }

    #[test]
    fn responses_events_read_like_value_get() {
        let e: ResponsesEvent<'_> = serde_json::from_str(
            r#"{"type":"response.output_text.delta","item_id":"msg_1","output_index":1,"content_index":0,"delta":"Hi","logprobs":[],"sequence_number":7}"#,
        )
        .unwrap();
        assert_eq!(e.ty.0.as_deref(), Some("response.output_text.delta"));
        assert_eq!((e.output_index.0, e.content_index.0), (Some(1), Some(0)));
        assert_eq!(e.item_id.0, Some(serde_json::json!("msg_1")));
        assert_eq!(
            (e.sequence_number.0, e.delta.0.as_deref()),
            (Some(7), Some("Hi"))
        );
        assert!(!e.response.0);

        let e: ResponsesEvent<'_> =
            serde_json::from_str(r#"{"item_id":null,"delta":{"x":1},"response":{}}"#).unwrap();
        assert_eq!(e.item_id.0, Some(serde_json::Value::Null), "null is kept");
        assert!(e.delta.0.is_none() && e.response.0);
        let e: ResponsesEvent<'_> = serde_json::from_str("{}").unwrap();
        assert!(e.item_id.0.is_none());
    }

    #[test]
    fn a_repeated_member_is_an_error() {
        let r = serde_json::from_str::<Chunk<'_>>(
            r#"{"choices":[{"delta":{"content":"a","content":"b"}}]}"#,
        );
        assert!(r.is_err());
    }
}
