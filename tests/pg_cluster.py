"""A throwaway PostgreSQL cluster for the test run: free port on 127.0.0.1, its own data
directory, initdb as the `postgres` user when running as root, stopped at the end."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def find_bindir() -> Path | None:
    for candidate in [shutil.which("pg_ctl")] + sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True):
        if candidate and Path(candidate).exists():
            return Path(os.path.realpath(candidate)).parent
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="yibao-pg-"))
        self.datadir = self.base / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.running = False

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.base)

    def start(self) -> Cluster:
        if self.as_postgres:
            shutil.chown(self.base, "postgres", "postgres")
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")
        options = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.datadir), "-o", options, "-l", str(self.base / "server.log"),
                  "-w", "start")
        self.running = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.running:
            try:
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
            finally:
                self.running = False
        shutil.rmtree(self.base, ignore_errors=True)
