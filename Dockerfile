# One image for every Python service of the system (server, gateway, firmware-sim, onebox);
# docker-compose.yml picks the program with `command`. Build: docker build -t eldercare .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src

# Project metadata and pins first, then the packages (see [tool.setuptools.packages.find]:
# where = [".", "firmware-sim"]).
COPY pyproject.toml constraints.txt README.md ./
COPY protocol ./protocol
COPY edge ./edge
COPY gateway ./gateway
COPY server ./server
COPY firmware-sim ./firmware-sim
COPY onebox ./onebox

# Regular (non-editable) install into site-packages; the source tree is removed afterwards so
# the running code is exactly what was installed.
RUN pip install --no-cache-dir -c constraints.txt . \
    && rm -rf /src

# Unprivileged runtime user. The data directories are created here, owned by that user, so
# that named volumes mounted on them start with the right ownership.
RUN groupadd --system --gid 10001 eldercare \
    && useradd --system --uid 10001 --gid eldercare --home-dir /var/lib/eldercare \
        --shell /usr/sbin/nologin eldercare \
    && install -d -o eldercare -g eldercare -m 0750 /var/lib/eldercare /var/lib/gateway

WORKDIR /var/lib/eldercare
USER 10001:10001

EXPOSE 8000
CMD ["python", "-m", "server"]
