"""Ctrl-C for writer tests: a real SIGINT to a command while it writes its output."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["interrupt_while_writing"]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_while_writing(command: Sequence[str], folder: Path, timeout: float = 120.0) -> tuple[int, str]:
    """Run ``command``, send it SIGINT once a temporary ``*.partial`` output appears in ``folder``.

    Returns the exit code and the standard error. The signal goes to the process
    itself (as a terminal's Ctrl-C does), not to a mocked handler.
    """
    # A shell starts background jobs with SIGINT ignored, and an ignored signal stays ignored
    # across exec (Python then installs no KeyboardInterrupt handler): give the command the
    # default disposition, as a terminal's foreground job has.
    proc = subprocess.Popen(
        list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint
    )
    deadline = time.monotonic() + timeout
    while not any(p.name.endswith(".partial") for p in folder.iterdir()) and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err
