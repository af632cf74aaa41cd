# aws-connector-wizard: one container, SQLite on the /data volume by default,
# or CONNECTOR_WIZARD_DATABASE_URL=postgresql+psycopg://… for several replicas.
# Configuration comes only from CONNECTOR_WIZARD_* environment variables.
#
#   docker build -t connector-wizard .
#   docker run -p 8000:8000 -v connector-wizard-data:/data connector-wizard
#
# BASE_IMAGE lets CI build on a locally made Debian base (scripts/docker-smoke.sh)
# where no image registry is reachable; it needs python3 with venv.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# Optional extras to install as well, e.g. --build-arg EXTRAS="postgres demo".
ARG EXTRAS="postgres"
RUN python3 -m venv /opt/venv
WORKDIR /src
# Dependencies first, from pyproject.toml alone: this layer is rebuilt only
# when the dependencies change, not on every source edit.
COPY pyproject.toml ./
RUN python3 -c 'import sys, tomllib; project = tomllib.load(open("pyproject.toml", "rb"))["project"]; extras = project["optional-dependencies"]; print("\n".join(project["dependencies"] + [d for e in sys.argv[1:] for d in extras[e]]))' ${EXTRAS} > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt
COPY README.md ./
COPY app ./app
COPY templates ./templates
COPY static ./static
COPY migrations ./migrations
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps . \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONNECTOR_WIZARD_HOST=0.0.0.0 \
    CONNECTOR_WIZARD_PORT=8000 \
    CONNECTOR_WIZARD_DATABASE_URL=sqlite:////data/connector-wizard.sqlite3 \
    CONNECTOR_WIZARD_LOG_FORMAT=json
# A fixed, unprivileged uid/gid that owns nothing but /data.
RUN groupadd --system --gid 10001 wizard \
    && useradd --system --no-log-init --uid 10001 --gid wizard --home-dir /data --shell /usr/sbin/nologin wizard \
    && mkdir /data \
    && chown wizard:wizard /data
COPY --from=build /opt/venv /opt/venv
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
EXPOSE 8000
# Liveness only (/readyz also checks the database and migrations).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CONNECTOR_WIZARD_PORT', '8000'), timeout=4)"]
# exec form: the server is PID 1 and gets SIGTERM itself; uvicorn then stops
# accepting, finishes requests in flight and runs the lifespan shutdown.
# Migrations run at start-up; if they fail the server exits (status 3) and
# serves nothing.
STOPSIGNAL SIGTERM
ENTRYPOINT ["connector-wizard"]
CMD ["serve"]
