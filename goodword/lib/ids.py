"""Public ids: a short type prefix and random characters (`prg_7f3kq2...`).

Integer primary keys never leave the server; every row a client can name has one of these.
"""

from __future__ import annotations

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_LENGTH = 20  # ~2**103 ids: collisions are not a practical concern


# Each random byte names a character, byte % 36: as 256 = 7 * 36 + 4, the first four characters
# are a little likelier (8/256 against 7/256), which leaves 5.16 bits a character, 103 bits an
# id. One read of the OS's random source and one table lookup per id: a batch of events makes
# tens of thousands of ids, and arithmetic per character cost ~10 us each.
_TABLE = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) for b in range(256))


def new_id(prefix: str) -> str:
    return prefix + "_" + secrets.token_bytes(_LENGTH).translate(_TABLE).decode("ascii")


def new_ids(prefix: str, count: int) -> list[str]:
    """`count` ids as `new_id`'s, from one read of the OS's random source: a read a row was a
    tenth of an import's time (8 us each under load, measured)."""
    text = secrets.token_bytes(_LENGTH * count).translate(_TABLE).decode("ascii")
    head = prefix + "_"
    return [head + text[at : at + _LENGTH] for at in range(0, _LENGTH * count, _LENGTH)]


# Named defaults, one per prefix: migrations refer to them by name.


def new_ws_id() -> str:
    return new_id("ws")


def new_key_id() -> str:
    return new_id("key")


def new_evt_id() -> str:
    return new_id("evt")


def new_prg_id() -> str:
    return new_id("prg")


def new_par_id() -> str:
    return new_id("par")


def new_adv_id() -> str:
    return new_id("adv")


def new_inv_id() -> str:
    return new_id("inv")


def new_tinv_id() -> str:  # an invitation to join a workspace's team
    return new_id("tinv")


def new_ref_id() -> str:
    return new_id("ref")


def new_rwd_id() -> str:
    return new_id("rwd")


def new_txn_id() -> str:
    return new_id("txn")


def new_rdm_id() -> str:
    return new_id("rdm")


def new_ev_id() -> str:
    return new_id("ev")
