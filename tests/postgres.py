"""A throwaway PostgreSQL cluster in a temp dir: the real-server destination for tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_BIN_DIRS = (
    "/usr/lib/postgresql/15/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/17/bin",
)
START_TIMEOUT_S = "30"


def find_pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, from PATH or Debian's usual places."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    for folder in PG_BIN_DIRS:
        if (Path(folder) / "initdb").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: run it as the `postgres` (or `nobody`) user then.
    if os.geteuid() != 0:
        return cmd
    user = "postgres" if shutil.which("id") and _user_exists("postgres") else "nobody"
    return ["runuser", "-u", user, "--", *cmd]


def _user_exists(name: str) -> bool:
    return subprocess.run(["id", name], capture_output=True).returncode == 0


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a cluster on a free loopback port; yield its URL; stop and delete it after."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found")
    root = Path(tempfile.mkdtemp(prefix="restsync-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        user = "postgres" if _user_exists("postgres") else "nobody"
        shutil.chown(root, user=user)
    port = _free_port()

    def run(*args: str) -> None:
        command = _as_owner([str(bin_dir / args[0]), *args[1:]])
        subprocess.run(command, check=True, capture_output=True)

    run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = str(root / "server.log")  # the server must not hold our pipes open
    run("pg_ctl", "-D", str(data), "-l", log, "-o", options, "-w", "-t", START_TIMEOUT_S, "start")
    try:
        yield f"postgresql://postgres:postgres@127.0.0.1:{port}/postgres"  # trust auth
    finally:
        run("pg_ctl", "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)
