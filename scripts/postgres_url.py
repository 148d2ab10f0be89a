"""Print the PostgreSQL URL the tests should use, or nothing when no server answers.

TEST_DATABASE_URL wins; otherwise a local server on the standard port is tried.
"""

from __future__ import annotations

import os

import psycopg

LOCAL = "postgres://postgres@127.0.0.1:5432/goodword"


def main() -> None:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url:
        print(url)  # noqa: T201
        return
    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=2).close()
    except psycopg.Error:
        return
    print(LOCAL)  # noqa: T201


if __name__ == "__main__":
    main()
