"""Ctrl-C for writer tests: a real SIGINT to a command while it writes its output."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["interrupt_while_writing"]


def interrupt_while_writing(command: Sequence[str], folder: Path, timeout: float = 120.0) -> tuple[int, str]:
    """Run ``command``, send it SIGINT once a temporary ``*.partial`` output appears in ``folder``.

    Returns the exit code and the standard error. The signal goes to the process
    itself (as a terminal's Ctrl-C does), not to a mocked handler.
    """
    proc = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while not any(p.name.endswith(".partial") for p in folder.iterdir()) and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err
