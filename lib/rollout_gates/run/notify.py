"""Tell a chat channel when a gate starts failing, errors, or recovers.

The message goes to a Slack-compatible incoming webhook. It is sent on a change
of state only (a gate that keeps failing every 30 minutes is one alert, not
twelve), and its delivery never changes the verdict: how it went (a failed post
too) is part of the result the runner records in the run's verdict.json. Earlier
verdicts are only read here. The webhook URL is a secret and is never written
anywhere.
"""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ..core import layout
from ..core.verdict import GateResult, Notification, Status, read_verdict
from ..telemetry import db

EMOJI = {"fail": ":red_circle:", "error": ":warning:", "recovered": ":large_green_circle:"}
RETRIED_HTTP_STATUSES = {429, 500, 502, 503, 504}


def notification_kind(status: Status, previous: Status | None) -> str | None:
    """What to say about a run, given the status of the run before it: fail, error, recovered."""
    if status is Status.FAIL and previous is not Status.FAIL:
        return "fail"
    if status is Status.ERROR and previous is not Status.ERROR:
        return "error"
    if status is Status.PASS and previous in (Status.FAIL, Status.ERROR):
        return "recovered"
    return None


def build_message(result: GateResult, kind: str) -> dict:
    """The Slack payload: what happened, the failing checks' figures, what to do, the evidence."""
    when = f" as of {result.as_of:%Y-%m-%d %H:%M} UTC" if result.as_of else ""
    headline = {
        "fail": f"{result.gate} FAILED on {result.env}{when}",
        "error": f"{result.gate} could not judge {result.env}{when} (ERROR)",
        "recovered": f"{result.gate} recovered on {result.env}{when}: PASS",
    }[kind]
    lines = [f"{EMOJI[kind]} *{headline}*"]
    if result.simulated:
        lines.append(f"_simulated data, scenario {result.scenario}: not production_")
    if result.error:
        lines.append(f"error: {result.error}")
    lines += [
        f"• {check.status} `{check.id}`: {check.detail}"
        for check in result.checks
        if check.status in (Status.FAIL, Status.ERROR, Status.INCONCLUSIVE)
    ]
    if result.actions:
        lines.append("*Runbook:*\n```" + "\n".join(result.actions) + "```")
    if result.run_dir:
        lines.append(f"evidence: `{result.run_dir}`")
    text = "\n".join(lines)
    return {
        "text": headline,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def post_json(
    url: str,
    payload: dict,
    *,
    timeout: float = 5.0,
    attempts: int = 3,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, str | None]:
    """POST with a time-out and bounded retries (doubling backoff) on network errors,
    429 and 5xx; returns (attempts made, None) or (attempts made, why it failed)."""
    body = json.dumps(payload).encode()
    problem = None
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
            return attempt, None
        except urllib.error.HTTPError as exc:
            problem = f"HTTP {exc.code} {exc.reason}"
            if exc.code not in RETRIED_HTTP_STATUSES:
                return attempt, db.redact_text(problem, (url,))
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            problem = f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    return attempts, db.redact_text(problem or "unknown failure", (url,))


def previous_status(result: GateResult) -> Status | None:
    """The last state the channel knows of: the status of the latest earlier run of the
    same gate (by run folder) whose alert, if it needed one, was delivered."""
    if not result.run_dir:
        return None
    run_dir = Path(result.run_dir)
    all_runs = layout.verdict_paths(layout.root_of_run(run_dir), result.env, result.gate)
    earlier = [path for path in all_runs if path.parent.name < run_dir.name]
    for path in reversed(earlier):
        try:
            verdict = read_verdict(path)
        except (OSError, ValueError):
            continue  # a damaged verdict says nothing about the state we alerted on
        if verdict.notification is not None and not verdict.notification.sent:
            continue  # never announced: the next run sends it again
        return verdict.status
    return None


def notify_run(result: GateResult, webhook_url: str, **post_options) -> GateResult:
    """Post about the run if its state changed, before its verdict is recorded.

    Returns the result with its `notification` (how the delivery went) for the runner to
    record; the status is never changed.
    """
    kind = notification_kind(result.status, previous_status(result))
    if kind is None:
        return result
    attempts, problem = post_json(webhook_url, build_message(result, kind), **post_options)
    notification = Notification(
        kind=kind,
        sent=problem is None,
        attempts=attempts,
        error=problem,
        at=datetime.now(UTC),
    )
    return result.model_copy(update={"notification": notification})
