//! A made-up tenant log, chained and sealed as the sealer would, written as
//! an export (JSON Lines, newest first): what `lockbox bench verify-file`
//! measures and the unit tests tamper with.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{
    audit::{
        activity,
        chain::{self, Chained},
        checkpoint::Checkpoint,
    },
    identity::TenantId,
    signing::Signer,
};

/// `count` records of `tenant`, oldest first, as export lines (without the
/// newline), and a checkpoint signed by `signer` of every `every`-th head.
pub fn log(
    tenant: TenantId,
    count: i64,
    signer: &Signer,
    start: DateTime<Utc>,
    every: i64,
    mut line: impl FnMut(String),
) -> Vec<Checkpoint> {
    let mut prev = chain::GENESIS.to_vec();
    let mut checkpoints = Vec::new();
    for seq in 1..=count {
        let at = start + chrono::Duration::seconds(seq);
        let parameters = json!({"ApprovalDecision": "Approve", "Comment": format!("record {seq}")});
        let actor = format!("user-{}", seq % 7);
        let item = format!("item-{seq}");
        let record = Chained {
            tenant_id: tenant,
            seq,
            occurred_at: at,
            actor_id: &actor,
            actor_name: "Ada Lovelace",
            ip: "192.0.2.10",
            activity: activity::SET_REQUEST,
            item: &item,
            request_id: None,
            parameters: &parameters,
        };
        let hash = chain::hash(&prev, &record);
        line(
            json!({
                "id": seq + 1000,
                "tenant_id": tenant,
                "seq": seq,
                "occurred_at": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "actor_id": actor,
                "actor_name": "Ada Lovelace",
                "ip": "192.0.2.10",
                "activity": activity::SET_REQUEST,
                "item": item,
                "parameters": parameters,
                "request_id": null,
                "prev_hash": crate::digest::hex(&prev),
                "hash": crate::digest::hex(&hash),
            })
            .to_string(),
        );
        if seq % every == 0 || seq == count {
            checkpoints.push(Checkpoint::sign(signer, tenant, seq, hash.to_vec(), at));
        }
        prev = hash.to_vec();
    }
    checkpoints
}
