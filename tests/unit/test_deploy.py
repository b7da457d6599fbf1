"""The deployment files agree with the code (Docker is not available here, so everything else is checked):

* every `perparb ...` command of docker-compose.yml, the Dockerfile and the systemd units parses with the real
  Typer app (commands, options, values), and the strategy configs the runners name exist and validate;
* every PERPARB_* variable they set is a setting perparb reads (a typo would silently keep a default);
* Prometheus scrapes exactly the ports the services open, on host names the API answers;
* the Grafana dashboard is the generator's output, references only series perparb exports (plus Prometheus's
  own `up`) and shows every one of them; its datasource and folder match the provisioning files;
* the image runs as a non-root user, with `perparb` as entry point and a curl-free health check.

The image's commands are also run for real in tests/integration/test_deploy_image.py.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from typing import Any

import pytest
import tomli
import typer
import yaml

import perparb.cli
from perparb.settings import known_env_keys
from perparb_core.metrics import METRICS, exported_names
from strategies.config import load_config
from tests.deploy_checks import (
    ROOT,
    dockerfile_instructions,
    exec_form,
    find_command,
    interpolate,
    load_compose,
    option,
    parse_command,
    perparb_services,
    promql_series,
)

ENV = {"POSTGRES_PASSWORD": "example-password"}
PROMETHEUS_OWN = {"up"}
"""Series Prometheus itself records for each target; the dashboard may use them."""


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose(ENV)


# --------------------------------------------------------------------------------------- the checks' helpers


def test_parse_command_refuses_what_perparb_refuses() -> None:
    path, params = parse_command(["collect", "--metrics-port", "9101", "--metrics-host", "0.0.0.0"])
    assert path == ["collect"] and params["metrics_port"] == 9101 and params["metrics_host"] == "0.0.0.0"
    assert parse_command(["db", "upgrade"])[0] == ["db", "upgrade"]
    for bad, why in (
        (["collect", "--metrics-prt", "9101"], "No such option: --metrics-prt"),
        (["collect", "--metrics-port", "0"], "--metrics-port"),
        (["colect"], "no such command"),
        (["db"], "needs a subcommand"),
        (["run", "x.yaml"], "--account"),
        (["serve", "--port", "http"], "--port"),
    ):
        with pytest.raises(ValueError, match=re.escape(why)):
            parse_command(bad)


def test_interpolation_as_compose_does_it() -> None:
    env = {"A": "1", "E": ""}
    assert interpolate("${A}-${B:-two}-${E:-three}-${E-four}-$A-$$", env) == "1-two-three--1-$"
    with pytest.raises(KeyError, match="B: set B"):
        interpolate("${B:?set B}", env)
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        load_compose({})


def test_promql_series_extraction() -> None:
    assert promql_series(
        'sum by (venue, kind) (rate(perparb_venue_errors_total{venue=~"a|b"}[5m])) * 60'
    ) == {"perparb_venue_errors_total"}
    assert promql_series(
        "histogram_quantile(0.95, sum by (le) (rate(x_bucket[15m]))) / on (job) group_left(instance) up"
    ) == {"x_bucket", "up"}
    assert promql_series("label_values(perparb_run_equity_usd, account)") == {"perparb_run_equity_usd"}
    assert promql_series('max(a{k="v"} offset 5m) or vector(0)') == {"a"}


# ------------------------------------------------------------------------------------------------- compose


def test_compose_services_run_commands_that_exist(compose: dict[str, Any]) -> None:
    services = perparb_services(compose)
    assert {"migrate", "collector", "api", "runner-funding-arbitrage", "runner-grid"} <= set(services)
    commands = {name: parse_command([str(a) for a in s["command"]]) for name, s in services.items()}
    assert commands["migrate"][0] == ["db", "upgrade"]
    assert commands["collector"][0] == ["collect"] and commands["collector"][1]["metrics_port"] == 9101
    assert commands["api"][0] == ["serve"] and commands["api"][1]["host"] == "0.0.0.0"
    runners = {n: c for n, c in commands.items() if c[0] == ["run"]}
    assert len(runners) == 2
    ports = [c[1]["metrics_port"] for n, c in commands.items() if c[1].get("metrics_port")]
    assert len(ports) == len(set(ports)), "two services share a metrics port"
    for name, (_path, params) in runners.items():
        service = services[name]
        assert params["account"] and not params["paper"] and params["metrics_host"] == "0.0.0.0"
        assert service["profiles"] == ["trading"], f"{name}: live trading must be opt-in"
        # the config file the runner names is in the mounted folder and validates
        mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
        folder, file = str(params["file"]).rsplit("/", 1)
        host = ROOT / mounts[folder] / file
        assert host.is_file(), f"{name}: {params['file']} is not {host}"
        load_config(host)
        assert service["environment"]["PERPARB_MASTER_KEY_FILE"] == "/run/secrets/perparb_master_key"
        assert "perparb_master_key" in service["secrets"]
    for name, service in services.items():
        if name != "migrate":
            assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
    assert services["migrate"]["restart"] == "no"
    assert compose["services"]["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_settings_are_known_and_secrets_are_files(compose: dict[str, Any]) -> None:
    known = known_env_keys()
    for name, service in perparb_services(compose).items():
        env = service["environment"]
        unknown = {k for k in env if k.startswith("PERPARB_") and k not in known}
        assert not unknown, f"{name}: {unknown} are not perparb settings"
        assert (
            env["DATABASE_URL"].startswith("postgresql+asyncpg://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["DATABASE_URL"].split(":")[2].split("@")[0] == ENV["POSTGRES_PASSWORD"]
        assert not {k for k in env if k in ("PERPARB_API_TOKEN", "PERPARB_MASTER_KEY")}, (
            f"{name}: secrets go in files (*_FILE), not in the environment"
        )
    api = compose["services"]["api"]
    assert api["environment"]["PERPARB_API_TOKEN_FILE"] == "/run/secrets/perparb_api_token"
    for name, spec in compose["secrets"].items():
        assert spec["file"].startswith("./secrets/"), name
    assert "secrets/" in (ROOT / ".gitignore").read_text().split()
    assert "secrets" in (ROOT / ".dockerignore").read_text().split()
    for name, service in compose["services"].items():
        for secret in service.get("secrets", []):
            assert secret in compose["secrets"], f"{name}: undeclared secret {secret}"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is published beyond loopback"


def test_compose_healthchecks_ask_the_ports_the_commands_open(compose: dict[str, Any]) -> None:
    for name, service in perparb_services(compose).items():
        args = [str(a) for a in service["command"]]
        check = service.get("healthcheck", {})
        if name == "migrate":
            assert check == {"disable": True}
            continue
        if name == "api":
            assert "test" not in check  # the image's HEALTHCHECK: /api/v1/health on PERPARB_API_PORT (8000)
            assert option(args, "--port") == "8000"
            continue
        test = check["test"]
        assert test[:4] == ["CMD", "python", "-m", "perparb.healthcheck"], name
        assert test[4] == f"http://127.0.0.1:{option(args, '--metrics-port')}/metrics", name


# ---------------------------------------------------------------------------------------------- prometheus


def test_prometheus_scrapes_every_port_the_services_open(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    targets = {
        t for job in config["scrape_configs"] for group in job["static_configs"] for t in group["targets"]
    }
    assert all(job.get("metrics_path", "/metrics") == "/metrics" for job in config["scrape_configs"])
    opened = set()
    for name, service in perparb_services(compose).items():
        args = [str(a) for a in service["command"]]
        if args[0] == "serve":
            opened.add(f"{name}:{option(args, '--port')}")
            hosts = service["environment"]["PERPARB_API_ALLOWED_HOSTS"].split(",")
            assert name in hosts, f"the API would refuse Prometheus's Host header {name!r}"
        elif option(args, "--metrics-port"):
            opened.add(f"{name}:{option(args, '--metrics-port')}")
    assert targets == opened
    mounted = compose["services"]["prometheus"]["volumes"][0]
    assert mounted.startswith("./deploy/prometheus.yml:")


# ------------------------------------------------------------------------------------------------- grafana


def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("make_dashboard", ROOT / "deploy/grafana/make_dashboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dashboard_exprs(board: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in board["templating"]["list"] if v["type"] == "query"]
    return exprs


def test_grafana_dashboard_is_the_generators_output() -> None:
    committed = json.loads((ROOT / "deploy/grafana/dashboards/perparb.json").read_text())
    assert committed == load_generator().dashboard(), (
        "regenerate: python deploy/grafana/make_dashboard.py > deploy/grafana/dashboards/perparb.json"
    )


def test_grafana_dashboard_references_only_exported_series() -> None:
    board = json.loads((ROOT / "deploy/grafana/dashboards/perparb.json").read_text())
    exported = exported_names()
    used: set[str] = set()
    for expr in dashboard_exprs(board):
        names = promql_series(expr)
        assert names, f"no series found in {expr!r}"
        unknown = names - exported - PROMETHEUS_OWN
        assert not unknown, f"{expr!r} references {unknown}, which perparb does not export"
        used |= names
    # every metric perparb defines is on the dashboard (a histogram through any of its samples)
    for metric in METRICS:
        for family in metric.describe():
            samples = {n for n in exported if n == family.name or n.startswith(family.name + "_")}
            assert samples & used, f"{family.name} is on no panel"


def test_grafana_provisioning_matches_the_dashboard(compose: dict[str, Any]) -> None:
    board = json.loads((ROOT / "deploy/grafana/dashboards/perparb.json").read_text())
    sources = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    uids = {d["uid"] for d in sources["datasources"]}
    assert {p["datasource"]["uid"] for p in board["panels"] if "datasource" in p} <= uids
    assert (
        sources["datasources"][0]["url"] == "http://prometheus:9090" and "prometheus" in compose["services"]
    )
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/perparb.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    volumes = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{path}:ro" in volumes
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for p in board["panels"]:
        pos = p["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, p["title"]


# -------------------------------------------------------------------------------------------------- image


def test_dockerfile_runs_perparb_as_a_user_with_a_health_check() -> None:
    steps = dockerfile_instructions()
    froms = [args for word, args in steps if word == "FROM"]
    assert froms and all(f.startswith("python:3.10-slim") for f in froms)
    final = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM") :]
    users = [args for word, args in final if word == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image must not run as root"
    entry = exec_form(next(args for word, args in final if word == "ENTRYPOINT"))
    cmd = exec_form(next(args for word, args in final if word == "CMD"))
    scripts = tomli.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry == ["perparb"] and scripts["perparb"] == "perparb.cli:main"
    assert parse_command(cmd)[0] == ["serve"]
    health = next(args for word, args in final if word == "HEALTHCHECK")
    assert "curl" not in health and "wget" not in health
    assert exec_form(health.split("CMD", 1)[1]) == ["python", "-m", "perparb.healthcheck"]
    assert not any(w in ("ADD",) for w, _ in steps), "COPY only: no remote ADD"
    secrets = [a for w, a in steps if w in ("ENV", "ARG") and re.search(r"TOKEN|MASTER_KEY=|PASSWORD", a)]
    assert not secrets, f"secrets in the image: {secrets}"


# ------------------------------------------------------------------------------------------------- systemd


def systemd_units() -> dict[str, dict[str, list[str]]]:
    units = {}
    for path in sorted((ROOT / "deploy/systemd").glob("*.service")):
        keys: dict[str, list[str]] = {}
        for line in path.read_text().splitlines():
            if "=" in line and not line.startswith(("#", "[")):
                key, _, value = line.partition("=")
                keys.setdefault(key.strip(), []).append(value.strip())
        units[path.name] = keys
    return units


def test_systemd_units_run_commands_that_exist() -> None:
    units = systemd_units()
    assert {"perparb-migrate.service", "perparb-collector.service", "perparb-api.service"} <= set(units)
    assert "perparb-runner@.service" in units
    known = known_env_keys()
    example = {"%i": "funding_arbitrage", "${RUN_ACCOUNT}": "main", "${METRICS_PORT}": "9102", "%d": "/run/c"}
    seen = set()
    for name, keys in units.items():
        assert keys["User"] == ["perparb"], f"{name} must not run as root"
        (start,) = keys["ExecStart"]
        for placeholder, value in example.items():
            start = start.replace(placeholder, value)
        words = start.split()
        assert words[0] == "/opt/perparb/.venv/bin/perparb", name
        path, params = parse_command(words[1:])
        seen.add(path[0])
        if path == ["run"]:
            assert str(params["file"]) == "/etc/perparb/configs/funding_arbitrage.yaml"
            assert "LoadCredential" in keys and "PERPARB_MASTER_KEY_FILE=%d/master.key" in keys["Environment"]
        for env in keys.get("Environment", []):
            key = env.split("=", 1)[0]
            assert key in known, f"{name}: {key} is not a perparb setting"
    assert seen == {"db", "collect", "serve", "run"}
    api = units["perparb-api.service"]
    assert "PERPARB_API_TOKEN_FILE=%d/api_token" in api["Environment"]
    assert not any("TOKEN=" in e and "FILE" not in e for e in api["Environment"])


def test_ci_installs_the_browser() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert "apt-get install -y --no-install-recommends chromium" in script
    assert script.index("install -y --no-install-recommends chromium") < script.rindex("\nmake test")
    dev = tomli.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    assert any(d.startswith("playwright") for d in dev)
    result = subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_docs_name_every_metric_and_deployment_file() -> None:
    text = (ROOT / "docs" / "operations.md").read_text()
    for metric in METRICS:
        for family in metric.describe():
            name = family.name + ("_total" if family.type == "counter" else "")
            assert f"`{name}`" in text, f"docs/operations.md does not explain {name}"
    for file in ("docker-compose.yml", "Dockerfile", "deploy/prometheus.yml", "deploy/systemd/", "pg_dump"):
        assert file in text
    # every `perparb COMMAND` the page names exists (for a group, `perparb GROUP COMMAND`)
    app: Any = typer.main.get_command(perparb.cli.app)
    groups = {name for name, cmd in app.commands.items() if hasattr(cmd, "get_command")}
    named = re.findall(r"`perparb ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", text)
    assert {"serve", "backtest", "db", "collect", "run", "pause"} <= {first for first, _ in named}
    for first, second in named:
        find_command([first, second] if first in groups else [first])
