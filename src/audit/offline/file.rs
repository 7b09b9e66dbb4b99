//! Reading the files `verify-file` checks: an export in JSON Lines (one
//! record a line, as [`crate::audit::export`] writes them) or an evidence
//! pack (one JSON document with `"format": "lockbox-evidence-v1"` and its
//! `records`, `checkpoints` and `receipts`).

use std::io::BufRead;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Problem, Sealed, Summary, Verifier};
use crate::{
    audit::{checkpoint, receipt},
    identity::{RequestId, TenantId},
};

/// The format tag of an evidence pack.
pub const EVIDENCE_FORMAT: &str = "lockbox-evidence-v1";

/// One record of an export: every field the chain's encoding covers, and
/// its seal.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FileRecord {
    pub id: i64,
    pub tenant_id: TenantId,
    pub seq: Option<i64>,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_name: String,
    pub ip: String,
    pub activity: String,
    pub item: String,
    #[serde(deserialize_with = "each_key_once")]
    pub parameters: serde_json::Value,
    pub request_id: Option<RequestId>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

crate::audit::chain::chained_from_fields!(FileRecord);

impl FileRecord {
    /// Its seal, `None` when it has none yet; a half seal is malformed.
    pub(super) fn sealed(&self, line: u64) -> Result<Option<Sealed>, Problem> {
        let hash32 = |h: &str| crate::digest::from_hex(h).filter(|b| b.len() == 32);
        match (self.seq, &self.prev_hash, &self.hash) {
            (None, None, None) => Ok(None),
            (Some(seq), Some(prev), Some(hash)) if seq >= 1 => match (hash32(prev), hash32(hash)) {
                (Some(prev_hash), Some(hash)) => Ok(Some(Sealed {
                    seq,
                    prev_hash,
                    hash,
                })),
                _ => Err(Problem::Unreadable {
                    line,
                    reason: "a hash is not 64 hex digits".into(),
                }),
            },
            _ => Err(Problem::Unreadable {
                line,
                reason: "its seal (seq, prev_hash, hash) is incomplete".into(),
            }),
        }
    }
}

/// A JSON value, refused when an object in it holds a key twice: the
/// verifier (like `serde_json`) would check the last, and a reader that
/// keeps the first would see a value nobody checked.
fn each_key_once<'de, D: serde::Deserializer<'de>>(d: D) -> Result<serde_json::Value, D::Error> {
    d.deserialize_any(EachKeyOnce)
}

struct EachKeyOnce;

impl<'de> serde::de::Visitor<'de> for EachKeyOnce {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value whose objects hold each key once")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(items.into())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Unique(value) = map.next_value()?;
            if object.insert(key.clone(), value).is_some() {
                return Err(serde::de::Error::custom(format!(
                    "{key:?} twice in an object"
                )));
            }
        }
        Ok(object.into())
    }
}

struct Unique(serde_json::Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        each_key_once(d).map(Unique)
    }
}

/// Verifies the export or evidence pack `input` holds, against the
/// checkpoints and receipts given besides it (an evidence pack brings its
/// own too).
pub fn verify_file(
    mut input: impl BufRead,
    mut verifier: Verifier,
    checkpoints: &[checkpoint::Published],
    receipts: &[receipt::Published],
) -> Result<Summary, Problem> {
    for c in checkpoints {
        verifier.add_checkpoint(c)?;
    }
    for r in receipts {
        verifier.add_receipt(r)?;
    }
    let mut first = String::new();
    let read = |e: std::io::Error| Problem::Malformed(format!("the file cannot be read: {e}"));
    input.read_line(&mut first).map_err(read)?;
    let is_record = serde_json::from_str::<serde_json::Value>(&first)
        .is_ok_and(|v| v.get("hash").is_some() && v.get("id").is_some());
    if !is_record && !first.trim().is_empty() {
        let mut rest = first;
        input.read_to_string(&mut rest).map_err(read)?;
        return super::pack::verify(&rest, verifier);
    }
    let mut line = first;
    loop {
        if !line.trim().is_empty() {
            let record: FileRecord =
                serde_json::from_str(&line).map_err(|e| Problem::Unreadable {
                    line: verifier.line + 1,
                    reason: e.to_string(),
                })?;
            verifier.push(&record)?;
        }
        line.clear();
        if input.read_line(&mut line).map_err(read)? == 0 {
            return verifier.finish();
        }
    }
}
