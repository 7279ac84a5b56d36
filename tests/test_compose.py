"""The deployment files: docker-compose.yml, Dockerfile, deploy/mosquitto (two brokers).

No Docker engine runs here, so docker-compose.yml is checked against the Compose
Specification's JSON schema (../shared/schemas/compose-spec.json) and against the project's own
rules (secrets only by reference, every built service has a command, mounted files exist).

Two brokers: the dispatch centre's (deploy/mosquitto: the servers and one user per gateway) and
a home's own (deploy/mosquitto/home: Zigbee2MQTT and that home's gateway). Zigbee traffic stays
on the home's broker. Both configurations and ACLs are checked by reading them and on a real
mosquitto.
"""

from __future__ import annotations

import copy
import getpass
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from jsonschema.validators import validator_for
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from onebox.net import free_port, port_open, wait_for
from protocol.errors import TopicError
from protocol.topics import RESERVED_NAMES, validate_gateway_id

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"
SCHEMA_FILE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "schemas" / "compose-spec.json"
)
MOSQUITTO_DIR = REPO / "deploy" / "mosquitto"
MOSQUITTO_CONF = MOSQUITTO_DIR / "mosquitto.conf"
ACL_FILE = MOSQUITTO_DIR / "acl"
HOME_DIR = MOSQUITTO_DIR / "home"
HOME_CONF = HOME_DIR / "mosquitto.conf"
HOME_ACL_FILE = HOME_DIR / "acl"
# compose service -> (mounted directory, mosquitto.conf, acl)
BROKERS = {
    "mosquitto": (MOSQUITTO_DIR, MOSQUITTO_CONF, ACL_FILE),
    "mosquitto-home": (HOME_DIR, HOME_CONF, HOME_ACL_FILE),
}
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
    expected |= {"mosquitto-home", "firmware-sim"}
    assert expected <= set(services)
    for name in BROKERS:
        assert services[name]["image"] == "eclipse-mosquitto:2.0", name
        assert "ports" not in services[name], f"{name} is published on the host"


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


# Every secret compose needs, and what it is for (the header's .env example documents each).
SECRETS = {
    "POSTGRES_PASSWORD",
    "SERVER_MQTT_PASSWORD",  # centre broker, user server
    "GATEWAY_MQTT_PASSWORD",  # centre broker, user <gateway id>
    "HOME_GATEWAY_MQTT_PASSWORD",  # home broker, user gateway
    "Z2M_MQTT_PASSWORD",  # home broker, user zigbee2mqtt
    "ADMIN_PASSWORD",
}


def test_every_secret_is_required_and_documented(services: dict[str, dict[str, Any]]) -> None:
    raw = COMPOSE_FILE.read_text(encoding="utf-8")
    required = {m["name"] for m in REQUIRED_REFERENCE.finditer(raw)}
    assert required == SECRETS
    header = "\n".join(line for line in raw.splitlines() if line.startswith("#"))
    for name in SECRETS:
        assert re.search(rf"(?m)^#\s+{name}=", header), f"the header's .env example lacks {name}"


def reference(value: Any) -> str:
    match = REFERENCE.fullmatch(str(value))
    assert match, f"{value!r} is not a ${{VAR}} reference"
    return match["name"]


def command_words(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(w) for w in command]


def option(words: list[str], name: str) -> str:
    assert words.count(name) == 1, f"{name} given {words.count(name)} times in {words}"
    return words[words.index(name) + 1]


def test_gateway_logs_into_each_broker_as_its_own_user(
    services: dict[str, dict[str, Any]], centre_acl: Acl, home_acl: Acl
) -> None:
    svc = services["gateway"]
    env = environment(svc)
    gateway_id = env["GATEWAY_ID"]
    validate_gateway_id(gateway_id)  # refuses the reserved names, e.g. server, zigbee2mqtt
    assert gateway_id not in centre_acl.users
    # The centre's broker: username = gateway id (the ACL's %u patterns rely on it).
    assert env["GATEWAY_MQTT_HOST"] == "mosquitto"
    assert env.get("GATEWAY_MQTT_USERNAME", gateway_id) == gateway_id
    assert reference(env["GATEWAY_MQTT_PASSWORD"]) == "GATEWAY_MQTT_PASSWORD"
    # The home's broker: the user `gateway`, with its own secret.
    assert env["GATEWAY_Z2M_ENABLED"] == "true"
    assert env["GATEWAY_Z2M_HOST"] == "mosquitto-home"
    assert env["GATEWAY_Z2M_USERNAME"] == "gateway"
    assert "gateway" in home_acl.users
    assert reference(env["GATEWAY_Z2M_PASSWORD"]) == "HOME_GATEWAY_MQTT_PASSWORD"
    for broker in BROKERS:
        assert svc["depends_on"][broker]["condition"] == "service_started", broker
    devices = json.loads(env["GATEWAY_SERIAL_DEVICES"])
    assert devices, "the gateway has no serial device"
    for url in devices.values():
        host = re.fullmatch(r"socket://([^:/]+):\d+", url)
        assert host, f"{url} is not a pyserial socket:// URL"
        assert host[1] in services, f"{url}: no service {host[1]}"


def test_simulated_zigbee2mqtt_publishes_on_the_home_broker(
    services: dict[str, dict[str, Any]], home_acl: Acl
) -> None:
    svc = services["firmware-sim"]
    words = command_words(svc)
    assert option(words, "--mqtt-host") == "mosquitto-home"
    assert option(words, "--mqtt-port") == "1883"
    assert option(words, "--mqtt-username") == "zigbee2mqtt"
    assert "zigbee2mqtt" in home_acl.users
    password_env = option(words, "--mqtt-password-env")
    assert reference(environment(svc)[password_env]) == "Z2M_MQTT_PASSWORD"
    assert svc["depends_on"]["mosquitto-home"]["condition"] == "service_started"
    assert "mosquitto" not in svc["depends_on"], "firmware-sim has no business on the centre"


def bind_mounts(service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            target = rest.split(":")[0]
        else:
            source, target = str(volume.get("source", "")), str(volume.get("target", ""))
        if source.startswith((".", "/")):
            yield source, target


def test_mounted_files_exist(services: dict[str, dict[str, Any]]) -> None:
    mounted: dict[str, list[Path]] = {}
    for name, svc in services.items():
        for source, _target in bind_mounts(svc):
            path = (REPO / source).resolve()
            assert path.is_relative_to(REPO), f"{name} mounts {source}, outside the repository"
            assert path.exists(), f"{name} mounts {source}, which does not exist"
            mounted.setdefault(name, []).append(path)
    for name, (directory, conf, acl_file) in BROKERS.items():
        assert directory.resolve() in mounted.get(name, []), f"{name} does not mount {directory}"
        assert conf.is_file(), name
        assert acl_file.is_file(), name


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source")
            if source and not str(source).startswith((".", "/", "~")):
                assert source in declared, f"{name} uses undeclared volume {source}"


# -- deploy/mosquitto: both brokers' configuration -------------------------------------------


def parse_conf(text: str) -> list[tuple[str, str]]:
    options = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        options.append((key, value.strip()))
    return options


def config_target(services: dict[str, dict[str, Any]], name: str) -> str:
    directory = BROKERS[name][0]
    for source, target in bind_mounts(services[name]):
        if (REPO / source).resolve() == directory.resolve():
            return target
    pytest.fail(f"{directory} is not mounted into the {name} service")


@pytest.mark.parametrize("name", list(BROKERS))
def test_broker_refuses_anonymous_clients_and_persists(name: str) -> None:
    options = parse_conf(BROKERS[name][1].read_text(encoding="utf-8"))
    values = [v for k, v in options if k == "allow_anonymous"]
    assert values, "allow_anonymous is not set (mosquitto 2.0 default is false, say it)"
    assert values == ["false"] * len(values), f"allow_anonymous {values}"
    settings = dict(options)
    assert settings.get("per_listener_settings", "false") == "false"
    assert [v for k, v in options if k == "listener"] == ["1883"]
    assert settings["persistence"] == "true"
    assert settings["persistence_location"] == "/mosquitto/data/"
    assert settings["autosave_interval"] == "1"
    # The home's Zigbee presses are never repeated: saved per change. The centre's traffic
    # would choke on that; everything it queues is resent by gateways: saved once a second.
    assert settings["autosave_on_changes"] == ("true" if name == "mosquitto-home" else "false")
    assert "stderr" in [v for k, v in options if k == "log_dest"]
    assert settings["set_tcp_nodelay"] == "true"


@pytest.mark.parametrize("name", list(BROKERS))
def test_broker_password_and_acl_files_are_in_the_mounted_directory(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    directory, conf, acl_file = BROKERS[name]
    settings = dict(parse_conf(conf.read_text(encoding="utf-8")))
    target = config_target(services, name)
    assert target == "/mosquitto/config"
    assert settings["password_file"] == "/mosquitto/config/passwd"
    acl = settings.get("acl_file")
    assert acl, "no acl_file: every authenticated client could use every topic"
    assert acl.startswith(target + "/")
    assert (directory / acl.removeprefix(target + "/")) == acl_file
    assert acl_file.is_file()
    data = [v for v in services[name]["volumes"] if str(v).split(":")[1:2] == ["/mosquitto/data"]]
    assert len(data) == 1, f"{name} has no data volume of its own"


def test_each_broker_has_its_own_data_volume(services: dict[str, dict[str, Any]]) -> None:
    volumes = {}
    for name in BROKERS:
        for volume in services[name]["volumes"]:
            source, _, target = str(volume).partition(":")
            if target.split(":")[0] == "/mosquitto/data":
                volumes[name] = source
    assert set(volumes) == set(BROKERS)
    assert len(set(volumes.values())) == len(BROKERS), volumes


# -- the ACLs --------------------------------------------------------------------------------


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

    def rules(self, username: str) -> list[tuple[str, str]]:
        rules = list(self.users.get(username, []))
        return rules + [(a, p.replace("%u", username)) for a, p in self.patterns]

    def allowed(self, username: str, topic: str, wanted: str) -> bool:
        matching = [a for a, f in self.rules(username) if self.matches(f, topic)]
        if "deny" in matching:
            return False
        return any(self.grants(a, wanted) for a in matching)


@pytest.fixture(scope="module")
def centre_acl() -> Acl:
    return Acl(ACL_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def home_acl() -> Acl:
    return Acl(HOME_ACL_FILE.read_text(encoding="utf-8"))


def test_centre_acl_has_the_server_and_one_pattern_pair_for_gateways(centre_acl: Acl) -> None:
    assert set(centre_acl.users) == {"server"}
    assert not centre_acl.anonymous, "topic rules before the first user line apply to anonymous"
    assert sorted(centre_acl.users["server"]) == [
        ("read", "eldercare/v1/+/up/#"),
        ("write", "eldercare/v1/+/down/#"),
        ("write", "eldercare/v1/responders/+/notify"),
    ]
    assert sorted(centre_acl.patterns) == [
        ("read", "eldercare/v1/%u/down/#"),
        ("read", "eldercare/v1/responders/%u/notify"),
        ("write", "eldercare/v1/%u/up/#"),
    ]


def test_centre_acl_accounts_are_reserved_gateway_ids(centre_acl: Acl) -> None:
    """The %u patterns apply to every account: none may double as a gateway id."""
    assert set(centre_acl.users) <= RESERVED_NAMES
    assert "zigbee2mqtt" in RESERVED_NAMES
    for name in RESERVED_NAMES:
        with pytest.raises(TopicError):
            validate_gateway_id(name)


def test_centre_acl_patterns_confine_each_account_to_its_own_subtree(centre_acl: Acl) -> None:
    """Gateways: ``eldercare/v1/<gateway>/...``; responders (``responder.<id>``, a name no
    gateway can have): ``eldercare/v1/responders/<account>/notify``, read only."""
    assert centre_acl.patterns
    for access, topic in centre_acl.patterns:
        levels = topic.split("/")
        assert levels[:2] == ["eldercare", "v1"], f"pattern {access} {topic}"
        assert len(levels) > 3, topic
        own = 3 if levels[2] == "responders" else 2
        assert levels[own] == "%u", f"pattern {access} {topic}: the account level must be %u"
        assert "%u" not in levels[:own] + levels[own + 1 :], topic
        assert "+" not in levels[: own + 1], topic
    with pytest.raises(TopicError):
        validate_gateway_id("responders")  # or its uplink would reach into responders' topics


def test_centre_acl_grants_nothing_on_zigbee2mqtt(centre_acl: Acl) -> None:
    """No rule of any account, pattern or anonymous, can even match a zigbee2mqtt/ topic."""
    rules = centre_acl.anonymous + centre_acl.patterns
    rules += [rule for user_rules in centre_acl.users.values() for rule in user_rules]
    for access, topic in rules:
        assert topic.split("/")[0] not in {"zigbee2mqtt", "+", "#", "%u"}, f"{access} {topic}"


ZIGBEE_TOPICS = ["zigbee2mqtt/call-button-1", "zigbee2mqtt/call-button-1/set"]
ZIGBEE_TOPICS += ["zigbee2mqtt/bridge/state", "zigbee2mqtt/bridge/request/permit_join"]


@pytest.mark.parametrize("topic", ZIGBEE_TOPICS)
@pytest.mark.parametrize("user", ["gw-a", "server", "zigbee2mqtt", "gateway"])
@pytest.mark.parametrize("access", ["read", "write"])
def test_centre_acl_denies_zigbee2mqtt_topics(
    centre_acl: Acl, user: str, topic: str, access: str
) -> None:
    assert not centre_acl.allowed(user, topic, access)


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
        ("server", "eldercare/v1/gw-a/up/alarm", "read", True),
        ("server", "eldercare/v1/gw-a/down/ack", "write", True),
        ("server", "eldercare/v1/gw-a/up/alarm", "write", False),
        ("server", "eldercare/v1/gw-a/down/ack", "read", False),
    ],
)
def test_centre_acl_decisions(
    centre_acl: Acl, user: str, topic: str, access: str, expected: bool
) -> None:
    assert centre_acl.allowed(user, topic, access) is expected


def test_home_acl_has_zigbee2mqtt_the_gateway_and_home_assistant(home_acl: Acl) -> None:
    assert set(home_acl.users) == {"zigbee2mqtt", "gateway", "homeassistant"}
    assert not home_acl.anonymous, "topic rules before the first user line apply to anonymous"
    assert not home_acl.patterns, "a pattern would apply to every account"
    assert home_acl.users["zigbee2mqtt"] == [("readwrite", "zigbee2mqtt/#")]
    assert sorted(home_acl.users["gateway"]) == [
        ("read", "homeassistant/status"),
        ("read", "zigbee2mqtt/#"),
        ("write", "eldercare_home/#"),
        ("write", "homeassistant/+/eldercare/+/config"),
        ("write", "zigbee2mqtt/+/set"),
    ]


@pytest.mark.parametrize(
    ("user", "topic", "access", "expected"),
    [
        ("gateway", "zigbee2mqtt/call-button-1", "read", True),
        ("gateway", "zigbee2mqtt/bridge/state", "read", True),
        ("gateway", "zigbee2mqtt/call-button-1/set", "write", True),
        # The gateway cannot fake device state, nor open the network to new devices.
        ("gateway", "zigbee2mqtt/call-button-1", "write", False),
        ("gateway", "zigbee2mqtt/bridge/request/permit_join", "write", False),
        ("gateway", "eldercare/v1/gateway/up/alarm", "write", False),
        ("gateway", "eldercare_home/gw-a/alarm", "write", True),
        ("gateway", "homeassistant/binary_sensor/eldercare/gw-a_centre/config", "write", True),
        ("gateway", "homeassistant/sensor/0x00158d0001/battery/config", "write", False),
        ("homeassistant", "eldercare_home/gw-a/alarm", "read", True),
        ("homeassistant", "eldercare_home/gw-a/alarm", "write", False),
        ("zigbee2mqtt", "zigbee2mqtt/call-button-1", "write", True),
        ("zigbee2mqtt", "zigbee2mqtt/call-button-1/set", "read", True),
        ("zigbee2mqtt", "eldercare/v1/gateway/up/alarm", "write", False),
        ("gw-a", "zigbee2mqtt/call-button-1", "read", False),
        ("server", "zigbee2mqtt/call-button-1", "read", False),
    ],
)
def test_home_acl_decisions(
    home_acl: Acl, user: str, topic: str, access: str, expected: bool
) -> None:
    assert home_acl.allowed(user, topic, access) is expected


# -- the configurations on a real mosquitto --------------------------------------------------

CENTRE_USERS = {"server": "pw-server", "gw-a": "pw-gw-a", "gw-b": "pw-gw-b"}
HOME_USERS = {"zigbee2mqtt": "pw-z2m", "gateway": "pw-gateway"}
# The centre's ACL lets nobody publish on zigbee2mqtt/, so "a gateway does not receive it"
# needs a publisher: the test appends this account to its copy of the ACL. A user block only
# grants that user; the committed rules of every other account are unchanged.
CENTRE_PROBE = "probe"
CENTRE_PROBE_ACL = f"\nuser {CENTRE_PROBE}\ntopic readwrite zigbee2mqtt/#\n"
NOT_AUTHORIZED = 0x87  # MQTT v5 reason code


def run_broker(
    tmp: Path, conf_file: Path, acl_file: Path, users: dict[str, str], extra_acl: str = ""
) -> Iterator[int]:
    """A committed mosquitto.conf and acl, paths and port redirected to a temporary dir."""
    mosquitto = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/sbin")
    passwd_tool = shutil.which("mosquitto_passwd")
    assert mosquitto, "mosquitto is not installed (make test installs it)"
    assert passwd_tool, "mosquitto_passwd is not installed (make test installs it)"
    config, data = tmp / "config", tmp / "data"
    config.mkdir()
    data.mkdir()
    (config / "acl").write_text(acl_file.read_text(encoding="utf-8") + extra_acl, "utf-8")
    passwd = config / "passwd"
    passwd.touch(mode=0o600)
    for user, password in users.items():
        subprocess.run([passwd_tool, "-b", str(passwd), user, password], check=True)
    port = free_port()
    text = conf_file.read_text(encoding="utf-8")
    text = text.replace("/mosquitto/config/", f"{config}/").replace("/mosquitto/data/", f"{data}/")
    text, listeners = re.subn(r"(?m)^listener 1883$", f"listener {port} 127.0.0.1", text)
    assert listeners == 1, f"{conf_file}: expected one `listener 1883`"
    # Run as root (CI containers), mosquitto would switch to the `mosquitto` user, which cannot
    # read this temporary directory; stay the current user instead.
    text += f"\nuser {getpass.getuser()}\n"
    conf = tmp / "mosquitto.conf"
    conf.write_text(text, encoding="utf-8")
    log = tmp / "mosquitto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([mosquitto, "-c", str(conf)], stdout=out, stderr=out)
    try:

        def ready() -> bool:
            assert proc.poll() is None, log.read_text(errors="replace")
            return port_open(port)

        wait_for(ready, 10, "mosquitto")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def centre_broker(tmp_path_factory: pytest.TempPathFactory, centre_acl: Acl) -> Iterator[int]:
    assert CENTRE_PROBE not in centre_acl.users, "the probe account would change the ACL"
    users = CENTRE_USERS | {CENTRE_PROBE: "pw-probe"}
    tmp = tmp_path_factory.mktemp("mosquitto-centre")
    yield from run_broker(tmp, MOSQUITTO_CONF, ACL_FILE, users, CENTRE_PROBE_ACL)


@pytest.fixture(scope="module")
def home_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("mosquitto-home")
    yield from run_broker(tmp, HOME_CONF, HOME_ACL_FILE, HOME_USERS)


class Client:
    """An MQTT v5 client: with 3.1.1 a denied publish is still acknowledged as a success."""

    def __init__(self, port: int, username: str | None, password: str | None = None) -> None:
        self.connected = threading.Event()
        self.reason: Any = None
        self.messages: list[tuple[str, bytes]] = []
        self.acks: dict[int, ReasonCode] = {}
        self.subacks: dict[int, list[ReasonCode]] = {}
        self.changed = threading.Condition()
        self.mqtt = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if username is not None:
            password = (
                password or (CENTRE_USERS | HOME_USERS | {CENTRE_PROBE: "pw-probe"})[username]
            )
            self.mqtt.username_pw_set(username, password)
        self.mqtt.on_connect = self._on_connect
        self.mqtt.on_message = self._on_message
        self.mqtt.on_publish = self._on_publish
        self.mqtt.on_subscribe = self._on_subscribe
        self.mqtt.connect("127.0.0.1", port)
        self.mqtt.loop_start()
        assert self.connected.wait(10), "no CONNACK"

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.reason = reason
        self.connected.set()

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self.changed:
            self.messages.append((message.topic, bytes(message.payload)))
            self.changed.notify_all()

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self.changed:
            self.acks[mid] = reason
            self.changed.notify_all()

    def _on_subscribe(
        self, client: Any, userdata: Any, mid: int, reasons: list[ReasonCode], props: Any
    ) -> None:
        with self.changed:
            self.subacks[mid] = reasons
            self.changed.notify_all()

    def subscribe(self, topic: str) -> ReasonCode:
        """Subscribe with QoS 1; the SUBACK's reason code for the filter."""
        _rc, mid = self.mqtt.subscribe(topic, qos=1)
        assert mid is not None, f"SUBSCRIBE {topic} was not sent"
        with self.changed:
            assert self.changed.wait_for(lambda: mid in self.subacks, 10), "no SUBACK"
            (reason,) = self.subacks[mid]
            return reason

    def publish(self, topic: str, payload: bytes = b"x") -> ReasonCode:
        """Publish with QoS 1; the PUBACK's reason code (v5: Not authorized when denied)."""
        info = self.mqtt.publish(topic, payload, qos=1)
        with self.changed:
            assert self.changed.wait_for(lambda: info.mid in self.acks, 10), "no PUBACK"
            return self.acks[info.mid]

    def wait_for(self, topic: str, payload: bytes = b"x") -> list[tuple[str, bytes]]:
        with self.changed:
            arrived = self.changed.wait_for(lambda: (topic, payload) in self.messages, 10)
            assert arrived, self.messages
            return list(self.messages)

    def topics(self) -> list[str]:
        with self.changed:
            return [topic for topic, _payload in self.messages]

    def close(self) -> None:
        self.mqtt.disconnect()
        self.mqtt.loop_stop()


def granted(reason: ReasonCode) -> bool:
    return not reason.is_failure


@pytest.mark.parametrize("broker", ["centre_broker", "home_broker"])
def test_real_broker_refuses_anonymous_clients(broker: str, request: pytest.FixtureRequest) -> None:
    client = Client(request.getfixturevalue(broker), None)
    try:
        assert client.reason.is_failure, "an anonymous client was accepted"
    finally:
        client.close()


def test_real_broker_refuses_a_wrong_password(home_broker: int) -> None:
    client = Client(home_broker, "gateway", "not-the-password")
    try:
        assert client.reason.is_failure, "a wrong password was accepted"
    finally:
        client.close()


def test_real_centre_broker_keeps_gateways_apart(centre_broker: int) -> None:
    server, gw_a, gw_b = (Client(centre_broker, user) for user in ("server", "gw-a", "gw-b"))
    try:
        for client in (server, gw_a, gw_b):
            assert not client.reason.is_failure, client.reason
        assert granted(server.subscribe("eldercare/v1/+/up/#"))
        gw_b.subscribe("eldercare/v1/#")
        # gw-a may not speak for gw-b; the broker drops that publish.
        assert gw_a.publish("eldercare/v1/gw-b/up/forged").value == NOT_AUTHORIZED
        assert granted(gw_a.publish("eldercare/v1/gw-a/up/alarm"))
        server.wait_for("eldercare/v1/gw-a/up/alarm")
        assert server.topics() == ["eldercare/v1/gw-a/up/alarm"]
        # gw-b subscribed to everything but only receives its own downlink.
        assert granted(server.publish("eldercare/v1/gw-a/down/ack"))
        assert granted(server.publish("eldercare/v1/gw-b/down/ack"))
        gw_b.wait_for("eldercare/v1/gw-b/down/ack")
        assert gw_b.topics() == ["eldercare/v1/gw-b/down/ack"]
    finally:
        for client in (server, gw_a, gw_b):
            client.close()


def test_real_centre_broker_carries_no_zigbee_traffic(centre_broker: int) -> None:
    server, gw_a, probe = (Client(centre_broker, u) for u in ("server", "gw-a", CENTRE_PROBE))
    try:
        for client in (server, gw_a, probe):
            assert not client.reason.is_failure, client.reason
        for client in (server, gw_a):
            client.subscribe("#")
            client.subscribe("zigbee2mqtt/#")
            for topic in ZIGBEE_TOPICS:
                assert client.publish(topic).value == NOT_AUTHORIZED, topic
        # Somebody does publish Zigbee2MQTT state here: neither the gateway nor the server
        # receives it. The probe receives its own message, so the broker has routed it.
        assert granted(probe.subscribe("zigbee2mqtt/#"))
        assert granted(probe.publish("zigbee2mqtt/call-button-1", b"pressed"))
        probe.wait_for("zigbee2mqtt/call-button-1", b"pressed")
        # Published after it: once these arrive, the probe's message would have arrived too.
        assert granted(gw_a.publish("eldercare/v1/gw-a/up/alarm"))
        assert granted(server.publish("eldercare/v1/gw-a/down/ack"))
        server.wait_for("eldercare/v1/gw-a/up/alarm")
        gw_a.wait_for("eldercare/v1/gw-a/down/ack")
        for client in (server, gw_a):
            zigbee = [t for t in client.topics() if t.startswith("zigbee2mqtt/")]
            assert not zigbee, zigbee
        # Nothing the gateway or the server tried to publish got through either.
        assert probe.topics() == ["zigbee2mqtt/call-button-1"]
    finally:
        for client in (server, gw_a, probe):
            client.close()


def test_real_home_broker_connects_zigbee2mqtt_and_the_gateway(home_broker: int) -> None:
    z2m, gateway = Client(home_broker, "zigbee2mqtt"), Client(home_broker, "gateway")
    try:
        for client in (z2m, gateway):
            assert not client.reason.is_failure, client.reason
        assert granted(z2m.subscribe("zigbee2mqtt/#"))
        assert granted(gateway.subscribe("zigbee2mqtt/#"))
        # Zigbee2MQTT publishes a device's state; the gateway reads it.
        assert granted(z2m.publish("zigbee2mqtt/x", b"pressed"))
        gateway.wait_for("zigbee2mqtt/x", b"pressed")
        # The gateway may command a device, but not fake its state nor the bridge's.
        assert gateway.publish("zigbee2mqtt/x", b"forged").value == NOT_AUTHORIZED
        permit_join = "zigbee2mqtt/bridge/request/permit_join"
        assert gateway.publish(permit_join, b"forged").value == NOT_AUTHORIZED
        assert gateway.publish("eldercare/v1/gateway/up/alarm").value == NOT_AUTHORIZED
        assert granted(gateway.publish("zigbee2mqtt/x/set", b"command"))
        # In order from one client: once the command arrives, the denied ones would have.
        received = z2m.wait_for("zigbee2mqtt/x/set", b"command")
        assert received == [("zigbee2mqtt/x", b"pressed"), ("zigbee2mqtt/x/set", b"command")]
        # The gateway reads its own command back (it reads zigbee2mqtt/#), and nothing forged.
        received = gateway.wait_for("zigbee2mqtt/x/set", b"command")
        assert received == [("zigbee2mqtt/x", b"pressed"), ("zigbee2mqtt/x/set", b"command")]
    finally:
        for client in (z2m, gateway):
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
