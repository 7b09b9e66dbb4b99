//! What `verify-file` says: the first problem, or what a whole file holds.

use crate::identity::TenantId;

/// The first thing wrong with a file, in words a customer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("line {line}: not a record of an export ({reason})")]
    Unreadable { line: u64, reason: String },
    #[error("{0}")]
    Malformed(String),
    #[error(
        "line {line}: record {id} (seq {seq}) was changed: its content does not match its hash"
    )]
    Changed { line: u64, id: i64, seq: i64 },
    #[error("line {line}: records are missing between seq {from} and seq {to} (a gap)")]
    Gap { line: u64, from: i64, to: i64 },
    #[error("line {line}: record seq {seq} is out of order (it follows seq {after})")]
    Reordered { line: u64, seq: i64, after: i64 },
    #[error(
        "line {line}: record seq {seq} does not link to its neighbour seq {other} (a record was replaced)"
    )]
    Relinked { line: u64, seq: i64, other: i64 },
    #[error(
        "line {line}: record seq 1 does not start the chain (its predecessor hash is not zero)"
    )]
    Genesis { line: u64 },
    #[error("line {line}: record {id} belongs to another tenant than the records before it")]
    OtherTenant { line: u64, id: i64 },
    #[error("line {line}: record {id} has no seal but lies between sealed records")]
    UnsealedBetween { line: u64, id: i64 },
    #[error("checkpoint seq {seq} signed at {time} with key {key_id}: {reason}")]
    Checkpoint {
        seq: i64,
        time: String,
        key_id: String,
        reason: String,
    },
    #[error(
        "no signed checkpoint: the hashes tie the records to each other, not to the \
         deployment's key; pass --checkpoint (from the Audit page or the digest mail)"
    )]
    Unanchored,
    #[error(
        "the records after seq {signed_to} (up to seq {hi}) are covered by no signed checkpoint"
    )]
    Unsigned { signed_to: i64, hi: i64 },
    #[error("the evidence pack's {part} disagrees with its signed records: {reason}")]
    Pack { part: &'static str, reason: String },
    #[error("the receipt of audit record {record} ({decision} at {time}): {reason}")]
    Receipt {
        record: i64,
        decision: String,
        time: String,
        reason: String,
    },
}

/// What a file that verified holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub tenant: Option<TenantId>,
    /// Sealed records, all verified.
    pub records: u64,
    /// The lowest and highest seq among them.
    pub seqs: Option<(i64, i64)>,
    /// The hash of the highest.
    pub head: Option<String>,
    /// Records not yet sealed (not covered by the chain).
    pub pending: u64,
    /// Checkpoints whose signature verifies and whose head the file holds.
    pub checkpoints: usize,
    /// Receipts whose signature verifies and whose record the file holds.
    pub receipts: usize,
    /// The highest seq a signed checkpoint vouches for: every record up
    /// to it is the deployment's; records after it are not signed yet.
    pub signed_to: Option<i64>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seqs {
            Some((lo, hi)) => write!(
                f,
                "the log is whole: {} records (seq {lo}–{hi}) verify, head {}",
                self.records,
                self.head.as_deref().unwrap_or("")
            )?,
            None => write!(f, "no sealed records")?,
        }
        write!(
            f,
            "; {} signed checkpoints reached; {} signed receipts match their records",
            self.checkpoints, self.receipts
        )?;
        if let (Some(to), Some((_, hi))) = (self.signed_to, self.seqs)
            && hi > to
        {
            let range = if hi == to + 1 {
                format!("record seq {hi} is")
            } else {
                format!("records seq {}–{hi} are", to + 1)
            };
            write!(
                f,
                "; {range} not covered by a checkpoint yet (verify again with a later one)"
            )?;
        }
        if self.pending > 0 {
            write!(
                f,
                "; {} newer records not yet sealed (not covered)",
                self.pending
            )?;
        }
        Ok(())
    }
}
