//! `lockbox bench verify-file`: the speed of offline verification. Writes
//! a made-up, correctly chained and signed export of `records` records
//! ([`crate::audit::offline::synthetic`]) to a scratch file, then times
//! exactly what `lockbox audit verify-file` does with it and prints records
//! per second. No database is involved, as none is when a customer runs it.

use std::{io::Write, time::Instant};

use super::BenchError;
use crate::{
    audit::offline::{self, Verifier},
    identity::TenantId,
    signing::{PublicKeys, Signer},
};

pub fn run(records: i64) -> Result<(), BenchError> {
    let signer = Signer::generate();
    let mut keys = PublicKeys::from_pem(&PublicKeys::pem_of(&signer.public_key()))
        .ok_or_else(|| BenchError("no public key".into()))?;
    keys.keys.truncate(1);
    let path =
        std::env::temp_dir().join(format!("lockbox-bench-verify-{}.jsonl", std::process::id()));
    let result = measure(&signer, keys, records, &path);
    let _ = std::fs::remove_file(&path);
    result
}

fn measure(
    signer: &Signer,
    keys: PublicKeys,
    records: i64,
    path: &std::path::Path,
) -> Result<(), BenchError> {
    let io = |e: std::io::Error| BenchError(format!("{}: {e}", path.display()));
    let started = Instant::now();
    let mut lines = Vec::with_capacity(usize::try_from(records).unwrap_or(0));
    let tenant = TenantId(uuid::Uuid::new_v4());
    let checkpoints =
        offline::synthetic::log(tenant, records, signer, chrono::Utc::now(), 10_000, |l| {
            lines.push(l)
        });
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    // Newest first, as an export.
    for line in lines.iter().rev() {
        file.write_all(line.as_bytes()).map_err(io)?;
        file.write_all(b"\n").map_err(io)?;
    }
    file.flush().map_err(io)?;
    drop(file);
    drop(lines);
    let bytes = std::fs::metadata(path).map_err(io)?.len();
    println!(
        "wrote {records} records ({:.1} MB) and {} checkpoints in {:.1} s",
        bytes as f64 / 1e6,
        checkpoints.len(),
        started.elapsed().as_secs_f64()
    );
    let published: Vec<_> = checkpoints.iter().map(|c| c.published()).collect();
    let input = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
    let started = Instant::now();
    let summary = offline::verify_file(input, Verifier::new(keys), &published, &[])
        .map_err(|p| BenchError(format!("the bench's own export failed: {p}")))?;
    let secs = started.elapsed().as_secs_f64();
    println!("{summary}");
    println!(
        "verify-file: {} records in {secs:.2} s = {:.0} records/s ({:.0} MB/s)",
        summary.records,
        summary.records as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
    Ok(())
}
