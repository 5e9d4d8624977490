"""One run at a time per environment and gate: a file lock in the environment's output folder.

A scheduler that fires while the previous run of the same gate is still going
must not interleave with it. `flock` is released by the kernel when its holder
exits, even by SIGKILL, so a crashed run never leaves a stale lock behind.
"""

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from ..core.errors import RolloutGatesError

POLL_SECONDS = 0.2


class LockTimeout(RolloutGatesError):
    """Another run of the same gate held the lock for longer than we were willing to wait."""


@contextlib.contextmanager
def gate_lock(path: Path, wait_seconds: float, describe: str) -> Iterator[None]:
    """Hold the lock at `path` for the block; wait up to `wait_seconds` for another holder.

    `describe` names the run in the message a waiting run gives up with.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RolloutGatesError(
            f"cannot write evidence under {path.parent}: {exc.strerror}; "
            "choose a writable folder with --output-dir"
        ) from None
    try:
        deadline = time.monotonic() + max(wait_seconds, 0.0)
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f"another run of {describe} is in progress ({_holder(fd)}); gave up after "
                    f"waiting {wait_seconds:g}s. Its evidence is untouched: wait for it to "
                    "finish, or raise --lock-wait"
                )
            time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(fd: int) -> str:
    """Who holds the lock, as its holder wrote it: 'pid N since T'."""
    text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    return f"held by {text}" if text else "its holder is starting"
