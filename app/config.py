"""Settings, read once from ``REGISTRY_*`` environment variables."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service. The README lists each variable with its default."""

    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./registry.db"
    # Where people reach this service: the base of the console links the CLI prints.
    public_url: str = "http://127.0.0.1:8000"
    jwt_key_file: Path = Path("./registry-jwt-key.pem")
    # Signs audit checkpoints; keep it away from the database (and its backups).
    checkpoint_key_file: Path = Path("./registry-checkpoint-key.pem")
    # Fixed by contract: every token carries them, and verification demands them.
    jwt_issuer: str = "urn:vn-fraud-registry"
    jwt_audience: str = "urn:vn-fraud-registry:api"
    token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    # Every process re-reads the signing_key table this often (SPEC §8 "Signing keys").
    key_poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    # A rotated-in key is published this long before it signs, so every process already
    # verifies it when the first token signed by it arrives. Keep it above the poll interval.
    key_publish_delay_seconds: float = Field(default=3.0, ge=0, le=300)
    # Failed client authentications at the token endpoint (SPEC §8 "Token endpoint"),
    # counted per fixed window: per source address, per (client_id, address) pair, and per
    # client_id (the last applies only to addresses that have failed for that client, so a
    # flood cannot lock the real client out from its own address).
    token_failure_window_seconds: int = Field(default=60, ge=1, le=86_400)
    token_failures_per_address: int = Field(default=20, ge=1)
    token_failures_per_client_address: int = Field(default=5, ge=1)
    token_failures_per_client: int = Field(default=50, ge=1)
    # Failed console sign-ins (SPEC §12), counted the same way: per address, per
    # (username, address) and per username, the last only for addresses that failed for it.
    login_failure_window_seconds: int = Field(default=300, ge=1, le=86_400)
    login_failures_per_address: int = Field(default=30, ge=1)
    login_failures_per_user_address: int = Field(default=5, ge=1)
    login_failures_per_user: int = Field(default=50, ge=1)
    # Console sessions: ended after this long without a request, and this long after login.
    console_idle_minutes: float = Field(default=15, gt=0, le=24 * 60)
    console_absolute_hours: float = Field(default=8, gt=0, le=7 * 24)
    # Console bulk import (/console/import): the largest upload, the most data rows, and
    # where uploads wait for the user's confirmation (default: <tmp>/registry-console-imports).
    console_import_max_bytes: int = Field(default=5 * 1_048_576, ge=1024, le=100 * 1_048_576)
    console_import_max_rows: int = Field(default=10_000, ge=1, le=1_000_000)
    console_import_dir: Path | None = None
    # Fractions are allowed so that tests and drills can watch a report expire.
    flag_ttl_days: float = Field(default=90, gt=0, le=3650)
    dispute_days: int = Field(default=15, ge=1, le=365)
    # Holds between institutions (SPEC §10): the holder answers within these hours; police
    # confirm within these working days (Monday-Friday in Vietnam time, less the holidays:
    # comma-separated ISO dates, e.g. "2027-01-01,2027-02-05").
    hold_respond_hours: float = Field(default=24, gt=0, le=24 * 30)
    hold_confirm_working_days: int = Field(default=3, ge=1, le=60)
    hold_holidays: str = ""
    # The largest transfer a warning outcome may claim (SPEC §8): one bank must not be able
    # to forge the city's "VND protected" with a single outcome.
    max_outcome_vnd: int = Field(default=100_000_000_000, ge=1, le=10**15)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_header_bytes: int = Field(default=16_384, ge=1024)
    # How long the in-memory index may lag the database before lookups answer 503.
    index_max_staleness_seconds: float = Field(default=1.0, gt=0)
    index_poll_interval_seconds: float = Field(default=0.2, gt=0)
    db_pool_size: int = Field(default=10, ge=1)
    # Waiting longer for a pooled connection only piles up callers: fail fast with 503.
    db_pool_timeout_seconds: float = Field(default=2.0, gt=0)
    # How long a warn/hold lookup waits for its warning's commit before answering without
    # a warning_id (the answer itself is never held back longer).
    warning_commit_timeout_seconds: float = Field(default=1.0, gt=0, le=30)
    # Answer POST /v1/lookup and /v1/lookup/batch in an ASGI layer before the framework
    # (app.subjects.fast_lookup). Off, the framework routes answer: same bytes, slower.
    lookup_fast_path: bool = True
    expiry_interval_seconds: float = Field(default=60.0, gt=0)
    # Warnings are sealed (a chained digest over each range, app.warnings.seal) this often,
    # once they are this old: a warning commits behind its lookup, so the lag must exceed
    # the longest a warning batch can take to commit after its created_at.
    warning_seal_interval_seconds: float = Field(default=60.0, gt=0)
    warning_seal_lag_seconds: float = Field(default=120.0, ge=0)
    # Webhooks (SPEC §11, app.webhooks). Hosts or CIDRs (comma-separated) that a webhook
    # may target although private or loopback; a listed host may also use plain http.
    webhook_allowed_hosts: str = ""
    # A message is retried (backing off) this long after its first attempt, then failed.
    webhook_retry_hours: float = Field(default=24, gt=0, le=24 * 30)
    webhook_backoff_base_seconds: float = Field(default=10, gt=0, le=3600)
    webhook_backoff_max_seconds: float = Field(default=3600, gt=0, le=86_400)
    webhook_connect_timeout_seconds: float = Field(default=3, gt=0, le=60)
    webhook_read_timeout_seconds: float = Field(default=10, gt=0, le=120)
    # Each `registry serve` process polls for due subscriptions this often; a claimed
    # subscription is leased to one worker this long (longer than a batch of sends takes).
    webhook_poll_interval_seconds: float = Field(default=1.0, gt=0, le=300)
    webhook_lease_seconds: float = Field(default=120, ge=10, le=3600)
    webhook_worker: bool = True
    log_level: str = "INFO"
    # After start, move every live object out of the cyclic collector's reach (gc.freeze):
    # full collections then skip the framework's and the index's objects, which cut the
    # batch lookup's p99 from 62 to 20 ms. Off in tests, which start many apps per process.
    gc_freeze_after_start: bool = True
    # After SIGTERM, /readyz answers 503 this long before the server stops accepting.
    shutdown_drain_seconds: float = Field(default=2.0, ge=0, le=60)
    # Shared rate-limit counters for several workers or hosts; in-process without it.
    redis_url: str | None = None
    rate_limit_per_second: int = Field(default=2000, ge=1)
    distinct_identifiers_per_hour: int = Field(default=100_000, ge=1)
    # The public portal and POST /v1/public/* (app/portal): no token, so limits per source
    # address (a burst from one address is a 429) and a budget for every address together.
    public_checks_per_address: int = Field(default=20, ge=1)
    public_check_window_seconds: int = Field(default=60, ge=1, le=86_400)
    public_checks_global: int = Field(default=6000, ge=1)
    public_reports_per_address: int = Field(default=5, ge=1)
    public_report_window_seconds: int = Field(default=3600, ge=1, le=86_400)
    public_reports_global: int = Field(default=500, ge=1)
    # An uploaded QR photo or screenshot: bytes, and pixels declared by its header; decoded
    # at most this many at a time.
    qr_upload_max_bytes: int = Field(default=1_000_000, ge=1024)
    qr_max_pixels: int = Field(default=12_000_000, ge=10_000, le=100_000_000)
    qr_decoders: int = Field(default=2, ge=1, le=16)
    # GET /metrics (Prometheus text format, app.metrics). Off: no counting and a 404.
    metrics_enabled: bool = True
    # The bearer token a scraper must send; unset, every scrape is refused (401), so the
    # metrics are never public. At least 16 characters.
    metrics_token: SecretStr | None = Field(default=None, min_length=16)

    @field_validator("hold_holidays")
    @classmethod
    def _holidays_are_dates(cls, value: str) -> str:
        _parse_dates(value)
        return value

    @property
    def hold_holiday_dates(self) -> frozenset[date]:
        return _parse_dates(self.hold_holidays)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _parse_dates(text: str) -> frozenset[date]:
    """Comma-separated ISO dates (blanks ignored); a ValueError names the bad one."""
    return frozenset(date.fromisoformat(part.strip()) for part in text.split(",") if part.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
