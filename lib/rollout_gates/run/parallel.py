"""`run all --jobs N`: independent gates at the same time, each in a process of its own.

Processes, not threads: a gate run hands the database URL to its kernel through os.environ
(runner.kernel_environment), which threads would share. Every run writes its own run folder.
A gate that reads another's recorded verdict (GateSpec.after) starts once that one has finished.
"""

import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from ..core.verdict import GateResult


def run_gates(
    gate_ids: Sequence[str],
    run_one: Callable[[str], GateResult],
    *,
    jobs: int,
    after: Mapping[str, Sequence[str]],
    announce: Callable[[str], None],
    report: Callable[[GateResult], None],
) -> list[GateResult]:
    """run_one(gate_id) for every gate, at most `jobs` at once; the results in gate order.

    `after[gate]` names the gates that must finish before it starts (others are ignored).
    `announce(gate_id)` is called as a run is handed to a worker, and `report(result)` in this
    process as it ends, so that one gate's lines stay together. With jobs > 1, `run_one` must
    be picklable.
    """
    if jobs <= 1 or len(gate_ids) <= 1:
        results = []
        for gate_id in gate_ids:
            announce(gate_id)
            results.append(run_one(gate_id))
            report(results[-1])
        return results
    # Gates that others wait for go first, so that no waiting gate is left to run alone at the end.
    waiting = sorted(gate_ids, key=lambda gate_id: -count_waiting_on(gate_id, gate_ids, after))
    finished: dict[str, GateResult] = {}
    running: dict[Future, str] = {}
    # fork: the workers start with the runner already imported instead of importing it again.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(min(jobs, len(gate_ids)), mp_context=context) as pool:
        while waiting or running:
            for gate_id in ready_gates(waiting, after, finished, set(gate_ids)):
                waiting.remove(gate_id)
                announce(gate_id)
                running[pool.submit(run_one, gate_id)] = gate_id
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                finished[running.pop(future)] = future.result()
                report(future.result())
    return [finished[gate_id] for gate_id in gate_ids]


def ready_gates(
    waiting: Sequence[str],
    after: Mapping[str, Sequence[str]],
    finished: Mapping[str, GateResult],
    selected: set[str],
) -> list[str]:
    """The waiting gates whose predecessors among the selected gates have all finished."""
    return [
        gate_id
        for gate_id in waiting
        if all(dep in finished for dep in after.get(gate_id, ()) if dep in selected)
    ]


def count_waiting_on(gate_id: str, gate_ids: Sequence[str], after: Mapping[str, Sequence[str]]):
    """How many of the selected gates wait for this one."""
    return sum(gate_id in after.get(other, ()) for other in gate_ids)
