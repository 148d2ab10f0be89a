"""Referral codes: short, human-typable, case-insensitive.

Generated codes use an alphabet without look-alikes (no 0/O, 1/I/L). Lookups compare the
normalised form, which also folds look-alikes (O->0, I and L->1) and drops dashes and spaces, so
a code read aloud or typed from a flyer still matches.
"""

from __future__ import annotations

import re
import secrets

SAFE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
VANITY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$")
_FOLD = str.maketrans({"O": "0", "I": "1", "L": "1"})
_DROP = re.compile(r"[\s_-]+")


def normalize_code(code: str) -> str:
    return _DROP.sub("", code).upper().translate(_FOLD)


def generate_code(name: str = "", *, random_length: int = 5) -> str:
    """`ALICE-7KQ2M` from a name, or just the random part when there is no usable name."""
    prefix = re.sub(r"[^A-Z]", "", (name.split() or [""])[0].upper())[:8]
    suffix = "".join(secrets.choice(SAFE_ALPHABET) for _ in range(random_length))
    return f"{prefix}-{suffix}" if len(prefix) >= 2 else suffix


def is_valid_vanity(code: str) -> bool:
    return bool(VANITY_PATTERN.match(code))
