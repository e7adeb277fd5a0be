"""What the audit log keeps of a finding, and the keyed hashes and signatures that protect it.

The audit log is append-only, so whatever lands in it stays: a client's name written there
would outlive every profile edit. So the log never holds the text a finding matched, for any
rule. A finding's record keeps the rule, the field, the offsets, the persona whose identity it
was (``owner``) and ``match_hmac``, a keyed hash of the match under the guard key from the
keyring (:mod:`crosspost.guardkey`). The hash has the form of a profile's
``confidential_hashes`` entry (same canonical form, same key), so a record of a hashed client
name carries exactly the string of that name's profile entry, and nothing more.

Messages are kept only for rules whose message is built from configuration and times, never
from the post or the image (:data:`MESSAGE_RULES` and the packs' fixed messages); the others
(identity, never-mention, routing, media-metadata) repeat what they matched.

The same key signs the log's head (the count and last hash, so that records removed from the
end show) and redaction records (``crosspost audit redact``); each use has its own label, so a
value made for one can never pass for another.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the guard package is imported only when a match is hashed
    from .guard.findings import Finding

#: Rules whose messages name no matched text (configuration, post ids, times only).
MESSAGE_RULES = frozenset(
    {
        "confidential",
        "near-duplicate",
        "separation",
        "fingerprint.rhythm",
        "fingerprint.session-hours",
        "media.same-image",
    }
)

_HEAD = b"crosspost-audit-head\x00"
_REDACTION = b"crosspost-audit-redaction\x00"
_OLD_HEAD = b"crosspost-audit-old-head\x00"


def keeps_message(rule: str | None) -> bool:
    """Whether a finding's message of ``rule`` may be written to the audit log."""
    if rule is None:
        return False
    if rule in MESSAGE_RULES:
        return True
    from .guard.packs import PACK_RULES

    return rule in PACK_RULES  # a pack rule's message is one fixed sentence


def finding_detail(f: Finding, **context: Any) -> dict[str, Any]:
    """An audit record's ``detail`` for ``f``; the store turns ``match`` into ``match_hmac``."""
    detail: dict[str, Any] = {"match": f.match, "field": f.field, "start": f.start, "end": f.end}
    if f.owner is not None:
        detail["owner"] = f.owner
    if keeps_message(f.rule):
        detail["message"] = f.message
    detail.update(context)
    return detail


def finding_summary(f: Finding) -> str:
    """One line about ``f`` for places that are stored (a delivery's error): no matched text."""
    if keeps_message(f.rule):
        return f"[{f.rule}] {f.message}"
    where = f"{f.field} {f.start}–{f.end}" if f.end > f.start else f.field
    whose = ""
    if f.owner:
        whose = f" ({'identifies ' if f.rule == 'identity' else ''}persona '{f.owner}')"
    return f"[{f.rule}] in {where}{whose}"


def match_hmac(match: str, key: bytes) -> str:
    """The keyed hash of a matched text, as ``hmac-sha256:<words>:<hex>``.

    A match without a letter or digit has no canonical form; it is hashed as written, and its
    value has no word count (``hmac-sha256:<hex>``).
    """
    from .guard.confidential import PREFIX, hash_confidential

    try:
        return hash_confidential(match, key)
    except ValueError:
        return f"{PREFIX}:{hmac.digest(key, match.encode('utf-8'), hashlib.sha256).hex()}"


def seal(detail: Mapping[str, Any] | None, key: bytes | None) -> dict[str, Any]:
    """``detail`` as stored: a ``match`` becomes ``match_hmac`` (None without a key)."""
    out = dict(detail or {})
    if "match" in out:
        match = out.pop("match")
        out["match_hmac"] = match_hmac(str(match), key) if key and match is not None else None
    return out


def redact(
    rule: str | None, detail: Mapping[str, Any], key: bytes
) -> tuple[dict[str, Any], list[str]]:
    """A finding's record written before matches were hashed, as it is stored now, and the
    names of the fields removed; records without a ``match`` are no finding's and stay."""
    if "match" not in detail:
        return dict(detail), []
    removed = ["match"]
    out = seal(detail, key)
    if "message" in out and not keeps_message(rule):
        removed.append("message")
        del out["message"]
    return out, removed


def _mac(key: bytes, label: bytes, data: str) -> str:
    return hmac.digest(key, label + data.encode("utf-8"), hashlib.sha256).hex()


def head_mac(key: bytes, records: int, head: str) -> str:
    """Signs the log's length and last hash (kept in ``audit_head``)."""
    return _mac(key, _HEAD, f"{records}:{head}")


def old_head_commitment(key: bytes, old_head: str) -> str:
    """What a redaction record keeps of the head it replaced.

    Not the head itself: it is a plain hash over the records as they were, client names
    included, so anyone with a list of candidate names could test them against it. Keyed, it
    still lets whoever holds the key confirm a head noted before the redaction.
    """
    return _mac(key, _OLD_HEAD, old_head)


def redaction_signature(key: bytes, prev_hash: str, body: Mapping[str, Any]) -> str:
    """Signs a redaction record's content together with the hash of the (re-chained) record
    before it: whoever rewrites the log up to there again cannot make the signature fit."""
    blob = json.dumps(dict(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _mac(key, _REDACTION, prev_hash + blob)


def same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a, b)
