"""The dispatch-centre deployment files: docker-compose.yml, Dockerfile, deploy/mosquitto.

No Docker engine runs here, so docker-compose.yml is checked against the Compose
Specification's JSON schema (../shared/schemas/compose-spec.json) and against the project's own
rules (secrets only by reference, every built service has a command, mounted files exist). The
broker's configuration and ACL are checked both by reading them and on a real mosquitto.
"""

from __future__ import annotations

import copy
import getpass
import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from jsonschema.validators import validator_for
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"
SCHEMA_FILE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "schemas" / "compose-spec.json"
)
MOSQUITTO_DIR = REPO / "deploy" / "mosquitto"
MOSQUITTO_CONF = MOSQUITTO_DIR / "mosquitto.conf"
ACL_FILE = MOSQUITTO_DIR / "acl"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"

# ${VAR}, ${VAR:?message}, ${VAR?message}, ${VAR:-default}, ${VAR-default}
REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")
REQUIRED_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):?\?[^}]*\}")
URL_USERINFO = re.compile(r"://[^/:@\s]+:(?P<password>[^@\s]*)@")


# -- loading ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services = compose.get("services")
    assert isinstance(services, dict)
    assert services, "docker-compose.yml defines no services"
    return services


def environment(service: dict[str, Any]) -> dict[str, Any]:
    """A service's environment as a mapping (Compose allows a mapping or a list of K=V)."""
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return dict(env)
    result: dict[str, Any] = {}
    for item in env:
        key, sep, value = str(item).partition("=")
        result[key] = value if sep else None
    return result


def schema_validator_class(schema: dict[str, Any]) -> type[Any]:
    """The validator class named by the schema's $schema.

    The compose-spec declares "https://json-schema.org/draft-07/schema" (https, no trailing
    '#'), which jsonschema's registry knows only as "http://json-schema.org/draft-07/schema#".
    """
    declared = schema.get("$schema")
    assert isinstance(declared, str), "compose-spec.json declares no $schema"
    candidates = [declared]
    normalised = re.sub(r"^https://", "http://", declared)
    candidates += [normalised, normalised.rstrip("#") + "#"]
    for uri in candidates:
        cls = validator_for({"$schema": uri}, default=None)  # type: ignore[arg-type]
        if cls is not None:
            return cls
    pytest.fail(f"jsonschema knows no validator for $schema {declared!r}")


@pytest.fixture(scope="module")
def compose_validator() -> Any:
    assert SCHEMA_FILE.is_file(), (
        f"{SCHEMA_FILE} is missing: CI runs with ../shared beside the repository"
    )
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    cls = schema_validator_class(schema)
    cls.check_schema(schema)
    return cls(schema)


# -- docker-compose.yml ----------------------------------------------------------------------


def test_compose_file_matches_the_compose_specification(
    compose: dict[str, Any], compose_validator: Any
) -> None:
    errors = sorted(compose_validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
    )


def test_schema_validation_catches_a_broken_compose_file(
    compose: dict[str, Any], compose_validator: Any
) -> None:
    """The schema check above is not vacuous: typical mistakes are reported."""
    name = next(iter(compose["services"]))
    misspelt = copy.deepcopy(compose)
    misspelt["services"][name]["comand"] = "python -m server"
    assert not compose_validator.is_valid(misspelt)
    bad_ports = copy.deepcopy(compose)
    bad_ports["services"][name]["ports"] = {"8000": "8000"}
    assert not compose_validator.is_valid(bad_ports)


def test_expected_services_are_defined(services: dict[str, dict[str, Any]]) -> None:
    expected = {"mosquitto", "influxdb", "postgres", "server-1", "server-2", "gateway"}
    expected |= {"firmware-sim"}
    assert expected <= set(services)


def test_every_built_service_has_a_command(services: dict[str, dict[str, Any]]) -> None:
    built = {name: svc for name, svc in services.items() if "build" in svc}
    assert built, "no service is built from the Dockerfile"
    for name, svc in built.items():
        assert svc.get("command"), f"service {name} is built from the Dockerfile but has no command"


def test_servers_run_the_server_and_wait_for_their_dependencies(
    services: dict[str, dict[str, Any]],
) -> None:
    published: set[str] = set()
    for name in ("server-1", "server-2"):
        svc = services[name]
        command = svc["command"]
        if isinstance(command, str):
            command = command.split()
        assert command == ["python", "-m", "server"], name
        depends = svc["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["mosquitto"]["condition"] == "service_started", name
        env = environment(svc)
        assert env["SERVER_MQTT_HOST"] == "mosquitto"
        assert env["SERVER_MQTT_USERNAME"] == "server"
        published.update(str(port).split(":")[0] for port in svc["ports"])
    assert published == {"8000", "8001"}


def test_service_healthy_dependencies_have_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, svc in services.items():
        depends = svc.get("depends_on") or {}
        if not isinstance(depends, dict):
            continue
        for dep, spec in depends.items():
            assert dep in services, f"{name} depends on undefined service {dep}"
            if (spec or {}).get("condition") == "service_healthy":
                assert services[dep].get("healthcheck"), f"{dep} has no healthcheck ({name})"


def test_passwords_are_only_variable_references(services: dict[str, dict[str, Any]]) -> None:
    seen = 0
    for name, svc in services.items():
        for key, value in environment(svc).items():
            if "PASSWORD" in key.upper():
                seen += 1
                assert isinstance(value, str), f"{name}: {key} has no value"
                assert REFERENCE.fullmatch(value), (
                    f"{name}: {key} must be a ${{VAR}} reference, not a literal"
                )
            for match in URL_USERINFO.finditer(str(value)):
                assert REFERENCE.fullmatch(match["password"]), (
                    f"{name}: {key} embeds a literal password in a URL"
                )
        command = svc.get("command") or []
        words = command.split() if isinstance(command, str) else [str(w) for w in command]
        for word in words:
            assert not re.fullmatch(r"--[\w-]*password(=.*)?", word, re.IGNORECASE), (
                f"{name}: command passes a password on the command line ({word})"
            )
    assert seen, "no *PASSWORD* variable found: the check would be vacuous"


def test_referenced_passwords_are_required(services: dict[str, dict[str, Any]]) -> None:
    """Compose must refuse to start without each secret, never start with an empty one."""
    raw = COMPOSE_FILE.read_text(encoding="utf-8")
    required = {m["name"] for m in REQUIRED_REFERENCE.finditer(raw)}
    for name, svc in services.items():
        for key, value in environment(svc).items():
            texts = [str(value)]
            if "PASSWORD" not in key.upper():
                texts = [m["password"] for m in URL_USERINFO.finditer(str(value))]
            for text in texts:
                for ref in REFERENCE.finditer(text):
                    assert ref["name"] in required, (
                        f"{name}: {key} uses ${{{ref['name']}}}, which is never required with "
                        f"${{{ref['name']}:?message}}"
                    )


def test_gateway_mqtt_user_is_its_gateway_id(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services["gateway"])
    gateway_id = env["GATEWAY_ID"]
    for key in ("GATEWAY_MQTT_USERNAME", "GATEWAY_Z2M_USERNAME"):
        if key in env:
            assert env[key] == gateway_id, f"{key} must equal GATEWAY_ID (the ACL uses %u)"
    devices = json.loads(env["GATEWAY_SERIAL_DEVICES"])
    assert devices, "the gateway has no serial device"
    for url in devices.values():
        host = re.fullmatch(r"socket://([^:/]+):\d+", url)
        assert host, f"{url} is not a pyserial socket:// URL"
        assert host[1] in services, f"{url}: no service {host[1]}"


def bind_mounts(service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            target = rest.split(":")[0]
        else:
            source, target = str(volume.get("source", "")), str(volume.get("target", ""))
        if source.startswith((".", "/")):
            yield source, target


def test_files_mounted_from_deploy_exist(services: dict[str, dict[str, Any]]) -> None:
    mounted = []
    for name, svc in services.items():
        for source, _target in bind_mounts(svc):
            path = (REPO / source).resolve()
            assert path.is_relative_to(REPO), f"{name} mounts {source}, outside the repository"
            if Path(source).parts[:1] == ("deploy",):
                assert path.exists(), f"{name} mounts {source}, which does not exist"
                mounted.append(path)
    assert MOSQUITTO_DIR.resolve() in mounted, "deploy/mosquitto is not mounted"


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source")
            if source and not str(source).startswith((".", "/", "~")):
                assert source in declared, f"{name} uses undeclared volume {source}"


# -- deploy/mosquitto ------------------------------------------------------------------------


def parse_conf(text: str) -> list[tuple[str, str]]:
    options = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        options.append((key, value.strip()))
    return options


def mosquitto_config_target(services: dict[str, dict[str, Any]]) -> str:
    for source, target in bind_mounts(services["mosquitto"]):
        if (REPO / source).resolve() == MOSQUITTO_DIR.resolve():
            return target
    pytest.fail("deploy/mosquitto is not mounted into the mosquitto service")


def test_mosquitto_refuses_anonymous_clients() -> None:
    options = parse_conf(MOSQUITTO_CONF.read_text(encoding="utf-8"))
    values = [v for k, v in options if k == "allow_anonymous"]
    assert values, "allow_anonymous is not set (mosquitto 2.0 default is false, say it)"
    assert values == ["false"] * len(values), f"allow_anonymous {values}"
    settings = dict(options)
    assert settings.get("per_listener_settings", "false") == "false"
    assert [v for k, v in options if k == "listener"] == ["1883"]
    assert settings["persistence"] == "true"
    assert settings["autosave_interval"] == "1"
    assert settings["autosave_on_changes"] == "true"
    assert "stderr" in [v for k, v in options if k == "log_dest"]


def test_mosquitto_password_and_acl_files_are_in_the_mounted_directory(
    services: dict[str, dict[str, Any]],
) -> None:
    settings = dict(parse_conf(MOSQUITTO_CONF.read_text(encoding="utf-8")))
    target = mosquitto_config_target(services)
    assert target == "/mosquitto/config"
    assert settings["password_file"] == "/mosquitto/config/passwd"
    acl = settings.get("acl_file")
    assert acl, "no acl_file: every authenticated client could use every topic"
    assert acl.startswith(target + "/")
    assert (MOSQUITTO_DIR / acl.removeprefix(target + "/")) == ACL_FILE
    assert ACL_FILE.is_file()


class Acl:
    """Mosquitto 2.0 acl_file semantics (default security), enough to evaluate the file."""

    def __init__(self, text: str) -> None:
        self.patterns: list[tuple[str, str]] = []
        self.anonymous: list[tuple[str, str]] = []
        self.users: dict[str, list[tuple[str, str]]] = {}
        user: str | None = None
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            keyword, _, rest = line.partition(" ")
            rest = rest.strip()
            if keyword == "user":
                user = rest
                self.users.setdefault(user, [])
                continue
            assert keyword in {"topic", "pattern"}, f"acl line {number}: {raw!r}"
            access, _, topic = rest.partition(" ")
            if access not in {"read", "write", "readwrite", "deny"}:
                access, topic = "readwrite", rest
            assert topic, f"acl line {number}: {raw!r}"
            assert " " not in topic.strip(), f"acl line {number}: {raw!r}"
            rule = (access, topic.strip())
            if keyword == "pattern":
                self.patterns.append(rule)
            elif user is None:
                self.anonymous.append(rule)
            else:
                self.users[user].append(rule)

    @staticmethod
    def matches(filter_: str, topic: str) -> bool:
        f, t = filter_.split("/"), topic.split("/")
        for i, level in enumerate(f):
            if level == "#":
                return True
            if i >= len(t) or (level != "+" and level != t[i]):
                return False
        return len(f) == len(t)

    @staticmethod
    def grants(access: str, wanted: str) -> bool:
        return access == "readwrite" or access == wanted

    def allowed(self, username: str, topic: str, wanted: str) -> bool:
        rules = list(self.users.get(username, []))
        rules += [(a, p.replace("%u", username)) for a, p in self.patterns]
        matching = [a for a, f in rules if self.matches(f, topic)]
        if "deny" in matching:
            return False
        return any(self.grants(a, wanted) for a in matching)


@pytest.fixture(scope="module")
def acl() -> Acl:
    return Acl(ACL_FILE.read_text(encoding="utf-8"))


def test_acl_has_the_three_kinds_of_user(acl: Acl) -> None:
    assert set(acl.users) == {"server", "zigbee2mqtt"}
    assert not acl.anonymous, "topic rules before the first user line apply to anonymous clients"
    assert ("read", "eldercare/v1/+/up/#") in acl.users["server"]
    assert ("write", "eldercare/v1/+/down/#") in acl.users["server"]
    assert ("readwrite", "zigbee2mqtt/#") in acl.users["zigbee2mqtt"]


def test_acl_patterns_confine_each_gateway_to_its_own_subtree(acl: Acl) -> None:
    eldercare = [(a, t) for a, t in acl.patterns if t.startswith("eldercare/")]
    assert eldercare, "no pattern gives gateways access to eldercare/ topics"
    for access, topic in eldercare:
        levels = topic.split("/")
        assert len(levels) > 3, topic
        assert levels[2] == "%u", f"pattern {access} {topic}: the gateway level must be %u"
        assert "%u" not in levels[:2] + levels[3:], topic
        assert "+" not in levels[:3], topic
    assert set(eldercare) == {
        ("write", "eldercare/v1/%u/up/#"),
        ("read", "eldercare/v1/%u/down/#"),
    }
    assert ("read", "zigbee2mqtt/#") in acl.patterns
    assert ("write", "zigbee2mqtt/+/set") in acl.patterns


@pytest.mark.parametrize(
    ("user", "topic", "access", "expected"),
    [
        ("gw-a", "eldercare/v1/gw-a/up/alarm", "write", True),
        ("gw-a", "eldercare/v1/gw-a/down/ack", "read", True),
        ("gw-a", "eldercare/v1/gw-b/up/alarm", "write", False),
        ("gw-a", "eldercare/v1/gw-b/up/alarm", "read", False),
        ("gw-a", "eldercare/v1/gw-b/down/ack", "read", False),
        ("gw-a", "eldercare/v1/gw-a/down/ack", "write", False),
        ("gw-a", "eldercare/v1/gw-a/up/alarm", "read", False),
        ("gw-a", "zigbee2mqtt/bed-sensor", "read", True),
        ("gw-a", "zigbee2mqtt/bed-sensor/set", "write", True),
        ("gw-a", "zigbee2mqtt/bed-sensor", "write", False),
        ("server", "eldercare/v1/gw-a/up/alarm", "read", True),
        ("server", "eldercare/v1/gw-a/down/ack", "write", True),
        ("server", "eldercare/v1/gw-a/up/alarm", "write", False),
        ("zigbee2mqtt", "zigbee2mqtt/bed-sensor", "write", True),
        ("zigbee2mqtt", "eldercare/v1/gw-a/up/alarm", "write", False),
        ("zigbee2mqtt", "eldercare/v1/gw-a/down/ack", "read", False),
    ],
)
def test_acl_decisions(acl: Acl, user: str, topic: str, access: str, expected: bool) -> None:
    assert acl.allowed(user, topic, access) is expected


# -- the configuration on a real mosquitto ---------------------------------------------------

BROKER_USERS = {"server": "pw-server", "gw-a": "pw-gw-a", "gw-b": "pw-gw-b"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The committed mosquitto.conf and acl, paths and port redirected to a temporary dir."""
    mosquitto = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/sbin")
    passwd_tool = shutil.which("mosquitto_passwd")
    assert mosquitto, "mosquitto is not installed (make test installs it)"
    assert passwd_tool, "mosquitto_passwd is not installed (make test installs it)"
    tmp = tmp_path_factory.mktemp("mosquitto")
    config, data = tmp / "config", tmp / "data"
    config.mkdir()
    data.mkdir()
    shutil.copy(ACL_FILE, config / "acl")
    passwd = config / "passwd"
    passwd.touch(mode=0o600)
    for user, password in BROKER_USERS.items():
        subprocess.run([passwd_tool, "-b", str(passwd), user, password], check=True)
    port = free_port()
    text = MOSQUITTO_CONF.read_text(encoding="utf-8")
    text = text.replace("/mosquitto/config/", f"{config}/").replace("/mosquitto/data/", f"{data}/")
    text = re.sub(r"(?m)^listener 1883$", f"listener {port} 127.0.0.1", text)
    # Run as root (CI containers), mosquitto would switch to the `mosquitto` user, which cannot
    # read this temporary directory; stay the current user instead.
    text += f"\nuser {getpass.getuser()}\n"
    conf = tmp / "mosquitto.conf"
    conf.write_text(text, encoding="utf-8")
    log = tmp / "mosquitto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([mosquitto, "-c", str(conf)], stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "mosquitto did not start"
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Client:
    def __init__(self, port: int, username: str | None) -> None:
        self.connected = threading.Event()
        self.reason: Any = None
        self.messages: list[str] = []
        self.received = threading.Condition()
        self.mqtt = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        if username is not None:
            self.mqtt.username_pw_set(username, BROKER_USERS[username])
        self.mqtt.on_connect = self._on_connect
        self.mqtt.on_message = self._on_message
        self.mqtt.connect("127.0.0.1", port)
        self.mqtt.loop_start()
        assert self.connected.wait(10), "no CONNACK"

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.reason = reason
        self.connected.set()

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self.received:
            self.messages.append(message.topic)
            self.received.notify_all()

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.mqtt.on_subscribe = lambda *args: done.set()
        self.mqtt.subscribe(topic, qos=1)
        assert done.wait(10), "no SUBACK"

    def publish(self, topic: str) -> None:
        self.mqtt.publish(topic, b"x", qos=1).wait_for_publish(10)

    def wait_for(self, topic: str) -> list[str]:
        with self.received:
            assert self.received.wait_for(lambda: topic in self.messages, 10), self.messages
            return list(self.messages)

    def close(self) -> None:
        self.mqtt.disconnect()
        self.mqtt.loop_stop()


def test_real_broker_refuses_anonymous_clients(broker: int) -> None:
    client = Client(broker, None)
    try:
        assert client.reason.is_failure, "an anonymous client was accepted"
    finally:
        client.close()


def test_real_broker_keeps_gateways_apart(broker: int) -> None:
    server, gw_a, gw_b = (Client(broker, user) for user in ("server", "gw-a", "gw-b"))
    try:
        for client in (server, gw_a, gw_b):
            assert not client.reason.is_failure, client.reason
        server.subscribe("eldercare/v1/+/up/#")
        gw_b.subscribe("eldercare/v1/#")
        # gw-a may not speak for gw-b; the broker drops that publish.
        gw_a.publish("eldercare/v1/gw-b/up/forged")
        gw_a.publish("eldercare/v1/gw-a/up/alarm")
        assert server.wait_for("eldercare/v1/gw-a/up/alarm") == ["eldercare/v1/gw-a/up/alarm"]
        # gw-b subscribed to everything but only receives its own downlink.
        server.publish("eldercare/v1/gw-a/down/ack")
        server.publish("eldercare/v1/gw-b/down/ack")
        assert gw_b.wait_for("eldercare/v1/gw-b/down/ack") == ["eldercare/v1/gw-b/down/ack"]
    finally:
        for client in (server, gw_a, gw_b):
            client.close()


# -- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_installs_every_package_and_runs_unprivileged() -> None:
    lines = [
        line.strip()
        for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0].startswith("FROM python:3.11-slim-bookworm")
    copied = {word for line in lines if line.startswith("COPY ") for word in line.split()[1:-1]}
    for name in ("pyproject.toml", "constraints.txt", "README.md"):
        assert name in copied, f"Dockerfile does not copy {name}"
    for package in ("protocol", "edge", "gateway", "server", "firmware-sim", "onebox"):
        assert package in copied, f"Dockerfile does not copy {package}"
    assert any("pip install" in line and "-c constraints.txt ." in line for line in lines)
    assert not any(re.search(r"pip install .*(-e|--editable)\b", line) for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users, "the image runs as root"
    assert users[-1].split(":")[0] not in {"root", "0"}, "the image runs as root"
    assert lines[-1] == 'CMD ["python", "-m", "server"]'
    ignored = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", "var", ".git", "tests", "bench"} <= ignored
    assert not copied & ignored, (
        f".dockerignore drops files the Dockerfile copies: {copied & ignored}"
    )
