//! Verification without the provider: `lockbox audit verify-file` checks an
//! export (JSON Lines, as the Audit page and `lockbox audit export` write
//! it) or an evidence pack with no database and no network. It recomputes
//! every record's hash ([`super::chain`]), checks that the records follow
//! one another without a gap, checks each signed checkpoint
//! ([`super::checkpoint`]) and receipt ([`super::receipt`]) against the
//! public keys the customer holds, and that the export reaches every
//! checkpoint with exactly its head hash: a tail cut off the log, or a log
//! rewritten and sealed again, contradicts a checkpoint the customer kept.
//!
//! Records may come newest first (an export) or oldest first (an evidence
//! pack), as long as they keep one direction. Records not yet sealed (no
//! `seq`) may only be the newest; they are counted, not verified.

mod file;
mod pack;
mod report;
pub mod synthetic;

use std::collections::{BTreeMap, HashMap};

pub use file::{EVIDENCE_FORMAT, FileRecord, verify_file};
pub use report::{Problem, Summary};

use super::{
    chain,
    checkpoint::{self, Checkpoint},
    receipt::{self, Receipt},
};
use crate::{
    identity::TenantId,
    signing::{PublicKeys, Verdict},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    OldestFirst,
    NewestFirst,
}

#[derive(Debug, Clone)]
struct Sealed {
    seq: i64,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

/// Checks records one at a time, in file order; memory does not grow with
/// the number of records.
pub struct Verifier {
    keys: PublicKeys,
    checkpoints: BTreeMap<i64, (Checkpoint, bool)>,
    receipts: HashMap<i64, (Receipt, bool)>,
    direction: Option<Direction>,
    last: Option<Sealed>,
    unsealed_before: bool,
    unsealed_after: bool,
    line: u64,
    summary: Summary,
}

impl Verifier {
    pub fn new(keys: PublicKeys) -> Self {
        Self {
            keys,
            checkpoints: BTreeMap::new(),
            receipts: HashMap::new(),
            direction: None,
            last: None,
            unsealed_before: false,
            unsealed_after: false,
            line: 0,
            summary: Summary::default(),
        }
    }

    /// A checkpoint the file must reach; its signature is checked at once.
    pub fn add_checkpoint(&mut self, p: &checkpoint::Published) -> Result<(), Problem> {
        let c = Checkpoint::from_published(p).ok_or_else(|| {
            Problem::Malformed(format!("checkpoint seq {}: a field is malformed", p.seq))
        })?;
        let problem = |reason: String| Problem::Checkpoint {
            seq: c.seq,
            time: c.time(),
            key_id: c.key_id.clone(),
            reason,
        };
        let verdict = self
            .keys
            .verify_at(&c.key_id, &c.signed_bytes(), &c.signature, c.created_at);
        signature_problem(verdict).map_or(Ok(()), |r| Err(problem(r)))?;
        if c.record_count != c.seq {
            return Err(problem("its record count does not match its seq".into()));
        }
        // Two signed heads for one seq: one of them vouches for a log that
        // was rewritten. The one the customer kept is never replaced.
        if let Some((kept, _)) = self.checkpoints.get(&c.seq) {
            if kept.signed_bytes() != c.signed_bytes() || kept.signature != c.signature {
                return Err(problem(
                    "another signed checkpoint for the same seq says otherwise (the log was \
                     rewritten and signed again)"
                        .into(),
                ));
            }
            return Ok(());
        }
        self.checkpoints.insert(c.seq, (c, false));
        Ok(())
    }

    /// A receipt whose record the file must hold; its signature is checked
    /// at once.
    pub fn add_receipt(&mut self, p: &receipt::Published) -> Result<(), Problem> {
        let r = Receipt::from_published(p).ok_or_else(|| {
            Problem::Malformed(format!(
                "the receipt of audit record {}: a field is malformed",
                p.audit_record
            ))
        })?;
        if let Some(reason) = signature_problem(r.verify(&self.keys)) {
            return Err(receipt_problem(&r, reason));
        }
        if let Some((kept, _)) = self.receipts.get(&r.audit_record) {
            if kept.signed_bytes() != r.signed_bytes() || kept.signature != r.signature {
                return Err(receipt_problem(
                    &r,
                    "another signed receipt for the same record says otherwise".into(),
                ));
            }
            return Ok(());
        }
        self.receipts.insert(r.audit_record, (r, false));
        Ok(())
    }

    /// The next record of the file.
    pub fn push(&mut self, r: &FileRecord) -> Result<(), Problem> {
        self.line += 1;
        let line = self.line;
        match self.summary.tenant {
            Some(t) if t != r.tenant_id => return Err(Problem::OtherTenant { line, id: r.id }),
            _ => self.summary.tenant = Some(r.tenant_id),
        }
        let Some(sealed) = r.sealed(line)? else {
            if self.last.is_some() {
                self.unsealed_after = true;
            } else {
                self.unsealed_before = true;
            }
            self.summary.pending += 1;
            return Ok(());
        };
        if self.unsealed_after {
            return Err(Problem::UnsealedBetween { line, id: r.id });
        }
        let chained = r.chained(sealed.seq);
        if chain::hash(&sealed.prev_hash, &chained).as_slice() != sealed.hash {
            return Err(Problem::Changed {
                line,
                id: r.id,
                seq: sealed.seq,
            });
        }
        if sealed.seq == 1 && sealed.prev_hash != chain::GENESIS {
            return Err(Problem::Genesis { line });
        }
        if let Some(last) = &self.last {
            self.direction = Some(follows(line, last, &sealed, self.direction)?);
        }
        self.check_against_checkpoint(r.tenant_id, &sealed)?;
        if let Some((receipt, matched)) = self.receipts.get_mut(&r.id) {
            if let Some(reason) = receipt.contradicts(r.id, &chained) {
                return Err(receipt_problem(receipt, reason.into()));
            }
            *matched = true;
        }
        self.count(&sealed);
        self.last = Some(sealed);
        Ok(())
    }

    fn check_against_checkpoint(
        &mut self,
        tenant: TenantId,
        sealed: &Sealed,
    ) -> Result<(), Problem> {
        if let Some((c, reached)) = self.checkpoints.get_mut(&sealed.seq) {
            if c.tenant_id != tenant {
                return Err(Problem::Checkpoint {
                    seq: c.seq,
                    time: c.time(),
                    key_id: c.key_id.clone(),
                    reason: "it is another tenant's checkpoint".into(),
                });
            }
            if c.head_hash != sealed.hash {
                return Err(Problem::Checkpoint {
                    seq: c.seq,
                    time: c.time(),
                    key_id: c.key_id.clone(),
                    reason: format!(
                        "the file's record seq {} has another hash (the log was rewritten)",
                        c.seq
                    ),
                });
            }
            *reached = true;
        }
        Ok(())
    }

    fn count(&mut self, sealed: &Sealed) {
        let s = &mut self.summary;
        s.records += 1;
        let (lo, hi) = s.seqs.unwrap_or((sealed.seq, sealed.seq));
        s.seqs = Some((lo.min(sealed.seq), hi.max(sealed.seq)));
        if sealed.seq >= hi {
            s.head = Some(crate::digest::hex(&sealed.hash));
        }
    }

    /// The verdict once every record was pushed.
    pub fn finish(mut self) -> Result<Summary, Problem> {
        let newest_first = self.direction == Some(Direction::NewestFirst);
        if (newest_first && self.unsealed_after)
            || (!newest_first && self.unsealed_before && self.direction.is_some())
        {
            return Err(Problem::Malformed(
                "records without a seal are older than sealed ones: the file was reordered".into(),
            ));
        }
        for (c, reached) in self.checkpoints.values() {
            if *reached {
                continue;
            }
            let reason = match self.summary.seqs {
                Some((lo, _)) if c.seq < lo => format!(
                    "the file starts at seq {lo}, after this checkpoint: verify an export of the whole log"
                ),
                Some((_, hi)) => format!(
                    "the file ends at seq {hi}: records seq {}–{} were removed from its end (truncated tail)",
                    hi + 1,
                    c.seq
                ),
                None => format!(
                    "the file holds no sealed record: records seq 1–{} are missing (truncated)",
                    c.seq
                ),
            };
            return Err(Problem::Checkpoint {
                seq: c.seq,
                time: c.time(),
                key_id: c.key_id.clone(),
                reason,
            });
        }
        if let Some((r, _)) = self.receipts.values().find(|(_, matched)| !matched) {
            return Err(receipt_problem(
                r,
                "the file does not hold its audit record among its sealed records".into(),
            ));
        }
        // Without a signed checkpoint the hashes tie the records to each
        // other, not to the deployment: anyone can compute them.
        let Some(anchor) = self.checkpoints.keys().next_back().copied() else {
            return Err(Problem::Unanchored);
        };
        self.summary.signed_to = Some(anchor);
        self.summary.checkpoints = self.checkpoints.len();
        self.summary.receipts = self.receipts.len();
        Ok(self.summary)
    }
}

/// The direction the file keeps, given that `next` follows `last`; or why
/// it does not follow.
fn follows(
    line: u64,
    last: &Sealed,
    next: &Sealed,
    direction: Option<Direction>,
) -> Result<Direction, Problem> {
    let step = next.seq - last.seq;
    let now = match (direction, step) {
        (None | Some(Direction::OldestFirst), 1) => Direction::OldestFirst,
        (None | Some(Direction::NewestFirst), -1) => Direction::NewestFirst,
        (None, s) if s.abs() > 1 => {
            let (from, to) = (last.seq.min(next.seq), last.seq.max(next.seq));
            return Err(Problem::Gap { line, from, to });
        }
        (Some(Direction::OldestFirst), s) if s > 1 => {
            return Err(Problem::Gap {
                line,
                from: last.seq,
                to: next.seq,
            });
        }
        (Some(Direction::NewestFirst), s) if s < -1 => {
            return Err(Problem::Gap {
                line,
                from: next.seq,
                to: last.seq,
            });
        }
        _ => {
            return Err(Problem::Reordered {
                line,
                seq: next.seq,
                after: last.seq,
            });
        }
    };
    let linked = match now {
        Direction::OldestFirst => next.prev_hash == last.hash,
        Direction::NewestFirst => last.prev_hash == next.hash,
    };
    if linked {
        Ok(now)
    } else {
        Err(Problem::Relinked {
            line,
            seq: next.seq,
            other: last.seq,
        })
    }
}

fn signature_problem(verdict: Verdict) -> Option<String> {
    match verdict {
        Verdict::Valid => None,
        Verdict::Invalid => Some("its signature does not verify (it was altered or forged)".into()),
        Verdict::UnknownKey => {
            Some("it is signed with a key none of the given public keys is".into())
        }
        Verdict::OutsideValidity => Some("it is dated outside its key's validity period".into()),
    }
}

fn receipt_problem(r: &Receipt, reason: String) -> Problem {
    Problem::Receipt {
        record: r.audit_record,
        decision: r.decision.clone(),
        time: r.time(),
        reason,
    }
}

#[cfg(test)]
mod tests;
