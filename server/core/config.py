"""Server settings (prefix ``SERVER_``), built once in ``main()`` and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.mqtt import BrokerEndpoint, BrokerTls
from server import ConfigurationError
from server.core.secret_key import is_fernet_key


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SERVER_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("var")
    # Default: SQLite under data_dir. PostgreSQL: postgresql+psycopg://user:pw@host:port/db
    database_url: SecretStr | None = None
    mqtt_enabled: bool = True
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_username: str = "server"
    mqtt_password: SecretStr = SecretStr("")
    # Distinguishes several server processes sharing one subscription (client ids must differ).
    # It also names the server as the device of its own store-fault alarms (server-<instance>),
    # so it is a device id less that prefix.
    instance: str = Field(default="1", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,120}$")
    telemetry_backend: Literal["embedded", "influxdb"] = "embedded"
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = "eldercare"
    # InfluxDB 1.x: user and password. 2.x/3.x: an API token (``Authorization: Token``).
    influx_username: str | None = None
    influx_password: SecretStr | None = None
    influx_token: SecretStr | None = None
    # 1.x: the server sets up retention policies and the downsampling continuous query.
    # 2.x/3.x refuse those statements on the v1 API: false, and set them up there (README).
    influx_manage_schema: bool = True
    telemetry_batch_size: int = Field(default=5000, ge=1, le=100_000)
    telemetry_flush_interval_s: float = Field(default=1.0, gt=0, le=60)
    telemetry_queue_bound: int = Field(default=200_000, ge=1)
    telemetry_retention_days: int = Field(default=30, ge=1)
    telemetry_rollup_interval_s: int = Field(default=300, ge=1)
    telemetry_rollup_retention_days: int = Field(default=730, ge=1)
    # The first operator account, created when no user exists. Without a password one is
    # generated and written to data_dir/initial-operator.txt (mode 0600), never logged.
    admin_username: str = "operator"
    admin_password: SecretStr | None = None
    session_ttl_s: int = Field(default=12 * 3600, ge=60)
    # For automation: at start an admin token with exactly this value exists (stored hashed,
    # held by the admin account ``admin_token_username``); a new value replaces the old one,
    # unset removes it.
    admin_token: SecretStr | None = None
    admin_token_username: str = Field(default="automation", min_length=1, max_length=64)
    # Failed logins per username and per client address within the window before 429.
    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: int = Field(default=60, ge=1)
    # HTTPS: uvicorn serves TLS when both are set (PEM files).
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    # TLS to the broker: the CA that signed its certificate (None: the system's CAs), an
    # optional client certificate, and never by default skipping the hostname check.
    mqtt_tls: bool = False
    mqtt_ca_file: Path | None = None
    mqtt_certfile: Path | None = None
    mqtt_keyfile: Path | None = None
    mqtt_tls_insecure: bool = False
    # How often the dispatch engine looks for escalation steps that are due.
    dispatch_tick_s: float = Field(default=2.0, gt=0, le=60)
    # Cloud wearables' possible falls wait this long for the wearer's "I'm all right" press
    # before they become fall alarms (as GATEWAY_FALL_CANCEL_WINDOW_S at a gateway).
    cloud_fall_cancel_window_s: float = Field(default=30.0, ge=0, le=300)
    # The longest away stretch a family account may set for its resident: while the home is
    # away no inactivity, night or check-in alarm is raised, so a mistaken or malicious long
    # period would silence monitoring. Operators and supervisors may set up to 92 days.
    family_away_max_days: int = Field(default=14, ge=1, le=92)
    # Gateways' broker accounts (POST /api/gateways): mosquitto's password_file, changed with
    # mosquitto_passwd, and how mosquitto is told to reload it: SIGHUP to the pid in its
    # pid_file, or a command (e.g. "docker compose kill -s HUP mosquitto"). Unset: the centre
    # issues no credentials (accounts are made by hand, deploy/mosquitto/README.md).
    mosquitto_password_file: Path | None = None
    mosquitto_pid_file: Path | None = None
    mosquitto_reload_command: str | None = None
    mosquitto_passwd_tool: str = "mosquitto_passwd"  # noqa: S105 - a program, not a secret
    # Encrypts webhook secrets at rest (a Fernet key: 32 URL-safe base64 bytes); every server
    # process on one database needs the same. Unset: generated once into data_dir/secret.key.
    secret_key: SecretStr | None = None
    # Delivery records (one per notification attempt) are kept this long after their alarm
    # was resolved; an open alarm keeps all of its records (server/notify/retention.py).
    notification_retention_days: int = Field(default=180, ge=1)
    # Where responders reach this server: the accept link in every notification.
    public_url: str = "http://127.0.0.1:8000"

    @model_validator(mode="after")
    def _no_defaults_in_production(self) -> ServerSettings:
        if self.influx_token is not None and self.influx_username is not None:
            raise ConfigurationError("SERVER_INFLUX_TOKEN or SERVER_INFLUX_USERNAME, not both")
        if self.telemetry_queue_bound < self.telemetry_batch_size:
            raise ConfigurationError("SERVER_TELEMETRY_QUEUE_BOUND must hold one batch")
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ConfigurationError("SERVER_TLS_CERTFILE and SERVER_TLS_KEYFILE go together")
        if (self.mqtt_certfile is None) != (self.mqtt_keyfile is None):
            raise ConfigurationError("SERVER_MQTT_CERTFILE and SERVER_MQTT_KEYFILE go together")
        reloads = (self.mosquitto_pid_file, self.mosquitto_reload_command)
        if self.mosquitto_password_file is not None and reloads == (None, None):
            raise ConfigurationError(
                "SERVER_MOSQUITTO_PASSWORD_FILE needs SERVER_MOSQUITTO_PID_FILE"
                " or SERVER_MOSQUITTO_RELOAD_COMMAND (mosquitto reads it only on SIGHUP)"
            )
        if self.secret_key is not None and not is_fernet_key(self.secret_key.get_secret_value()):
            raise ConfigurationError(
                "SERVER_SECRET_KEY must be a Fernet key (32 bytes, URL-safe base64);"
                " see README, Configuration"
            )
        token = self.admin_token.get_secret_value() if self.admin_token else None
        if token is not None and len(token) < 24:
            raise ConfigurationError("SERVER_ADMIN_TOKEN must be at least 24 characters")
        if self.environment == "production":
            if self.mqtt_tls_insecure:
                raise ConfigurationError("SERVER_MQTT_TLS_INSECURE is for development only")
            if self.database_url is None:
                raise ConfigurationError("production needs SERVER_DATABASE_URL (PostgreSQL)")
            if self.mqtt_enabled and not self.mqtt_password.get_secret_value():
                raise ConfigurationError("production needs SERVER_MQTT_PASSWORD")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'centre.sqlite3').resolve()}"

    @property
    def broker(self) -> BrokerEndpoint:
        return BrokerEndpoint(
            self.mqtt_host,
            self.mqtt_port,
            self.mqtt_username,
            self.mqtt_password.get_secret_value(),
            tls=self._broker_tls(),
        )

    def _broker_tls(self) -> BrokerTls | None:
        if not self.mqtt_tls:
            return None
        return BrokerTls(
            ca_file=self.mqtt_ca_file,
            certfile=self.mqtt_certfile,
            keyfile=self.mqtt_keyfile,
            insecure=self.mqtt_tls_insecure,
        )
