# Suspicious-account registry: API image. Migrations run as a separate step:
#   docker run --rm -e REGISTRY_DATABASE_URL=... IMAGE registry migrate
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements.lock pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN python -m venv /opt/registry \
 && /opt/registry/bin/pip install --no-cache-dir -r requirements.lock \
 && /opt/registry/bin/pip install --no-cache-dir --no-deps .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/registry --create-home registry
COPY --from=build /opt/registry /opt/registry
ENV PATH=/opt/registry/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    REGISTRY_JWT_KEY_FILE=/var/lib/registry/keys/jwt.pem \
    REGISTRY_DATABASE_URL=sqlite+aiosqlite:////var/lib/registry/registry.db
USER registry
WORKDIR /var/lib/registry
VOLUME ["/var/lib/registry"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["registry", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-migrate"]
