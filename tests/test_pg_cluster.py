"""The PostgreSQL test cluster (`tests/pg_cluster.py`) starts wherever the checkout lives.

Root's home is `0700`, so a checkout there cannot hold a cluster that the `postgres`
user runs: the cluster lives in a temporary directory its owner can reach, and when it
cannot start, one line says why. These start clusters of their own, so they run in the
PostgreSQL pass of `make test`, where PostgreSQL is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests import pg_cluster

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent

# Runs inside the cluster: the primary answers, and the standby is a hot standby of it.
PROBE = """
import json, os, psycopg
standby = json.loads(os.environ["STEMSITE_TEST_CLUSTER"])["standby"]
with psycopg.connect(os.environ["DATABASE_URL"]) as primary:
    print("primary in recovery:", primary.execute("SELECT pg_is_in_recovery()").fetchone()[0])
url = os.environ["DATABASE_URL"].rsplit(":", 1)[0] + f":{standby['port']}/stemsite"
with psycopg.connect(url) as replica:
    print("standby in recovery:", replica.execute("SELECT pg_is_in_recovery()").fetchone()[0])
"""


def private_checkout(tmp_path: Path) -> Path:
    """The cluster script in a checkout inside a `0700` directory, as in root's home."""
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o700)
    checkout = home / "stemsite"
    (checkout / "tests").mkdir(parents=True)
    for name in ("__init__.py", "pg_cluster.py"):
        shutil.copy(ROOT / "tests" / name, checkout / "tests" / name)
    return checkout


def run_cluster(checkout: Path, code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", pg_cluster.CLUSTER_ENV)}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_cluster_runs_from_a_checkout_in_a_0700_directory(tmp_path):
    checkout = private_checkout(tmp_path)
    done = run_cluster(
        checkout,
        "import sys; from tests import pg_cluster; "
        f"sys.exit(pg_cluster.main([sys.executable, '-c', {PROBE!r}]))",
    )
    assert done.returncode == 0, done.stderr
    assert "primary in recovery: False" in done.stdout
    assert "standby in recovery: True" in done.stdout
    assert not list(checkout.rglob("postmaster.pid")), "the cluster must not live in the checkout"


def test_a_cluster_that_cannot_start_says_why_in_one_line(tmp_path):
    checkout = private_checkout(tmp_path)
    done = run_cluster(
        checkout,
        "import sys; from tests import pg_cluster; "
        "pg_cluster.INITDB_OPTIONS += ('--no-such-option',); "
        "sys.exit(pg_cluster.main(['true']))",
    )
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("The PostgreSQL test cluster could not start: initdb failed: ")
    assert line.endswith("initdb: unrecognized option '--no-such-option'.")


def test_the_cluster_directory_is_one_its_owner_can_reach(tmp_path, monkeypatch):
    private = tmp_path / "private"
    private.mkdir()
    private.chmod(0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    owner = pg_cluster._owner()
    base = pg_cluster.make_base(owner)
    try:
        assert pg_cluster.reachable(base, owner)
        assert base.stat().st_uid == owner.pw_uid
        if os.geteuid() == 0:  # root's private directory is no place for `postgres`'s files
            assert private not in base.parents
    finally:
        shutil.rmtree(base)
