"""The `goodword` command line: createworkspace, demo, check."""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import string
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from goodword.accounts.models import ApiKey, Membership, Workspace
from goodword.accounts.services import hash_key
from goodword.ops.demo import DEMO_NAME
from tests.shared import run_goodword


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """A production-like environment: nothing from the test run's own settings."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    return {**env, "GOODWORD_DATA_DIR": str(data_dir), **extra}


# --- createworkspace -----------------------------------------------------------------------


def test_createworkspace_json_prints_one_object_whose_key_works(db: None) -> None:
    out = StringIO()
    call_command("createworkspace", "Acme", owner="owner@acme.test", json=True, stdout=out)
    text = out.getvalue()
    assert text.count("\n") == 1
    assert text.endswith("}\n")
    created = json.loads(text)
    assert set(created) == {"workspace", "api_key"}
    workspace = Workspace.objects.get()
    assert created["workspace"] == {"id": workspace.public_id, "name": "Acme"}
    assert created["api_key"].startswith("gw_sk_")
    # Shown once, stored hashed.
    assert ApiKey.objects.get(workspace=workspace).key_hash == hash_key(created["api_key"])
    assert Membership.objects.get(workspace=workspace).user.username == "owner@acme.test"

    r = Client().get("/api/v1/workspace", HTTP_AUTHORIZATION=f"Bearer {created['api_key']}")
    assert r.status_code == 200
    assert r.json() == {"id": workspace.public_id, "name": "Acme", "allowed_domains": []}
    r = Client().post(
        "/api/v1/programs",
        json.dumps(
            {
                "name": "Give $10, get $10",
                "destination_url": "https://shop.acme.test/",
                "rewards": [{"beneficiary": "advocate", "kind": "credit", "amount": 1000}],
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {created['api_key']}",
    )
    assert r.status_code == 201, r.content


def test_createworkspace_without_json_says_the_key_is_shown_once(db: None) -> None:
    out = StringIO()
    call_command("createworkspace", "Acme", owner="owner@acme.test", stdout=out)
    key = re.search(r"API key \(shown only once, keep it secret\): (gw_sk_\S+)", out.getvalue())
    assert key is not None
    assert ApiKey.objects.get().key_hash == hash_key(key.group(1))


@pytest.mark.parametrize("owner", ["not-an-email", "", "owner@", "@acme.test", "a b@acme.test"])
def test_createworkspace_with_a_bad_owner_fails_clearly_and_creates_nothing(
    db: None, owner: str
) -> None:
    out = StringIO()
    with pytest.raises(CommandError, match=r"^--owner must be an email address, got "):
        call_command("createworkspace", "Acme", owner=owner, json=True, stdout=out)
    assert out.getvalue() == ""
    assert Workspace.objects.count() == 0
    assert get_user_model().objects.count() == 0
    assert ApiKey.objects.count() == 0


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_createworkspace_with_a_bad_name_fails_clearly_and_creates_nothing(
    db: None, name: str
) -> None:
    with pytest.raises(CommandError, match=r"^NAME must be 1 to 200 characters$"):
        call_command("createworkspace", name, owner="owner@acme.test", stdout=StringIO())
    assert Workspace.objects.count() == 0
    assert get_user_model().objects.count() == 0


def test_createworkspace_bad_owner_from_the_shell(tmp_path: Path) -> None:
    run = run_goodword(
        "createworkspace",
        "Acme",
        "--owner",
        "nobody",
        "--json",
        env=clean_env(tmp_path),
        cwd=tmp_path,
    )
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr == "CommandError: --owner must be an email address, got 'nobody'\n"


# --- demo ----------------------------------------------------------------------------------

DEMO_OUTPUT = re.compile(
    r"Goodword demo is ready\.\n"
    r"  Dashboard: (?P<url>http://127\.0\.0\.1:8000/dashboard/)\n"
    r"  Login:    (?P<login>\S+)\n"
    r"  Password: (?P<password>\S+)\n"
    r"  API key:  (?P<key>gw_sk_\S+)\n"
)


def _demo(data_dir: Path) -> dict[str, str]:
    run = run_goodword("demo", "--no-serve", env=clean_env(data_dir), cwd=data_dir)
    assert run.returncode == 0, run.stderr
    found = DEMO_OUTPUT.search(run.stdout)
    assert found is not None, run.stdout
    return found.groupdict()


def _count(db: Path, query: str, *params: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(query, params).fetchone()[0])


def test_demo_prints_working_credentials_and_seeds_once(tmp_path: Path) -> None:
    first = _demo(tmp_path)
    assert first["login"] == "owner@demo.goodword.local"
    db = tmp_path / "goodword.sqlite3"
    workspaces = "SELECT count(*) FROM accounts_workspace WHERE name = ?"
    assert _count(db, workspaces, DEMO_NAME) == 1
    clicks = _count(db, "SELECT count(*) FROM referrals_click")
    referrals = _count(db, "SELECT count(*) FROM referrals_referral")
    assert clicks > 0
    assert referrals > 0
    # The printed key and password are the ones stored (hashed) in the database.
    live_key = "SELECT count(*) FROM accounts_apikey WHERE key_hash = ? AND revoked_at IS NULL"
    assert _count(db, live_key, hash_key(first["key"])) == 1
    with sqlite3.connect(db) as conn:
        [(encoded,)] = conn.execute(
            "SELECT password FROM auth_user WHERE username = ?", (first["login"],)
        ).fetchall()
    assert check_password(first["password"], encoded)
    assert (tmp_path / "demo.json").stat().st_mode & 0o777 == 0o600

    second = _demo(tmp_path)
    assert second == first
    assert _count(db, workspaces, DEMO_NAME) == 1
    assert _count(db, "SELECT count(*) FROM accounts_workspace") == 1
    assert _count(db, "SELECT count(*) FROM referrals_click") == clicks
    assert _count(db, "SELECT count(*) FROM referrals_referral") == referrals


def test_demo_with_a_new_data_dir_on_the_same_database_reissues_credentials(
    tmp_path: Path,
) -> None:
    # DATABASE_URL outlives the data dir (say PostgreSQL, and a container without a volume):
    # the second run cannot print the first credentials, and must not seed a second demo.
    db = tmp_path / "shared.sqlite3"
    runs = []
    for name in ("first", "second"):
        data_dir = tmp_path / name
        data_dir.mkdir()
        env = clean_env(data_dir, DATABASE_URL=f"sqlite:///{db}")
        run = run_goodword("demo", "--no-serve", env=env, cwd=data_dir)
        assert run.returncode == 0, run.stderr
        found = DEMO_OUTPUT.search(run.stdout)
        assert found is not None, run.stdout
        runs.append(found.groupdict())
    first, second = runs
    assert second["login"] == first["login"]
    assert second["key"] != first["key"]
    assert _count(db, "SELECT count(*) FROM accounts_workspace") == 1
    live_key = "SELECT count(*) FROM accounts_apikey WHERE key_hash = ? AND revoked_at IS NULL"
    assert _count(db, live_key, hash_key(second["key"])) == 1
    with sqlite3.connect(db) as conn:
        [(encoded,)] = conn.execute(
            "SELECT password FROM auth_user WHERE username = ?", (second["login"],)
        ).fetchall()
    assert check_password(second["password"], encoded)


# --- check -----------------------------------------------------------------------------------


def _secret_key() -> str:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(50))


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    env = clean_env(tmp_path, SITE_URL="https://refer.example.com", SECRET_KEY=_secret_key())
    run = run_goodword("check", "--deploy", "--fail-level", "WARNING", env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == "System check identified no issues (0 silenced).\n"
    assert "WARNING" not in run.stderr
    assert "?: (" not in run.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false, got 'maybe'"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must be a sqlite:// or postgres:// URL"),
        ("DATABASE_URL", "::nonsense::", "DATABASE_URL"),
        ("SITE_URL", "not-a-url", "SITE_URL must be an http(s) URL, got 'not-a-url'"),
        ("SITE_URL", "ftp://refer.example.com", "SITE_URL must be an http(s) URL"),
        ("SECRET_KEY", "short", "SECRET_KEY must be at least 32 characters long"),
        ("GOODWORD_SWEEP_SECONDS", "soon", "GOODWORD_SWEEP_SECONDS must be a number, got 'soon'"),
        ("GOODWORD_SWEEP_SECONDS", "0", "GOODWORD_SWEEP_SECONDS must be greater than zero"),
        ("EMAIL_URL", "carrier-pigeon://", "EMAIL_URL must start with console://"),
        ("EMAIL_URL", "postmark://", "EMAIL_URL for Postmark needs the server token before"),
        ("EMAIL_WEBHOOK_SECRET", "nocolon", "EMAIL_WEBHOOK_SECRET must be a user name and"),
    ],
)
def test_a_bad_setting_fails_check_naming_the_variable(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    run = run_goodword("check", env=clean_env(tmp_path, **{variable: value}), cwd=tmp_path)
    assert run.returncode != 0
    assert run.stdout == ""
    # The last line, where a reader looks first, says what to fix.
    last = run.stderr.strip().splitlines()[-1]
    assert message in last, run.stderr
    assert variable in last
