"""Progress of long history jobs (backtest, export) on stderr: a tqdm bar when stderr is a terminal.

``--progress`` forces the bar when stderr is a file or a pipe (as ``replay --progress`` does); without
a terminal and without the flag nothing is drawn, so logs and pipes stay clean.
"""

from __future__ import annotations

import sys
from typing import IO, Any


class JobProgress:
    """Steps of a job (days, passes) with a description and a short status after the bar."""

    def __init__(
        self,
        desc: str,
        total: int | None = None,
        unit: str = "step",
        stream: IO[str] | None = None,
        enabled: bool | None = None,
    ) -> None:
        from tqdm import tqdm

        stream = stream if stream is not None else sys.stderr
        on = is_terminal(stream) if enabled is None else enabled
        self.bar = tqdm(
            total=total,
            desc=desc,
            unit=unit,
            file=stream,
            disable=not on,
            dynamic_ncols=True,
            mininterval=0.2,
            leave=True,
        )

    @property
    def shown(self) -> bool:
        return not self.bar.disable

    def set_total(self, total: int) -> None:
        if self.bar.total != total:
            self.bar.total = total
            self.bar.refresh()

    def step(self, status: str = "", n: int = 1) -> None:
        if self.bar.disable:
            return
        if status:
            self.bar.set_postfix_str(status, refresh=False)
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> JobProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def forced(args: Any) -> bool | None:
    """True when ``--progress`` was given, else None (a bar only on a terminal)."""
    return True if getattr(args, "progress", False) else None
