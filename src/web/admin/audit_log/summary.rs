//! The one-line summary of a record's parameters in the Audit page's
//! results: read from jsonb's text, borrowed where the values are plain
//! (issue 20: fifty `serde_json::Value` trees a page were a quarter of
//! what reading its rows cost).

/// Characters of a row's summary shown.
const SHOWN: usize = 160;

/// A parameter's value as the summary writes it, borrowed from the JSON
/// text: a string without escapes, an integer, a boolean or null. Anything
/// else (a fraction, a list, an object, an escaped string) is refused, and
/// the summary parses the whole into a `Value` instead.
#[derive(Debug, PartialEq)]
pub(super) enum Plain<'a> {
    Text(&'a str),
    Int(i128),
    Bool(bool),
    Null,
}

impl<'de> serde::Deserialize<'de> for Plain<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Plain<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a plain value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Plain<'de>, E> {
                Ok(Plain::Text(s))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Plain<'de>, E> {
                Ok(Plain::Int(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Plain<'de>, E> {
                Ok(Plain::Int(n.into()))
            }
            fn visit_bool<E>(self, b: bool) -> Result<Plain<'de>, E> {
                Ok(Plain::Bool(b))
            }
            fn visit_unit<E>(self) -> Result<Plain<'de>, E> {
                Ok(Plain::Null)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The parameters as borrowed plain pairs, keys in order (as
/// `serde_json::Map` keeps them), or `None` if any value is not plain.
/// Read into a list and sorted (jsonb has no repeated keys): a map per
/// row cost more.
pub(super) fn plain_pairs(raw: &str) -> Option<Vec<(&str, Plain<'_>)>> {
    let PlainPairs(mut pairs) = serde_json::from_str(raw).ok()?;
    pairs.sort_unstable_by_key(|(k, _)| *k);
    Some(pairs)
}

/// An object's members as [`Plain`] pairs, in the text's order.
struct PlainPairs<'a>(Vec<(&'a str, Plain<'a>)>);

impl<'de> serde::Deserialize<'de> for PlainPairs<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = PlainPairs<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of plain values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(PlainPairs(pairs))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// A value as the summary writes it: text as it is, anything else as it
/// displays.
enum Shown<'a> {
    Text(&'a str),
    Other(&'a dyn std::fmt::Display),
}

/// `Key: value; …` of the parameters (JSON text), keys in order, shortened
/// for the result table. Most parameters are an object of plain values
/// (see [`Plain`]), read here borrowed; anything else is parsed into a
/// `Value`.
pub(super) fn summary(raw: &str) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(2 * SHOWN);
    if let Some(pairs) = plain_pairs(raw) {
        write_pairs(
            &mut text,
            pairs.iter().map(|(k, v)| match v {
                Plain::Text(s) => (*k, Shown::Text(s)),
                Plain::Bool(b) => (*k, Shown::Text(if *b { "true" } else { "false" })),
                Plain::Null => (*k, Shown::Text("null")),
                Plain::Int(n) => (*k, Shown::Other(n)),
            }),
        );
    } else {
        match serde_json::from_str(raw).unwrap_or_default() {
            serde_json::Value::Object(map) => write_pairs(
                &mut text,
                map.iter().map(|(k, v)| match v {
                    serde_json::Value::String(s) => (k.as_str(), Shown::Text(s)),
                    other => (k.as_str(), Shown::Other(other)),
                }),
            ),
            other => {
                let _ = write!(text, "{other}");
            }
        }
    }
    match cut_at(&text) {
        Some(end) => {
            text.truncate(end);
            text.push('…');
            text
        }
        None => text,
    }
}

/// Where `text` is cut to its first [`SHOWN`] characters, if it is longer.
/// Found without walking the characters where the bytes tell: a text of
/// no more bytes than that is not cut, and an ASCII text is cut at that
/// byte (walking the characters was a fifth of a summary's instructions).
fn cut_at(text: &str) -> Option<usize> {
    if text.len() <= SHOWN {
        None
    } else if text.is_ascii() {
        Some(SHOWN)
    } else {
        text.char_indices().nth(SHOWN).map(|(end, _)| end)
    }
}

/// `k: v` joined by `; ` into `text`, stopping early once there is more
/// than enough to cut (written into one string, text pushed as it is: a
/// page has fifty, and `write!` per pair was a quarter of their cost).
fn write_pairs<'a>(text: &mut String, pairs: impl Iterator<Item = (&'a str, Shown<'a>)>) {
    use std::fmt::Write;
    for (i, (k, v)) in pairs.enumerate() {
        if i > 0 {
            text.push_str("; ");
        }
        text.extend([k, ": "]);
        match v {
            Shown::Text(s) => text.push_str(s),
            Shown::Other(v) => {
                let _ = write!(text, "{v}");
            }
        }
        if text.len() > 4 * SHOWN {
            break; // more than enough characters, however wide
        }
    }
}
