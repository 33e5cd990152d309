"""One typed Settings object, read from the environment (prefix ``ADVOCACY_``) once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from advocacy import PROJECT_DIR

VAR_DIR = PROJECT_DIR / "var"
INSECURE_DEV_SECRET = "dev-only-insecure-secret-change-me"  # noqa: S105  (refused in production)


class Settings(BaseSettings):
    """Every setting of the toolkit. The README's settings table documents each one."""

    model_config = SettingsConfigDict(env_prefix="ADVOCACY_", env_file=None, extra="ignore")

    env: str = Field("development", description="development | production; production logs JSON")
    database_url: str = Field(f"sqlite:///{VAR_DIR / 'advocacy.db'}", description="SQLAlchemy URL")
    broker_url: str = Field("", description="empty: in-process; redis://… or amqp://…")
    embedded_worker_threads: int = Field(2, description="worker threads in the web process (embedded mode); 0: none")
    sweep_interval_seconds: float = Field(60.0, description="embedded mode: how often the sweep runs")
    secret_key: str = Field(INSECURE_DEV_SECRET, description="signs links and sessions")
    base_url: str = Field("http://127.0.0.1:8000", description="public URL used in e-mailed links")
    mail_from: str = Field("letters@advocacy.example.org", description="the league's sending address")
    mail_from_name: str = Field("League of California Cities", description="display name for system mail")
    league_short_name: str = Field("Cal Cities", description="used in 'via …' sender names")
    league_copy_address: str = Field("cityletters@advocacy.example.org", description="league letter inbox")
    staff_alert_address: str = Field("", description="where delivery failures are reported; default: staff")
    # The Governor's office takes no letters through the Legislature's portal, and its public intake is a web form
    # (gov.ca.gov/contact, DOMAIN.md §1.8) that has no API; the league must name the address its staff use for
    # signature and veto requests. The default is deliberately not a real mailbox.
    governor_letters_address: str = Field(
        "governor-letters@advocacy.example.org", description="where signature and veto requests are e-mailed"
    )
    governor_name: str = Field("Gavin Newsom", description="addressee of signature and veto requests")
    letter_max_send_attempts: int = Field(6, description="provider calls per letter before its e-mails fail")
    letter_retry_min_backoff_ms: int = Field(15_000, description="first retry delay of a letter's delivery")
    letter_retry_max_backoff_ms: int = Field(3_600_000, description="longest retry delay of a letter's delivery")
    letter_stuck_seconds: int = Field(600, description="sweep: re-send nudges for letters waiting longer than this")
    letter_send_threads: int = Field(
        4, ge=0, description="worker processes: threads that wait for the mail provider (0: the render thread does)"
    )
    # Must stay well above the participation actors' 60 s time limit: a younger claim may be a live worker's.
    participation_mail_stuck_seconds: int = Field(
        600, description="sweep: re-queue nudge and digest e-mails pending or sending longer than this"
    )
    sendgrid_webhook_max_age_seconds: int = Field(600, description="refuse signed events older than this")
    sendgrid_api_key: str = Field("", description="empty: mail goes to the outbox folder")
    sendgrid_api_host: str = Field("https://api.sendgrid.com", description="SendGrid API base URL")
    sendgrid_timeout_seconds: float = Field(20.0, description="HTTP timeout of one SendGrid call")
    sendgrid_webhook_public_key: str = Field("", description="ECDSA public key of the Event Webhook")
    outbox_dir: Path = Field(VAR_DIR / "outbox", description="OutboxMailer folder")
    storage_dir: Path = Field(VAR_DIR / "files", description="PDFs and uploaded seals")
    magic_link_minutes: int = Field(15, description="how long a login link stays valid")
    session_days: int = Field(14, description="how long a login session lasts")
    login_rate_limit: int = Field(5, description="login e-mails per address and per IP per 15 minutes")
    secure_cookies: bool = Field(False, description="Secure flag on cookies (on behind HTTPS)")
    log_json: bool | None = Field(None, description="JSON logs; default: on in production")
    metrics_port: int = Field(0, description="worker Prometheus metrics port; 0 disables")
    # At most a third of the Redis heartbeat timeout (15 s, advocacy/broker.py): a worker whose queues are all quiet
    # still shows it is alive with each look.
    worker_idle_poll_ms: int = Field(
        5_000, ge=10, le=5_000, description="worker processes: longest wait between looks at an empty queue"
    )

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.is_production and self.secret_key == INSECURE_DEV_SECRET:
            raise ValueError("ADVOCACY_SECRET_KEY must be set to a long random value in production")
        if self.is_production and self.is_sqlite:
            raise ValueError("production runs on PostgreSQL: set ADVOCACY_DATABASE_URL")
        return self

    @model_validator(mode="after")
    def _stale_claims_are_really_stale(self) -> Settings:
        # A claim (deliveries `sending`) lives until its provider call returns: up to one SendGrid timeout waiting for a
        # sender thread, one for the call. The sweep re-sends claims older than letter_stuck_seconds: a threshold
        # within reach of a call still under way would send a letter twice.
        if self.letter_stuck_seconds <= 3 * self.sendgrid_timeout_seconds:
            raise ValueError(
                f"ADVOCACY_LETTER_STUCK_SECONDS ({self.letter_stuck_seconds}) must be more than three times "
                f"ADVOCACY_SENDGRID_TIMEOUT_SECONDS ({self.sendgrid_timeout_seconds:g}): the sweep would send letters "
                "again whose SendGrid call may still be under way"
            )
        return self

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.env == "production"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
