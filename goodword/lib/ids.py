"""Public ids: a short type prefix and random characters (`prg_7f3kq2...`).

Integer primary keys never leave the server; every row a client can name has one of these.
"""

from __future__ import annotations

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_LENGTH = 20  # 36**20 ~ 1.3e31: collisions are not a practical concern


def new_id(prefix: str) -> str:
    # One read of the OS's random source per id, not one per character: every event makes
    # several ids, and per-character reads cost ~0.4 ms an event.
    n = int.from_bytes(secrets.token_bytes(14))  # 112 bits, more than 36**20 needs
    chars = []
    for _ in range(_LENGTH):
        n, r = divmod(n, 36)
        chars.append(_ALPHABET[r])
    return prefix + "_" + "".join(chars)


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
