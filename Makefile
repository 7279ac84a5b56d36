# Two commands: `make demo` runs the whole system on this machine, `make test` passes the tests.
# Both create or refresh .venv; both install the Debian packages they need when apt is there.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DEBS := mosquitto mosquitto-clients
TEST_DEBS := $(DEMO_DEBS) influxdb postgresql chromium socat openssl fonts-wqy-microhei

.PHONY: demo test lint bench venv deps-demo deps-test clean

venv: $(STAMP)

# Reinstall only when the project's declared dependencies or pins change.
$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 (Debian: apt-get install python3 python3-venv)"; exit 1; }
	@$(PYTHON) -c "import ensurepip" 2>/dev/null || scripts/ensure-debs.sh python3-venv
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

deps-demo:
	@scripts/ensure-debs.sh $(DEMO_DEBS)

deps-test:
	@scripts/ensure-debs.sh $(TEST_DEBS)

demo: deps-demo $(STAMP)
	$(PY) -m onebox.demo

test: deps-test $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: deps-test $(STAMP)
	$(PY) -m bench.presses

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# Fall detector on SisFall: subject-wise evaluation, and throughput across many streams.
.PHONY: fall-eval fall-rates bench-fall
fall-eval: $(STAMP)
	$(PY) -m gateway.evaluate_sisfall

# The shipped detector on SisFall resampled to 100/50/20 Hz and randomly rotated.
fall-rates: $(STAMP)
	$(PY) -m gateway.evaluate_rates

bench-fall: $(STAMP)
	$(PY) -m bench.fall_detector

# Home detectors (inactivity, night bed exit, wandering) on Ordonez house A: false alarms per
# day and the delay to an injected collapse.
.PHONY: home-eval
home-eval: $(STAMP)
	$(PY) -m gateway.evaluate_ordonez

# Bed vital signs on synthetic nights: heart/respiration rate error, coverage, apnoea alarms,
# against a zero-crossing baseline.
.PHONY: bench-vitals
bench-vitals: $(STAMP)
	$(PY) -m bench.vitals

# Fuzz every boundary parser with a million inputs each (serial frames and payloads, the
# Zigbee2MQTT bridge, the wire codec; the uplink handler with fewer): crashing inputs go to
# var/fuzz/. Not part of `make test`, which runs a 20,000-input version.
.PHONY: fuzz
fuzz: $(STAMP)
	$(PY) -m bench.fuzz

# Telemetry: points/s through the server's ingest into a real InfluxDB, against writing the same
# line protocol straight to it in the same run.
.PHONY: bench-telemetry
bench-telemetry: deps-test $(STAMP)
	$(PY) -m bench.telemetry

# Device events per second the edge layer sustains on one core, serial (real pty) and
# Zigbee2MQTT (real mosquitto), against raw transport baselines and a kit's rate.
.PHONY: bench-edge
bench-edge: deps-demo $(STAMP)
	$(PY) -m bench.edge

# A fleet of simulated homes (firmware_sim.fleet) against a local centre: every alarm once,
# receipt latency, the uplink rate that holds.
.PHONY: bench-fleet
bench-fleet: deps-test $(STAMP)
	$(PY) -m bench.fleet

# Alarm latency idle and under a telemetry flood (a babbling serial device and a fleet of
# chatty homes); the goal is flood p99 at most twice idle p99.
.PHONY: bench-flood
bench-flood: deps-test $(STAMP)
	$(PY) -m bench.flood_latency

# A randomized, seeded fault campaign on real components (bench/chaos.py): a fleet of homes,
# mosquitto, two servers on PostgreSQL and a real gateway, 100+ faults, 10,000+ alarms; last
# line `chaos: alarms=K delivered=D lost=L duplicates=U faults=F max_delay_s=M`. Not in `make test`.
.PHONY: chaos
chaos: deps-test $(STAMP)
	$(PY) -m bench.chaos
