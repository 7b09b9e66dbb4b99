#!/usr/bin/env python3
"""Verify a lockbox audit export offline, independently of lockbox's own code.

    verify-export.py FILE [--checkpoint CP.json]... [--receipt R.json]... --public-key KEY.pem...

Checks what `lockbox audit verify-file` checks, written again from the formats documented
in src/audit/{chain,checkpoint}.rs, src/audit/receipt/mod.rs and src/signing/mod.rs, with
the standard library and the `openssl` command (OpenSSL 3, for Ed25519). FILE is an export
(JSON Lines, newest first) or an evidence pack (one JSON document, records oldest first).
Exits 0 with a one-line summary, or 1 naming the first problem.

A PEM public key knows no validity period, so a signature's date is not checked against
it (nor does verify-file); a keyring (JSON) may be given instead, and its periods count.
Parameters are written as serde_json writes a Value. json.dumps escapes strings exactly
as serde_json does (" \\ \\b \\f \\n \\r \\t, other control characters as \\u00xx; not DEL,
not U+2028) but not numbers, so number() writes them the serde_json way. (serde_json may
round a float of more than 17 digits otherwise than Python; lockbox writes no floats.)
"""
import argparse, base64, datetime, decimal, hashlib, json, math, os, re, subprocess, sys, tempfile, uuid

SPKI = bytes.fromhex("302a300506032b6570032100")  # the DER of an Ed25519 PUBLIC KEY, before the key
DECISION = "Set-AccessToCustomerDataRequest"


class Problem(Exception):
    pass


class Duplicates(dict):
    """An object with a key twice, refused: json keeps the last, another reader the first."""


def refuse(constant):
    raise ValueError(f"{constant} is not JSON")


def read(text):
    """JSON as serde_json reads it: no NaN or Infinity, -0 the float -0.0."""
    pairs = lambda kv: (Duplicates if len({k for k, _ in kv}) < len(kv) else dict)(kv)
    minus_zero = lambda s: -0.0 if s == "-0" else int(s)
    return json.loads(text, object_pairs_hook=pairs, parse_int=minus_zero, parse_constant=refuse)


def struct(v, what):
    if not isinstance(v, dict) or isinstance(v, Duplicates):
        raise ValueError(f"{what} is not an object with each field once")
    return v


def framed(tag, fields):
    """The tag, then each field as an 8-byte big-endian length and its UTF-8 bytes."""
    out = tag.encode()
    for field in map(str.encode, fields):
        out += len(field).to_bytes(8, "big") + field
    return out


def number(x):
    """As serde_json writes it: integers beyond i64/u64 as floats; floats in shortest form,
    in fixed notation for exponents -5 to 15, else as 1.5e+16 or 1e-7."""
    if isinstance(x, int) and -2**63 <= x < 2**64:
        return str(x)
    if not math.isfinite(float(x)):
        raise ValueError("a number out of range")
    text = repr(float(x))
    mantissa, _, exp = text.partition("e")
    if not exp:
        return text
    return format(decimal.Decimal(text), "f") if -5 <= int(exp) <= 15 else f"{mantissa}e{int(exp):+d}"


def canonical(v):
    """JSON as serde_json writes a Value: object keys sorted by code point, no spaces."""
    if isinstance(v, dict):
        struct(v, "a parameter object")
        return "{" + ",".join(canonical(k) + ":" + canonical(v[k]) for k in sorted(v)) + "}"
    if isinstance(v, list):
        return "[" + ",".join(map(canonical, v)) + "]"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return number(v)
    return json.dumps(v, ensure_ascii=False)  # a string, true, false or null


def when(text):
    """RFC 3339 in UTC with exactly six fractional digits (more are cut off) and Z."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)", text)
    if not m:
        raise ValueError(f"{text!r} is not an RFC 3339 time")
    offset = "+00:00" if m[4] in "Zz" else m[4]
    t = datetime.datetime.fromisoformat(f"{m[1]}T{m[2]}.{(m[3] or '')[:6]:0<6}{offset}")
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def moment(text):
    return datetime.datetime.fromisoformat(when(text)[:-1] + "+00:00")


def uid(text):
    return str(uuid.UUID(text))  # lower-case, hyphenated


def hex32(text):
    if not isinstance(text, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", text):
        raise ValueError(f"{text!r} is not 64 hex digits")
    return text.lower()


def load_keys(paths, tmp):
    """key id -> (PEM file, valid from, valid until); a keyring's keys are written as PEM files."""
    keys = {}
    for path in paths:
        text = open(path, encoding="utf-8").read()
        if not text.lstrip().startswith("{"):
            pem = re.search(r"-----BEGIN PUBLIC KEY-----(.*?)-----END PUBLIC KEY-----", text, re.S)
            der = base64.b64decode(pem[1]) if pem else b""
            if len(der) != 44 or not der.startswith(SPKI):
                raise Problem(f"{path}: neither an Ed25519 PUBLIC KEY PEM nor a lockbox keyring")
            keys.setdefault(hashlib.sha256(der[12:]).hexdigest()[:16], (path, None, None))
            continue
        for k in json.loads(text)["keys"]:
            der, pem = SPKI + base64.b64decode(k["public_key"]), os.path.join(tmp, f"{len(keys)}.pem")
            if hashlib.sha256(der[12:]).hexdigest()[:16] != k["key_id"]:
                raise Problem(f"{path}: neither an Ed25519 PUBLIC KEY PEM nor a lockbox keyring")
            with open(pem, "w") as f:
                f.write(f"-----BEGIN PUBLIC KEY-----\n{base64.b64encode(der).decode()}\n-----END PUBLIC KEY-----\n")
            until = k["valid_until"] and moment(k["valid_until"])
            if keys.get(k["key_id"], (None, None))[1] is None:  # a keyring's period beats a PEM's "always"
                keys[k["key_id"]] = (pem, moment(k["valid_from"]), until)
    return keys


def signature_problem(keys, tmp, tag, fields, doc, at):
    """Why doc's signature is not one by its key, of the framed fields, dated at; None if it is."""
    if doc.get("format") != tag:
        return f"it is not a {tag}"
    if doc["key_id"] not in keys:
        return "it is signed with a key none of the given public keys is"
    pem, valid_from, valid_until = keys[doc["key_id"]]
    message, signature = os.path.join(tmp, "message"), os.path.join(tmp, "signature")
    with open(message, "wb") as m, open(signature, "wb") as s:
        m.write(framed(tag, fields))
        s.write(bytes.fromhex(doc["signature"]) if re.fullmatch(r"(?:[0-9a-fA-F]{2})*", doc["signature"]) else b"")
    openssl = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin", "-in", message, "-sigfile", signature]
    if subprocess.run(openssl, capture_output=True).returncode != 0:
        return "its signature does not verify (it was altered or forged)"
    skew, at = datetime.timedelta(minutes=5), moment(at)
    if (valid_from and at < valid_from - skew) or (valid_until and at > valid_until + skew):
        return "it is dated outside its key's validity period"
    return None


def checked_checkpoints(given, keys, tmp):
    """seq -> (name, tenant, head hash) of each checkpoint, once its signature verifies."""
    found = {}
    for c in given:
        c, name = struct(c, "a checkpoint"), f"checkpoint seq {c['seq']} signed at {c['time']} with key {c['key_id']}"
        fields = [uid(c["tenant"]), str(c["seq"]), hex32(c["head_hash"]), str(c["record_count"]), when(c["time"]),
                  c["key_id"]]
        why = signature_problem(keys, tmp, "lockbox-checkpoint-v1", fields, c, c["time"])
        if why or c["record_count"] != c["seq"]:
            raise Problem(f"{name}: {why or 'its record count does not match its seq'}")
        if c["seq"] in found and found[c["seq"]][3] != (fields, c["signature"].lower()):
            raise Problem(f"{name}: another signed checkpoint for the same seq says otherwise "
                          "(the log was rewritten and signed again)")
        found.setdefault(c["seq"], (name, fields[0], fields[2], (fields, c["signature"].lower())))
    return found


def checked_receipts(given, keys, tmp):
    """audit record id -> (name, the fields it states), once its signature verifies."""
    found = {}
    for r in given:
        r, name = struct(r, "a receipt"), f"the receipt of audit record {r['audit_record']} ({r['decision']} at {r['time']})"
        fields = [uid(r["request"]), uid(r["tenant"]), r["decision"], r["approver"], r["approver_name"],
                  hex32(r["comment_sha256"]), when(r["time"]), hex32(r["request_fingerprint"]), str(r["audit_record"]),
                  r["key_id"]]
        why = signature_problem(keys, tmp, "lockbox-receipt-v1", fields, r, r["time"])
        if why:
            raise Problem(f"{name}: {why}")
        if r["audit_record"] in found and found[r["audit_record"]][2] != r["signature"].lower():
            raise Problem(f"{name}: another signed receipt for the same record says otherwise")
        found.setdefault(r["audit_record"], (name, fields, r["signature"].lower()))
    return found


def contradiction(stated, r, tenant, request, at):
    """Why the sealed record r is not the decision a receipt states; None if it is."""
    request_id, tenant_id, decision, approver, approver_name, comment, time, fingerprint, _, _ = stated
    p = r["parameters"] if isinstance(r["parameters"], dict) else {}
    param = lambda name: p[name] if isinstance(p.get(name), str) else None
    if (tenant, request) != (tenant_id, request_id):
        return "its audit record is about another tenant or request"
    if (r["activity"], param("ApprovalDecision")) != (DECISION, decision):
        return "its audit record holds another decision"
    if (r["actor_id"], r["actor_name"]) != (approver, approver_name):
        return "its audit record names another approver"
    if at != time:
        return "its audit record is dated otherwise"
    if hashlib.sha256((param("Comment") or "").encode()).hexdigest() != comment:
        return "its audit record holds another comment"
    if param("RequestFingerprint") != fingerprint:
        return "its audit record names a request with another fingerprint"
    return None


def verify(records, checkpoints, receipts):
    """The summary of the records (in file order), the highest seq and the highest a checkpoint
    signs, if they verify; else raises the first Problem."""
    signed = f"{len(checkpoints)} signed checkpoints reached; {len(receipts)} signed receipts match their records"
    signed_to = max(checkpoints, default=None)
    tenant, last, step, lo, hi, head, count, pending = None, None, None, None, None, None, 0, 0
    unsealed_first = unsealed_after = False  # a record without a seal before any sealed one / after one
    for line, r in enumerate(records, 1):
        try:
            r = struct(r, "the record")
            if tenant not in (None, uid(r["tenant_id"])):
                raise Problem(f"line {line}: record {r['id']} belongs to another tenant than the records before it")
            tenant, seal = uid(r["tenant_id"]), (r.get("seq"), r.get("prev_hash"), r.get("hash"))
            if seal == (None, None, None):
                unsealed_first, unsealed_after = unsealed_first or not last, unsealed_after or bool(last)
                pending += 1
                continue
            if None in seal or type(seal[0]) is not int or seal[0] < 1:
                raise ValueError("its seal (seq, prev_hash, hash) is incomplete")
            seq, prev, digest = seal[0], hex32(seal[1]), hex32(seal[2])
            request, at = r["request_id"] and uid(r["request_id"]), when(r["occurred_at"])
            fields = [tenant, str(seq), at, r["actor_id"], r["actor_name"], r["ip"], r["activity"], r["item"],
                      request or "", canonical(r["parameters"])]
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise Problem(f"line {line}: not a record of an export ({type(e).__name__}: {e})")
        if unsealed_after:
            raise Problem(f"line {line}: record {r['id']} has no seal but lies between sealed records")
        if hashlib.sha256(bytes.fromhex(prev) + framed("lockbox-audit-v1", fields)).hexdigest() != digest:
            raise Problem(f"line {line}: record {r['id']} (seq {seq}) was changed: its content does not match its hash")
        if seq == 1 and prev != "0" * 64:
            raise Problem(f"line {line}: record seq 1 does not start the chain (its predecessor hash is not zero)")
        if last:  # the next one, one step in the file's direction (+1 oldest first, -1 newest first)
            (last_seq, last_prev, last_hash), this = last, seq - last[0]
            if this not in (1, -1) or this != (step or this):
                if (step or this) * this > 1:  # further in the same direction
                    raise Problem(f"line {line}: records are missing between seq {min(seq, last_seq)} "
                                  f"and seq {max(seq, last_seq)} (a gap)")
                raise Problem(f"line {line}: record seq {seq} is out of order (it follows seq {last_seq})")
            step = this
            if (prev != last_hash) if step == 1 else (last_prev != digest):
                raise Problem(f"line {line}: record seq {seq} does not link to its neighbour seq {last_seq} "
                              "(a record was replaced)")
        if seq in checkpoints:
            name, checkpoint_tenant, checkpoint_head, _ = checkpoints.pop(seq)
            if (checkpoint_tenant, checkpoint_head) != (tenant, digest):
                raise Problem(f"{name}: the file's record seq {seq} has another hash (the log was rewritten)")
        if r["id"] in receipts:
            name, stated, _ = receipts.pop(r["id"])
            why = contradiction(stated, r, tenant, request, at)
            if why:
                raise Problem(f"{name}: {why}")
        count, lo, hi, last = count + 1, min(lo or seq, seq), max(hi or seq, seq), (seq, prev, digest)
        head = digest if seq == hi else head
    if (step == -1 and unsealed_after) or (step == 1 and unsealed_first):
        raise Problem("records without a seal are older than sealed ones: the file was reordered")
    for seq, (name, _, _, _) in sorted(checkpoints.items()):  # the checkpoints the file did not reach
        raise Problem(name + (
            f": the file holds no sealed record: records seq 1–{seq} are missing (truncated)" if not count else
            f": the file starts at seq {lo}, after this checkpoint: verify an export of the whole log" if seq < lo else
            f": the file ends at seq {hi}: records seq {hi + 1}–{seq} were removed from its end (truncated tail)"))
    for name, _, _ in receipts.values():  # the receipts whose record the file does not hold
        raise Problem(f"{name}: the file does not hold its audit record among its sealed records")
    if signed_to is None:  # the hashes tie the records to each other; only a signature ties them to the key
        raise Problem("no signed checkpoint: the hashes tie the records to each other, not to the deployment's "
                      "key; pass --checkpoint (from the Audit page or the digest mail)")
    whole = f"the log is whole: {count} records (seq {lo}–{hi}) verify, head {head}" if count else "no sealed records"
    unsigned = "" if not count or hi <= signed_to else "; " + (
        f"record seq {hi} is" if hi == signed_to + 1 else f"records seq {signed_to + 1}–{hi} are"
    ) + " not covered by a checkpoint yet (verify again with a later one)"
    pending = f"; {pending} newer records not yet sealed (not covered)" if pending else ""
    return f"{whole}; {signed}{unsigned}{pending}", hi, signed_to


def check_pack(pack, hi, signed_to):
    """An evidence pack's readable parts against its signed records (src/audit/offline/pack.rs)."""
    if hi is not None and hi > signed_to:
        raise Problem(f"the records after seq {signed_to} (up to seq {hi}) are covered by no signed checkpoint")
    req, records = struct(pack["request"], "the request"), pack["records"]
    fail = lambda part, why: Problem(f"the evidence pack's {part} disagrees with its signed records: {why}")
    rid = uid(req["id"])
    if not any(r["request_id"] and uid(r["request_id"]) == rid for r in records):
        raise fail("request", "the records hold nothing of this request")
    if any(uid(r["tenant_id"]) != uid(req["tenant"]) for r in records):
        raise fail("request", "it names another tenant than its records")
    facts = [rid, uid(req["tenant"]), req["engineer"], req["service_request"], req["workload"],
             str(req["duration_minutes"]), hashlib.sha256(req["justification"].encode()).hexdigest()]
    fingerprint = hashlib.sha256(framed("lockbox-request-v2", facts)).hexdigest()
    if fingerprint != req["fingerprint"]:
        raise fail("request", "its facts do not give its fingerprint (the request was altered)")
    for receipt in pack.get("receipts", []):
        if (receipt["request"], receipt["request_fingerprint"]) != (rid, fingerprint):
            raise fail("request", f"the receipt of audit record {receipt['audit_record']} is for another request")
    signed = [r for r in records if r["request_id"] and uid(r["request_id"]) == rid
              and "AccessToCustomerDataRequest" not in r["activity"]]
    for action in pack["operator_actions"]:
        record = next((r for r in signed if r["id"] == action["id"]), None)
        if record is None:
            raise fail("operator actions", f"record {action['id']} is not an operator action among the signed records")
        if record != action:
            raise fail("operator actions", f"record {action['id']} differs from its signed record")
    for record in signed:
        if not any(a["id"] == record["id"] for a in pack["operator_actions"]):
            raise fail("operator actions", f"the signed record {record['id']} ({record['activity']}) is left out")
    if "approvals" in req:  # issue 19; absent in older packs
        approved = [r for r in records if r["request_id"] and uid(r["request_id"]) == rid
                    and r["activity"] == "Set-AccessToCustomerDataRequest"
                    and struct(r["parameters"], "parameters").get("ApprovalDecision") == "Approve"]
        if len(req["approvals"]) != len(approved):
            raise fail("approvals", f"it lists {len(req['approvals'])} approvals, the signed records hold {len(approved)}")
        for n, (a, r) in enumerate(zip(req["approvals"], approved), start=1):
            counted = struct(r["parameters"], "parameters")
            if ("ApprovalsGiven" in counted and counted["ApprovalsGiven"] != n) or (
                    "approvals_required" in req and counted.get("ApprovalsRequired") != req["approvals_required"]):
                raise fail("approvals", f"the approval of record {r['id']} was counted as another of the quorum than the pack says")
            if (uid(a["approver"]), a["approver_name"], when(a["at"])) != (uid(r["actor_id"]), r["actor_name"], when(r["occurred_at"])):
                raise fail("approvals", f"the approval of record {r['id']} differs from its signed record")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--checkpoint", action="append", default=[])
    ap.add_argument("--receipt", action="append", default=[])
    ap.add_argument("--public-key", action="append", required=True)
    args = ap.parse_args()
    load = lambda path: read(open(path, encoding="utf-8").read())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            keys = load_keys(args.public_key, tmp)
            checkpoints, receipts = list(map(load, args.checkpoint)), list(map(load, args.receipt))
            text = open(args.file, encoding="utf-8", newline="").read()
            lines = [line for line in text.split("\n") if line.strip()]  # not splitlines(): U+2028 is no line break
            try:
                first = read(lines[0]) if lines else {}
            except ValueError:
                first = None
            pack = None
            if not lines or isinstance(first, dict) and "hash" in first and "id" in first:
                records = map(read, lines)  # one at a time, as verify-file reads them
            else:
                pack = struct(read(text), "the file")
                if pack["format"] != "lockbox-evidence-v1":
                    raise Problem(f"the file's format is {pack['format']!r}, not lockbox-evidence-v1")
                records = pack["records"]
                checkpoints, receipts = checkpoints + pack.get("checkpoints", []), receipts + pack.get("receipts", [])
            summary, hi, signed_to = verify(records, checked_checkpoints(checkpoints, keys, tmp),
                                            checked_receipts(receipts, keys, tmp))
            if pack is not None:
                check_pack(pack, hi, signed_to)
    except (Problem, OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        print(f"{args.file}: VERIFICATION FAILED: {e}", file=sys.stderr)
        return 1
    print(f"{args.file}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
