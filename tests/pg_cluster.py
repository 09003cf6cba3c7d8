"""A throw-away PostgreSQL cluster for the test suite: `python -m tests.pg_cluster CMD...`.

Creates a cluster under `var/pgtest/` with the system's `initdb` and `pg_ctl`, on a
free loopback port (TCP on 127.0.0.1 and a Unix socket inside the data directory,
nothing else), runs CMD with `DATABASE_URL` pointing at it, and stops and deletes the
cluster afterwards whatever CMD did (failure, Ctrl-C). Exits with CMD's status.

`initdb` refuses to run as root, so when this runs as root (CI does) the cluster
belongs to the unprivileged `postgres` user that Debian's package creates, and the
server runs as that user through `runuser`.

Without PostgreSQL installed it runs nothing and exits 0 after one line saying how
to install it, unless `CI` is set: then it fails, since CI must run every test.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
INSTALL_HINT = "PostgreSQL is not installed: `apt-get install postgresql` runs these tests too."
DATABASE = "stemsite"
INITDB_OPTIONS = ("--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")


def find_binary(name: str) -> str | None:
    """`initdb` and `pg_ctl` are not on PATH in Debian's package: look in its bin dir too."""
    for directory in BIN_DIRS:
        if (directory / name).is_file():
            return str(directory / name)
    return shutil.which(name)


def installed() -> bool:
    return all(find_binary(name) for name in ("initdb", "pg_ctl", "postgres"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextlib.contextmanager
def cluster(base: Path | None = None, server: dict[str, str] | None = None) -> Iterator[str]:
    """Start a fresh cluster and yield its DATABASE_URL; stopped and removed on exit.

    `server` overrides server settings, e.g. `{"max_connections": "10"}` (the bench
    loads a large fixture on a small server too)."""
    base = base or ROOT / "var" / f"pgtest-{os.getpid()}"
    data = base / "data"
    shutil.rmtree(base, ignore_errors=True)
    data.mkdir(parents=True)
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (base, data):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
    subprocess.run(
        _as_owner([find_binary("initdb"), "-D", str(data), "-U", user, *INITDB_OPTIONS]),
        check=True,
        **quiet,
    )
    port = _free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={data} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c max_connections=100 -c shared_buffers=64MB"
    ) + "".join(f" -c {name}={value}" for name, value in (server or {}).items())
    pg_ctl = find_binary("pg_ctl")
    subprocess.run(
        _as_owner([pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"]),
        check=True,
        **quiet,
    )
    try:
        subprocess.run(
            _as_owner(
                [
                    str(Path(pg_ctl).parent / "createdb"),
                    "-h",
                    str(data),
                    "-p",
                    str(port),
                    "-U",
                    user,
                    DATABASE,
                ]
            ),
            check=True,
            **quiet,
        )
        yield f"postgres://{user}@127.0.0.1:{port}/{DATABASE}"
    finally:
        subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]), **quiet)
        shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m tests.pg_cluster COMMAND [ARGS...]", file=sys.stderr)
        return 2
    if not installed():
        if os.environ.get("CI"):
            print(f"CI needs PostgreSQL. {INSTALL_HINT}", file=sys.stderr)
            return 1
        print(f"Skipping the PostgreSQL run. {INSTALL_HINT}")
        return 0
    # A SIGTERM (CI cancelling the job) must stop the cluster too: make it an exception.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    with cluster() as url:
        print(f"PostgreSQL test cluster at {url} (started in {time.monotonic() - started:.1f}s)")
        env = {**os.environ, "DATABASE_URL": url}  # SEARCH_BACKEND defaults to postgres
        return subprocess.run(argv, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
