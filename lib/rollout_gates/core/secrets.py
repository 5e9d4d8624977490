"""Database URLs and the secrets beside them: where the URL comes from, and how anything shown
or written loses its password (pure, so the runner and the CLI use it without SQLAlchemy)."""

import os
import re
from urllib.parse import urlsplit, urlunsplit

from .errors import UsageError

URL_ENV_VARS = ("ROLLOUT_DB_URL", "SUPABASE_DB_URL")
# Secrets that may sit in the environment: never shown, whatever fails.
WEBHOOK_ENV = "ROLLOUT_NOTIFY_WEBHOOK"  # a secret: the URL of the chat webhook
SECRET_ENV_VARS = ("PGPASSWORD", WEBHOOK_ENV)
_URL_WITH_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)([^@\s]+)(@)", re.IGNORECASE)


def resolve_db_url(explicit: str | None = None) -> str:
    """--db-url, else ROLLOUT_DB_URL, else SUPABASE_DB_URL (the runbook's variable)."""
    if explicit:
        return explicit
    for name in URL_ENV_VARS:
        if os.environ.get(name):
            return os.environ[name]
    raise UsageError(
        "no database URL: pass --db-url or set ROLLOUT_DB_URL or SUPABASE_DB_URL "
        "(to try the tool on simulated data, run `rollout-gates demo`)"
    )


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***, for anything shown or written."""
    parts = urlsplit(url)
    if parts.password is None or parts.password == "":
        return url
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove passwords of any URL in free text, and any given secret strings."""
    text = _URL_WITH_PASSWORD.sub(r"\1***\3", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def url_password(url: str) -> str | None:
    return urlsplit(url).password or None


def secrets_of(url: str) -> tuple[str, ...]:
    """The URL's password and the secrets in the environment, for redact_text."""
    candidates = [url_password(url), *(os.environ.get(name) for name in SECRET_ENV_VARS)]
    return tuple(filter(None, candidates))


def sqlalchemy_url(url: str) -> str:
    """postgres:// and postgresql:// URLs as SQLAlchemy URLs for the psycopg 3 driver."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgres", "postgresql", "postgresql+psycopg"):
        raise UsageError(
            f"unsupported database URL {redact_url(url)!r}: expected postgresql://USER@HOST/DB"
        )
    return f"postgresql+psycopg://{rest}"
