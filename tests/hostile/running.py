"""Running the CLI on a hostile input and checking it ends cleanly: one line, the right exit code,
within a time and memory budget (the issue's bar: under 10 s and 500 MB)."""

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

SECONDS_BUDGET = 10
MEMORY_BUDGET_MB = 500


@dataclass
class Ended:
    """How a CLI run ended: exit status, its output, wall seconds and peak resident memory (MB)."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float

    def assert_clean_error(self, exit_code: int = 2, words: str = "") -> None:
        """One line on stderr, "digitnet COMMAND: error: ...", holding ``words``; ``exit_code``; in budget."""
        assert self.returncode == exit_code, (self.returncode, self.stderr)
        lines = self.stderr.splitlines()
        assert len(lines) == 1 and re.match(r"digitnet( [a-z]+)*: error: ", lines[0]), self.stderr
        assert words in lines[0], lines[0]
        self.assert_in_budget()

    def assert_in_budget(self) -> None:
        assert self.seconds < SECONDS_BUDGET, f"took {self.seconds:.1f} s"
        assert self.peak_mb < MEMORY_BUDGET_MB, f"peaked at {self.peak_mb:.0f} MB"


def run_cli(*args: str, timeout: float = 2 * SECONDS_BUDGET) -> Ended:
    """``python -m digitnet ARGS``, killed after ``timeout`` seconds; its peak memory from wait4."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "digitnet", *args], stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=err, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return Ended(process.returncode, out.read(), err.read(), seconds, usage.ru_maxrss / 1024)
