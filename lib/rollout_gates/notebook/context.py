"""What a gate notebook works with: parameters, a read-only session, the as-of, the run folder."""

import io
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from .. import __version__
from ..config import params as config
from ..config.ledger import FlagChange, read_ledger
from ..core import layout
from ..core.errors import DatabaseError, RolloutGatesError, UsageError
from ..core.secrets import redact_url, resolve_db_url
from ..core.timefmt import parse_as_of
from ..core.verdict import BEHIND_TABLE, Check, GateResult
from ..gates import gate_module
from ..gates.base import Assessment, GateSpec
from ..run.evidence import hand_over
from ..telemetry import db, trail
from ..telemetry.metrics import Window, fetch_frame, load_query

# How far back telemetry is searched for the phase a verdict was taken in, without a ledger.
PHASE_LOOKBACK = timedelta(days=14)


@dataclass
class GateContext:
    spec: GateSpec
    env: str
    params: config.GateParams
    taxonomy: dict
    url: str
    connection: sa.Connection
    as_of: datetime
    server_version: str
    database: str
    run_dir: Path | None
    simulated: bool = False
    scenario: str | None = None
    notes: list[str] = field(default_factory=list)
    evidence_dir: Path | None = None  # the evidence root when there is no run folder
    # When human attestations are recorded: the time the notebook opened; a replay step's as-of.
    attested_at: datetime | None = None

    @property
    def window(self) -> Window:
        return Window.ending(self.as_of, self.params.window)

    @property
    def evidence_root(self) -> Path:
        """Where recorded verdicts and the flag ledger are: the run's outputs root."""
        if self.run_dir:
            return layout.root_of_run(self.run_dir)
        return self.evidence_dir or layout.outputs_dir()

    def ledger(self, env: str | None = None) -> list[FlagChange]:
        """The flag changes recorded for `env` (this gate's by default); [] without a ledger."""
        return read_ledger(layout.ledger_path(self.evidence_root, env or self.env))

    def window_of(self, length) -> Window:
        return Window.ending(self.as_of, length)

    def query(self, name: str, **binds) -> pd.DataFrame:
        return fetch_frame(self.connection, name, **binds)

    def describe(self) -> str:
        lines = [
            f"gate **{self.spec.id}** on **{self.env}** ({self.database}, PostgreSQL "
            f"{self.server_version}, `{redact_url(self.url)}`)",
            f"as of **{self.as_of:%Y-%m-%d %H:%M:%S} UTC**, window "
            f"{self.window.start:%Y-%m-%d %H:%M} to {self.window.end:%H:%M} UTC "
            f"({config.format_duration(self.params.window)})",
        ]
        if self.simulated:
            lines.append(
                f"**SIMULATED DATA** (scenario `{self.scenario}`): not production evidence"
            )
        lines.extend(self.notes)
        return "\n\n".join(lines)

    def save_table(self, frame: pd.DataFrame, name: str) -> pd.DataFrame:
        """Keep the table as CSV in the run folder; returns it for display."""
        if self.run_dir is not None:
            folder = layout.tables_dir(self.run_dir)
            folder.mkdir(parents=True, exist_ok=True)
            frame.to_csv(folder / f"{name}.csv", index=False)
        return frame

    def save_figure(self, figure, name: str) -> None:
        """Render the figure once, as PNG: kept in figures/ and shown in the notebook."""
        from IPython.display import Image, display

        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        if self.run_dir is not None:
            folder = layout.figures_dir(self.run_dir)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.png").write_bytes(buffer.getvalue())
        display(Image(data=buffer.getvalue(), format="png"))

    def finish(self, metrics, checks: list[Check], advice) -> GateResult:
        """The gate's verdict from its checks, with what `advice` (the gate module's) says to
        do about it; in a run, handed over to the runner, which records it."""
        assessment = Assessment(env=self.env, params=self.params, metrics=metrics, checks=checks)
        status = assessment.status
        # The gate's reads are done: end the read-only transaction rather than leave it open
        # (holding a snapshot) until the kernel exits.
        self.connection.rollback()
        self.capture_bookings_behind(checks)
        result = GateResult(
            gate=self.spec.id,
            env=self.env,
            status=status,
            as_of=self.as_of,
            window_start=self.window.start,
            window_end=self.window.end,
            runbook_step=self.spec.runbook_step,
            checks=checks,
            actions=advice(assessment),
            simulated=self.simulated,
            scenario=self.scenario,
            params=self.params.model_dump(mode="json"),
            params_hash=self.params.digest(),
            tool_version=__version__,
            server_version=self.server_version,
            database=self.database,
            run_dir=str(self.run_dir) if self.run_dir else None,
            **self.phase_fields(getattr(metrics, "phase", None)),
        )
        if self.run_dir is not None:
            hand_over(result)
        return result

    def capture_bookings_behind(self, checks: list[Check]) -> None:
        """tables/bookings-behind.csv: the bookings behind the failing checks, with their
        trails. It is evidence, not the verdict: a query that fails here is said, not raised."""
        if self.run_dir is None or not trail.failing_with_bookings(checks):
            return
        try:
            table = trail.bookings_behind(
                self.connection, self.taxonomy, checks, self.as_of, self.params.outcome_grace
            )
        except sa.exc.SQLAlchemyError as exc:
            self.connection.rollback()
            print(f"could not list the bookings behind the failing checks: "
                  f"{db.describe_db_error(exc, self.url)}")  # fmt: skip
            return
        self.connection.rollback()
        self.save_table(table, BEHIND_TABLE)

    def phase_fields(self, judged_by=None) -> dict:
        """The rollout phase at the as-of and whether it is the gate's: the clock the gate
        judged by (`metrics.phase`) when it has one, so that the verdict names the phase its
        checks saw and the clock's telemetry is not read twice; else ledger, else telemetry."""
        from ..telemetry.phase import (
            clock_from_stretch,
            fetch_active_stretch,
            in_checkpoint_phase,
            resolve_phase_clock,
        )

        def from_telemetry():
            lookback = Window.ending(self.as_of, PHASE_LOOKBACK)
            stretch = fetch_active_stretch(self.connection, self.taxonomy, lookback)
            self.connection.rollback()
            return clock_from_stretch(stretch)

        clock = judged_by or resolve_phase_clock(self.ledger(), self.as_of, from_telemetry)
        return {
            "phase": clock.phase,
            "phase_since": clock.started,
            "phase_source": clock.source,
            "in_phase": in_checkpoint_phase(self.spec.id, clock),
        }


def open_gate(
    gate_id: str,
    env: str = "production",
    as_of: str = "",
    overrides: dict | None = None,
    run_dir: str = "",
    evidence_dir: str = "",
) -> GateContext:
    """Validate the parameters, open a read-only session, fix the as-of time.

    Recorded verdicts and the flag ledger are read from the evidence root: the run
    folder's, else `evidence_dir`, else outputs/ (or the demo's, for a notebook by hand).

    The database URL comes from the environment (ROLLOUT_DB_URL, SUPABASE_DB_URL),
    never from a notebook parameter, so it is never written into a notebook.
    """
    module = gate_module(gate_id)
    params = config.load_params(
        module.SPEC.params_model, gate_id, env, {k: str(v) for k, v in (overrides or {}).items()}
    )
    taxonomy = config.load_taxonomy()
    requested_as_of, as_of_note = parse_as_of(as_of)
    url, fallback_note = database_url_for(env)
    engine = db.create_readonly_engine(url, params.statement_timeout)
    try:
        connection = engine.connect()
        facts = connection.execute(load_query("database_facts")).one()
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(db.describe_db_error(exc, url)) from None
    try:
        check_database(facts, requested_as_of, url)
    except RolloutGatesError:
        connection.close()  # not left to the garbage collector
        raise
    scenario = None
    if facts.has_simulation_marker:
        marker = connection.execute(load_query("simulation_marker")).first()
        scenario = marker.scenario if marker else "unknown"
    connection.rollback()
    folder = Path(run_dir) if run_dir else None
    if folder is not None:
        os.makedirs(folder, exist_ok=True)
    return GateContext(
        spec=module.SPEC,
        env=env,
        params=params,
        taxonomy=taxonomy,
        url=url,
        connection=connection,
        as_of=(requested_as_of or facts.server_now).astimezone(UTC),
        server_version=facts.server_version,
        database=facts.database,
        run_dir=folder,
        simulated=facts.has_simulation_marker,
        scenario=scenario,
        notes=[note for note in (as_of_note, fallback_note) if note],
        evidence_dir=Path(evidence_dir)
        if evidence_dir
        else (demo_evidence_root(scenario) if fallback_note else None),
        attested_at=datetime.now(UTC),
    )


def check_database(facts, requested_as_of: datetime | None, url: str) -> None:
    """Refuse a database the gates cannot judge, or an as-of after its clock."""
    if not facts.has_events_table:
        raise DatabaseError(
            f"database {facts.database!r} has no observability_events table: is "
            f"{redact_url(url)} the application's database?"
        )
    if facts.column_problems:
        raise DatabaseError(
            f"database {facts.database!r}: observability_events.{facts.column_problems}; "
            "the gates need the application's migration (spec/telemetry.md)"
        )
    if requested_as_of is not None and requested_as_of > facts.server_now:
        raise UsageError(
            f"--as-of {requested_as_of:%Y-%m-%dT%H:%M:%SZ} is after the database clock "
            f"({facts.server_now:%Y-%m-%dT%H:%M:%SZ}): a window in the future has no data"
        )


def database_url_for(env: str) -> tuple[str, str]:
    """The URL from the environment; in a notebook opened by hand, else the embedded server's.

    `rollout-gates run` always passes a URL, so a scheduled run never lands on demo data.
    """
    try:
        return resolve_db_url(), ""
    except UsageError as missing:
        from ..ops import embedded

        try:
            url = embedded.url(env)
        except RolloutGatesError:
            raise missing from None
        return url, (
            "**No ROLLOUT_DB_URL set: reading the embedded demo database** "
            f"(`{env}`); set ROLLOUT_DB_URL to judge a real environment."
        )


def demo_evidence_root(scenario: str | None) -> Path | None:
    """The latest demo's evidence for this scenario, where preflight and cleanup find verdicts."""
    if not scenario:
        return None
    root = layout.latest_demo_root(scenario)
    return root if root.exists() else None
