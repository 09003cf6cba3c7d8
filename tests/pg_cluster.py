"""A throw-away PostgreSQL cluster for the test suite: `python -m tests.pg_cluster CMD...`.

Creates a primary server with the system's `initdb` and `pg_ctl` in a fresh temporary
directory, on a free loopback port (TCP on 127.0.0.1 and a Unix socket inside the data
directory, nothing else), then a streaming hot standby of it (`pg_basebackup -R`, as the
README's "More than one machine" tells operators) on another free port. It runs CMD with
`DATABASE_URL` pointing at the primary and `STEMSITE_TEST_CLUSTER` describing both
servers (see `servers_from_env`; the replica tests use it), and stops and deletes both afterwards
whatever CMD did (failure, Ctrl-C). Exits with CMD's status.

`initdb` refuses to run as root, so when this runs as root (CI does) the cluster
belongs to the unprivileged `postgres` user that Debian's package creates, and the
servers run as that user through `runuser`. That user must be able to reach the data
directory, which a checkout in a private directory (root's home is `0700`) does not
allow: so the cluster never lives inside the checkout, but in a temporary directory
(owned by `postgres` when running as root) under the first of `$TMPDIR`, `/tmp` and
`/var/tmp` that its owner can reach. If the cluster cannot start, one line says why.

Without PostgreSQL installed it runs nothing and exits 0 after one line saying how
to install it, unless `CI` is set: then it fails, since CI must run every test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
INSTALL_HINT = "PostgreSQL is not installed: `apt-get install postgresql` runs these tests too."
DATABASE = "stemsite"
INITDB_OPTIONS = ("--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
# The options the README gives operators for a standby: write the recovery settings
# (-R), stream the WAL the copy needs (-X stream), and start at once (-c fast).
BASEBACKUP_OPTIONS = ("-R", "-X", "stream", "-c", "fast")
CLUSTER_ENV = "STEMSITE_TEST_CLUSTER"


class ClusterError(Exception):
    """The cluster could not be set up; the message is one line saying why."""


def find_binary(name: str) -> str | None:
    """`initdb` and `pg_ctl` are not on PATH in Debian's package: look in its bin dir too."""
    for directory in BIN_DIRS:
        if (directory / name).is_file():
            return str(directory / name)
    return shutil.which(name)


def installed() -> bool:
    return all(find_binary(name) for name in ("initdb", "pg_ctl", "postgres", "pg_basebackup"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _owner() -> pwd.struct_passwd:
    """Who owns and runs the cluster: `postgres` as root, else whoever runs this."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterError(
            "running as root needs a `postgres` user to own the cluster (initdb refuses "
            "root); `apt-get install postgresql` creates it"
        ) from None


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def reachable(path: Path, user: pwd.struct_passwd) -> bool:
    """Whether `user` may enter `path` and every directory above it."""
    groups = {user.pw_gid, *os.getgrouplist(user.pw_name, user.pw_gid)}
    for directory in (path, *path.parents):
        try:
            info = directory.stat()
        except OSError:
            return False
        if user.pw_uid == 0:
            continue
        if info.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        elif info.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def make_base(owner: pwd.struct_passwd) -> Path:
    """A new private directory that `owner` owns and can reach."""
    candidates = dict.fromkeys([Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp")])
    for parent in candidates:
        if parent.is_dir() and reachable(parent, owner):
            base = Path(tempfile.mkdtemp(prefix="stemsite-pgtest-", dir=parent))
            os.chown(base, owner.pw_uid, owner.pw_gid)
            return base
    tried = ", ".join(str(p) for p in candidates)
    raise ClusterError(f"the {owner.pw_name} user can reach none of {tried}")


def _run(command: list[str], what: str, log: Path | None = None) -> None:
    """Run as the cluster's owner; on failure raise one line: the tool's last words."""
    try:
        # From "/": the owner may not be allowed into the caller's working directory.
        done = subprocess.run(
            _as_owner(command), capture_output=True, text=True, timeout=120, cwd="/"
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"{what} failed: {exc}") from None
    if done.returncode == 0:
        return
    output = (done.stderr or "") + (done.stdout or "")
    if log is not None and log.is_file():
        output += log.read_text(errors="replace")
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    # The server's log says FATAL or ERROR; the tools put the reason on their first line.
    reason = next((ln for ln in reversed(lines) if "FATAL" in ln or "ERROR" in ln), None)
    raise ClusterError(f"{what} failed: {reason or (lines[0] if lines else 'no output')}")


@dataclasses.dataclass
class Server:
    """One PostgreSQL server of the test cluster, started and stopped as its owner."""

    data: Path
    port: int
    log: Path
    user: str

    def url(self, database: str = DATABASE) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def configure(self, server: dict[str, str] | None = None) -> None:
        """Its own port and socket, written where `pg_ctl start` alone finds them; `server`
        overrides settings, e.g. `{"max_connections": "10"}` (the bench loads a large
        fixture on a small server too)."""
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.data}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "max_connections": "100",
            "shared_buffers": "64MB",
            **(server or {}),
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/pg_cluster.py\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        pg_ctl = find_binary("pg_ctl")
        _run(
            [pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "start"],
            "pg_ctl start",
            self.log,
        )

    def stop(self) -> None:
        pg_ctl = find_binary("pg_ctl")
        subprocess.run(
            _as_owner([pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            cwd="/",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def servers_from_env() -> tuple[Server, Server] | None:
    """The primary and standby that `python -m tests.pg_cluster` started, if it did."""
    raw = os.environ.get(CLUSTER_ENV)
    if not raw:
        return None
    found = [
        Server(Path(fields["data"]), int(fields["port"]), Path(fields["log"]), fields["user"])
        for fields in (json.loads(raw)[role] for role in ("primary", "standby"))
    ]
    return found[0], found[1]


@contextlib.contextmanager
def servers(
    standby: bool = True, server: dict[str, str] | None = None
) -> Iterator[tuple[Server, Server | None]]:
    """Start a fresh primary (and a hot standby of it); both stopped and removed on exit.
    `server` overrides the primary's settings."""
    owner = _owner()
    base = make_base(owner)
    started: list[Server] = []
    try:
        primary = Server(base / "primary", free_port(), base / "primary.log", owner.pw_name)
        initdb = find_binary("initdb")
        _run([initdb, "-D", str(primary.data), "-U", owner.pw_name, *INITDB_OPTIONS], "initdb")
        primary.configure(server)
        primary.start()
        started.append(primary)
        bin_dir = Path(find_binary("pg_ctl")).parent
        _run(
            [
                str(bin_dir / "createdb"),
                "-h",
                str(primary.data),
                "-p",
                str(primary.port),
                "-U",
                owner.pw_name,
                DATABASE,
            ],
            "createdb",
        )
        replica = None
        if standby:
            replica = Server(base / "standby", free_port(), base / "standby.log", owner.pw_name)
            _run(
                [
                    find_binary("pg_basebackup"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(primary.port),
                    "-U",
                    owner.pw_name,
                    "-D",
                    str(replica.data),
                    *BASEBACKUP_OPTIONS,
                ],
                "pg_basebackup",
            )
            replica.configure()  # the copy carries the primary's port: give it its own
            replica.start()
            started.append(replica)
        yield primary, replica
    finally:
        for server in reversed(started):
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def cluster(server: dict[str, str] | None = None) -> Iterator[str]:
    """A fresh primary alone; yields its DATABASE_URL (the benchmarks use this)."""
    with servers(standby=False, server=server) as (primary, _):
        yield primary.url()


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
    try:
        with servers() as (primary, standby):
            print(
                f"PostgreSQL test cluster at {primary.url()}, hot standby on port "
                f"{standby.port} (started in {time.monotonic() - started:.1f}s)"
            )
            env = {
                **os.environ,
                "DATABASE_URL": primary.url(),  # SEARCH_BACKEND defaults to postgres
                CLUSTER_ENV: json.dumps(
                    {
                        "primary": dataclasses.asdict(primary),
                        "standby": dataclasses.asdict(standby),
                    },
                    default=str,
                ),
            }
            return subprocess.run(argv, env=env).returncode
    except ClusterError as exc:
        print(f"The PostgreSQL test cluster could not start: {exc}.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
