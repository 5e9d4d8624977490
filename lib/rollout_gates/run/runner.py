"""Execute a gate's notebook with papermill and leave its evidence, whatever happens."""

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .. import __version__
from ..config import params as config
from ..core import layout
from ..core.errors import RolloutGatesError
from ..core.secrets import redact_text, secrets_of, sqlalchemy_url
from ..core.timefmt import parse_as_of
from ..core.verdict import GateResult, Status, read_verdict
from ..gates import gate_module, gate_notebook
from ..present.display import trace_pointer, verdict_markdown
from .evidence import record_verdict, take_handed_over
from .lock import gate_lock

KERNEL_NAME = "rollout-gates"
TEXT_SUFFIXES = {".ipynb", ".html", ".json", ".csv", ".md", ".txt", ".log"}
INTERRUPTED = "interrupted (Ctrl-C or SIGTERM) before the notebook finished"


class RunInterrupted(RolloutGatesError):
    """Ctrl-C or SIGTERM stopped a run after its partial evidence and ERROR verdict were written."""

    def __init__(self, result: GateResult):
        super().__init__(f"{result.gate} on {result.env} {INTERRUPTED}; evidence: {result.run_dir}")
        self.result = result

    def __reduce__(self):
        """Cross from a `run all --jobs` worker to the parent with its result."""
        return type(self), (self.result,)


# jsonschema (under nbformat and papermill, imported lazily below) compiles rfc3987_syntax's IRI
# grammar with lark when imported: about 1.7 s of every run. The notebook schema checks no IRI
# format, so jsonschema is told that package is absent; a process that has it loaded keeps it.
sys.modules.setdefault("rfc3987_syntax", None)


def run_gate(
    gate_id: str,
    env: str,
    *,
    db_url: str,
    as_of: str = "",
    overrides: dict[str, str] | None = None,
    output_root: Path | None = None,
    progress: bool = False,
    execution_timeout: int = 600,
    lock_wait: float = 600,
    secrets: tuple[str, ...] = (),
    webhook_url: str | None = None,
) -> GateResult:
    """Run one gate into outputs/<env>/<gate>/<UTC timestamp>/ and return its verdict.

    Bad parameters raise UsageError before anything runs or is written. A run of the
    same gate and environment still going holds the lock: this one waits up to
    `lock_wait` seconds, then raises LockTimeout. Once the run folder exists, every
    failure ends as an ERROR verdict beside the partial notebook; Ctrl-C or SIGTERM
    too, after which RunInterrupted is raised. `secrets` are scrubbed from the evidence
    besides the database password. With `webhook_url`, a change of state is announced
    (notify.notify_run) before the verdict, with how the delivery went, is recorded.
    """
    params = check_request(gate_id, env, db_url=db_url, as_of=as_of, overrides=overrides)
    # Absolute: the kernel runs inside the run folder, where a relative path would nest.
    root = (output_root or layout.outputs_dir()).resolve()
    with gate_lock(layout.lock_path(root, env, gate_id), lock_wait, f"{gate_id} on {env}"):
        return _run_locked(
            gate_id,
            env,
            params,
            db_url=db_url,
            as_of=as_of,
            overrides=overrides,
            run_dir=layout.make_run_dir(layout.gate_dir(root, env, gate_id)),
            progress=progress,
            execution_timeout=execution_timeout,
            secrets=secrets,
            webhook_url=webhook_url,
        )


def _run_locked(
    gate_id, env, params, *, db_url, as_of, overrides, run_dir, progress, execution_timeout,
    secrets, webhook_url,
) -> GateResult:  # fmt: skip
    module = gate_module(gate_id)
    notebook_path = run_dir / f"{gate_id}.ipynb"
    secrets = tuple(filter(None, [*secrets_of(db_url), *secrets]))
    interrupted = False
    exporter = start_html_exporter()
    try:
        error = execute(
            gate_notebook(gate_id),
            notebook_path,
            parameters={
                "env": env,
                "as_of": as_of or "",
                "overrides": dict(overrides or {}),
                "run_dir": str(run_dir),
            },
            kernel_env={"ROLLOUT_DB_URL": db_url},
            progress=progress,
            execution_timeout=execution_timeout,
        )
    except KeyboardInterrupt:
        interrupted, error = True, INTERRUPTED
    notebook = read_notebook(notebook_path)
    handed_over = take_handed_over(notebook)
    result = handed_over if error is None else None
    if error is None and result is None:
        error = "the notebook finished without recording a verdict"
    if error is not None:
        result = GateResult(
            gate=gate_id,
            env=env,
            status=Status.ERROR,
            runbook_step=module.SPEC.runbook_step,
            error=redact_text(error, secrets),
            params=params.model_dump(mode="json"),
            params_hash=params.digest(),
            tool_version=__version__,
            run_dir=str(run_dir),
        )
    if webhook_url and not interrupted:
        from .notify import notify_run

        result = notify_run(result, webhook_url)
    record_verdict(run_dir, result)
    annotate_notebook(notebook, notebook_path, result)
    render_html(notebook_path, run_dir / f"{gate_id}.html", exporter.result())
    for leaked in scrub_secrets(run_dir, secrets):
        print(f"warning: removed a secret from {leaked} (please report this)", file=sys.stderr)
    if interrupted:
        raise RunInterrupted(result)
    return result


def run_replay(
    gate_id: str,
    env: str,
    *,
    db_url: str,
    start: str,
    end: str,
    step: str,
    overrides: dict[str, str] | None = None,
    output_root: Path | None = None,
    execution_timeout: int = 600,
) -> tuple[Path, dict | None, str | None]:
    """Run notebooks/replay.ipynb into outputs/<env>/replays/<gate>/<UTC>/.

    Returns the folder, the replay.json summary, and the failure (None when it worked).
    """
    check_request(gate_id, env, db_url=db_url, as_of=end, overrides=overrides)
    parse_as_of(start)
    root = (output_root or layout.outputs_dir()).resolve()
    run_dir = layout.make_run_dir(layout.replay_dir(root, env, gate_id))
    error = run_analysis(
        "replay.ipynb",
        run_dir / f"replay-{gate_id}.ipynb",
        {
            "gate": gate_id,
            "env": env,
            "start": start,
            "end": end,
            "step": step,
            "overrides": dict(overrides or {}),
            "run_dir": str(run_dir),
            "evidence_dir": str(root),
        },
        db_url=db_url,
        execution_timeout=execution_timeout,
    )
    summary_path = run_dir / "replay.json"
    if error is None and not summary_path.exists():
        error = "the replay notebook finished without writing replay.json"
    if error is not None:
        return run_dir, None, error
    return run_dir, json.loads(summary_path.read_text()), None


def check_request(
    gate_id: str, env: str, *, db_url: str, as_of: str, overrides: dict[str, str] | None
) -> config.GateParams:
    """Refuse bad input (UsageError) before anything runs; returns the gate's parameters."""
    module = gate_module(gate_id)
    params = config.load_params(module.SPEC.params_model, gate_id, env, overrides)
    parse_as_of(as_of)
    sqlalchemy_url(db_url)
    return params


@contextlib.contextmanager
def kernel_environment(values: dict[str, str]) -> Iterator[None]:
    """Hand values to the kernel through its environment (papermill's kernel inherits ours)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def execute(
    source: Path,
    target: Path,
    *,
    parameters: dict,
    kernel_env: dict[str, str],
    progress: bool,
    execution_timeout: int,
) -> str | None:
    """Run the notebook; returns None on success, else a one-line description of the failure."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    if not source.exists():
        return f"notebook {source} is missing"
    try:
        ensure_kernel()
        PrivateKernelManager = _private_kernel_manager()  # noqa: N806
        with kernel_environment(kernel_env):
            papermill.execute_notebook(
                str(source),
                str(target),
                parameters=parameters,
                kernel_name=KERNEL_NAME,
                progress_bar=progress,
                cwd=str(target.parent),
                execution_timeout=execution_timeout,
                kernel_manager_class=PrivateKernelManager,
                # The verdict is on disk once the last cell ran: a graceful shutdown only
                # waits (about 1 s) for the kernel's atexit hooks.
                shutdown_kernel="immediate",
            )
    except PapermillExecutionError as exc:
        return f"{exc.ename}: {' '.join(str(exc.evalue).split())}"
    except Exception as exc:  # kernel set-up or death, timeouts: the run still ends with a verdict
        return f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return None


def _private_kernel_manager():
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from jupyter_core.utils import ensure_dir_exists
    from traitlets import CaselessStrEnum, default

    class PrivateKernelManager(AsyncKernelManager):
        """Talk to the kernel over IPC sockets, not a TCP port other local users could reach."""

        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        @default("ip")
        def _unique_socket_path(self) -> str:
            """Sockets in the user's private runtime folder, named for this kernel alone.

            jupyter_client's default, kernel-ipc-N in the working folder, is picked by testing
            which N is free: gates run in parallel (`run all --jobs`) could pick the same one.
            """
            folder = jupyter_runtime_dir()
            ensure_dir_exists(folder, mode=0o700)
            return os.path.join(folder, f"rollout-gates-{uuid.uuid4().hex[:16]}-ipc")

    return PrivateKernelManager


def ensure_kernel() -> None:
    """Register this interpreter as the `rollout-gates` kernel if no such kernel exists.

    Papermill then runs notebooks with the package's own Python, not whatever
    `python3` kernel happens to be installed.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        install(kernel_name=KERNEL_NAME, display_name="Python (rollout-gates)", prefix=sys.prefix)


def read_notebook(path: Path):
    """The executed notebook; an empty one when the run ended before papermill wrote it."""
    import nbformat

    return nbformat.read(path, as_version=4) if path.exists() else nbformat.v4.new_notebook()


def annotate_notebook(notebook, path: Path, result: GateResult) -> None:
    """Put the verdict in the notebook's metadata and as a banner cell at its top."""
    import nbformat

    pointer = trace_pointer(path.parent, result)
    banner = nbformat.v4.new_markdown_cell(
        verdict_markdown(result) + (f"\n\n{pointer}" if pointer else "")
    )
    banner.metadata["tags"] = ["rollout-gates-verdict"]
    notebook.cells.insert(0, banner)
    notebook.metadata["rollout_gates"] = result.model_dump(mode="json")
    nbformat.write(notebook, path)


def start_html_exporter() -> Future:
    """Import nbconvert and compile its templates in a thread while the kernel runs.

    The first export of a process spends about 1 s on that; the runner only waits meanwhile.
    papermill is imported here first, in the calling thread: nbconvert imports jupyter_client
    too, and two threads importing it at once could find it partly initialised (ImportError),
    which crashed a run before it wrote any evidence.
    """
    import papermill  # noqa: F401  (before the thread: see above)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="html-exporter")
    future = pool.submit(warm_html_exporter)
    pool.shutdown(wait=False)
    return future


def warm_html_exporter():
    """An HTML exporter, with the evidence template (no CDN scripts), that has exported once,
    so its templates are compiled."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="evidence",
        extra_template_basedirs=[str(layout.templates_dir())],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.from_notebook_node(nbformat.v4.new_notebook())
    return exporter


def render_html(notebook_path: Path, html_path: Path, exporter=None) -> None:
    """The executed notebook as HTML without code cells, for incident reports."""
    import nbformat

    exporter = exporter or warm_html_exporter()
    body, _ = exporter.from_notebook_node(nbformat.read(notebook_path, as_version=4))
    html_path.write_text(body)


def scrub_secrets(folder: Path, secrets: tuple[str, ...]) -> list[Path]:
    """Last line of defence: no secret survives in a text file of the run folder.

    Returns the files that held one: each is a leak upstream, to be fixed there.
    """
    cleaned_files = []
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in TEXT_SUFFIXES:
            text = path.read_text(errors="replace")
            cleaned = redact_text(text, secrets)
            if cleaned != text:
                path.write_text(cleaned)
                cleaned_files.append(path)
    return cleaned_files


def run_trace(
    env: str,
    *,
    db_url: str,
    verdict_path: Path | None,
    booking_id: str,
    as_of: str,
    output_root: Path | None = None,
    execution_timeout: int = 600,
) -> tuple[Path, str | None]:
    """Run notebooks/booking-trace.ipynb into outputs/<env>/traces/<UTC>/; a verdict's as-of is
    the trace's unless one is given. Returns the folder and the failure (None when it worked)."""
    if verdict_path is not None and not as_of:
        recorded = read_verdict(verdict_path).as_of
        as_of = recorded.isoformat() if recorded else ""
    parse_as_of(as_of)
    sqlalchemy_url(db_url)
    root = (output_root or layout.outputs_dir()).resolve()
    run_dir = layout.make_run_dir(layout.trace_dir(root, env))
    error = run_analysis(
        "booking-trace.ipynb",
        run_dir / "booking-trace.ipynb",
        {
            "env": env,
            "as_of": as_of,
            "booking_id": booking_id,
            "verdict_path": str(verdict_path.resolve()) if verdict_path else "",
        },
        db_url=db_url,
        execution_timeout=execution_timeout,
    )
    return run_dir, error


def run_analysis(
    source: str, notebook_path: Path, parameters: dict, *, db_url: str, execution_timeout: int
) -> str | None:
    """Execute notebooks/<source>, a replay or a trace (no verdict, no lock), into notebook_path,
    its HTML beside it and no secret left in the folder; returns the failure, redacted, or None."""
    error = execute(
        layout.notebooks_dir() / source,
        notebook_path,
        parameters=parameters,
        kernel_env={"ROLLOUT_DB_URL": db_url},
        progress=False,
        execution_timeout=execution_timeout,
    )
    secrets = secrets_of(db_url)
    if notebook_path.exists():
        render_html(notebook_path, notebook_path.with_suffix(".html"))
    for leaked in scrub_secrets(notebook_path.parent, secrets):
        print(f"warning: removed a secret from {leaked} (please report this)", file=sys.stderr)
    return redact_text(error, secrets) if error else None
