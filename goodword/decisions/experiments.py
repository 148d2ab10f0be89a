"""Sticky experiment assignment: which offer variant an advocate gets, or the holdout.

Deterministic: a keyed hash of the experiment and the advocate, so the same advocate always
lands in the same bucket, on any process, without a lookup. The services store the result on
the advocate (the record of every assignment) when they enrol them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HOLDOUT = "holdout"
BUCKETS = 10_000


def bucket(experiment: str, subject: str) -> int:
    """A number in [0, 10,000) spread evenly over subjects, the same every time."""
    digest = hashlib.blake2b(f"{experiment}\x1f{subject}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def assign(
    experiment: str, subject: str, variants: Sequence[tuple[str, int]], holdout_percent: int
) -> str:
    """The variant `subject` gets: the holdout for the first `holdout_percent` of buckets, then
    the variants in proportion to their weights."""
    n = bucket(experiment, subject)
    held = BUCKETS * holdout_percent // 100
    if n < held:
        return HOLDOUT
    total = sum(weight for _, weight in variants)
    point = (n - held) * total // (BUCKETS - held)
    for name, weight in variants:
        if point < weight:
            return name
        point -= weight
    return variants[-1][0]
