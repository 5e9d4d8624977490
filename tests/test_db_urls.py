import pytest

from rollout_gates.core.errors import UsageError
from rollout_gates.telemetry.db import redact_text, redact_url, resolve_db_url, sqlalchemy_url


def test_password_is_replaced_when_a_url_is_shown():
    shown = redact_url("postgresql://app:s3cr3t-pw@db.example.com:5432/postgres?sslmode=require")
    assert "s3cr3t-pw" not in shown
    assert shown == "postgresql://app:***@db.example.com:5432/postgres?sslmode=require"


def test_url_without_password_is_shown_as_is():
    url = "postgresql://postgres@127.0.0.1:5432/test"
    assert redact_url(url) == url


def test_passwords_inside_free_text_are_removed():
    text = 'connection to "postgres://u:hunter22@h/db" failed; PGPASSWORD was pw-env-1'
    cleaned = redact_text(text, ("pw-env-1",))
    assert "hunter22" not in cleaned and "pw-env-1" not in cleaned


def test_url_precedence_flag_then_rollout_then_supabase(monkeypatch):
    monkeypatch.setenv("SUPABASE_DB_URL", "postgresql://s@h/db")
    assert resolve_db_url() == "postgresql://s@h/db"
    monkeypatch.setenv("ROLLOUT_DB_URL", "postgresql://r@h/db")
    assert resolve_db_url() == "postgresql://r@h/db"
    assert resolve_db_url("postgresql://flag@h/db") == "postgresql://flag@h/db"


def test_missing_url_is_a_usage_error_that_mentions_demo(monkeypatch):
    monkeypatch.delenv("ROLLOUT_DB_URL", raising=False)
    monkeypatch.delenv("SUPABASE_DB_URL", raising=False)
    with pytest.raises(UsageError, match="demo"):
        resolve_db_url()


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_both_postgres_schemes_are_accepted(scheme):
    assert sqlalchemy_url(f"{scheme}://u@h/db") == "postgresql+psycopg://u@h/db"


def test_other_schemes_are_refused_without_showing_the_password():
    with pytest.raises(UsageError) as caught:
        sqlalchemy_url("mysql://u:topsecret@h/db")
    assert "topsecret" not in str(caught.value)
