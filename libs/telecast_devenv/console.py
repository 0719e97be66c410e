"""The web console (``console/``) for ``make run`` and the tests: built when its sources
changed, and its API client generated from the gateway's OpenAPI document.

A build runs ``npm ci`` (from the committed lock file, when it changed) and ``npm run
build`` (the type check, then Vite), and leaves a stamp in ``console/dist``: like the
virtualenv's, it is older than a source only when a source changed since. Node 20 or newer
is needed; without it the API runs regardless and the gateway says at ``/`` that the
console is not built.

Usage: ``python -m telecast_devenv.console build`` (when needed) or ``client`` (regenerate
``console/src/api/schema.d.ts``; ``make console-client``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from telecast_devenv.infra import repo_root

MIN_NODE_MAJOR = 20
CONSOLE = repo_root() / "console"
DIST = CONSOLE / "dist"
STAMP = DIST / ".built"
CLIENT = CONSOLE / "src" / "api" / "schema.d.ts"
# What a build reads: a change to any of them makes the next one run.
SOURCES = (
    "src",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
)


class ConsoleBuildError(RuntimeError):
    """The console could not be built; the message says why, in words."""


def node_problem() -> str | None:
    """Why Node cannot build the console here, or None when it can."""
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        return f"Node.js {MIN_NODE_MAJOR} or newer (with npm) is not installed"
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    match = re.match(r"v(\d+)\.", version)
    if not match or int(match.group(1)) < MIN_NODE_MAJOR:
        return f"Node.js {MIN_NODE_MAJOR} or newer is needed, this machine has {version or 'none'}"
    return None


def _newest_source() -> float:
    newest = 0.0
    for name in SOURCES:
        path = CONSOLE / name
        files = path.rglob("*") if path.is_dir() else [path]
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def is_current() -> bool:
    return STAMP.is_file() and STAMP.stat().st_mtime >= _newest_source()


def _npm(*args: str) -> None:
    done = subprocess.run(["npm", *args], cwd=CONSOLE, capture_output=True, text=True)
    if done.returncode != 0:
        raise ConsoleBuildError(f"npm {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def install_dependencies() -> None:
    """``npm ci`` when node_modules is missing or older than the lock file."""
    installed = CONSOLE / "node_modules" / ".package-lock.json"
    lock = CONSOLE / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        _npm("ci", "--no-audit", "--no-fund")


def build() -> bool:
    """Build the console unless the last build is current; True when it built."""
    problem = node_problem()
    if problem:
        raise ConsoleBuildError(problem)
    if is_current():
        return False
    install_dependencies()
    _npm("run", "build")
    STAMP.touch()
    return True


def openapi_document() -> bytes:
    """The document the gateway serves at /schema/openapi.json, made without a platform."""
    from litestar.serialization import encode_json

    from telecast_gateway.app import create_app
    from telecast_gateway.settings import GatewaySettings
    from telecast_libs.settings import load_settings

    settings = load_settings(
        GatewaySettings,
        {"DATABASE_URL": "postgresql://openapi@localhost/x", "TELECAST_ENV": "development"},
    )
    document = json.loads(encode_json(create_app(settings).openapi_schema.to_schema()))
    return json.dumps(document, indent=2, sort_keys=True).encode()


def generate_client(target: Path = CLIENT) -> None:
    """Write the TypeScript types of the API (openapi-typescript) to ``target``."""
    install_dependencies()
    with tempfile.TemporaryDirectory() as folder:
        document = Path(folder) / "openapi.json"
        document.write_bytes(openapi_document())
        _npm("exec", "--", "openapi-typescript", str(document), "-o", str(target))


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "build"
    try:
        if command == "client":
            generate_client()
            print(f"wrote {CLIENT.relative_to(repo_root())}")
        elif command == "build":
            print("console built" if build() else "console up to date")
        else:
            print("usage: python -m telecast_devenv.console [build|client]", file=sys.stderr)
            return 2
    except ConsoleBuildError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
