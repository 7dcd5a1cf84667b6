"""K-way merge of time-ordered batch streams into event-time steps.

Each source (one recording) yields batches whose event times do not go backwards from one batch
to the next (rows inside a batch may be in any order). The merge keeps, per source, what it has
read but not yet emitted, and emits every whole step (``step_s`` of event time, aligned to the
epoch) that no source can still add to: the steps before the smallest "newest time read" over the
sources still open. So the output does not depend on how the files were cut into batches, and
two copies of the same data in different formats give the same steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from mdacentre.model.batch import Batch, concat_rows, empty_positions, empty_statics, take_rows


class _Source:
    def __init__(self, it: Iterable[Batch]) -> None:
        self.it = iter(it)
        self.pos: list[np.ndarray] = []
        self.st: list[np.ndarray] = []
        self.high = -math.inf  # newest event time read from this source
        self.open = True

    def pull(self) -> tuple[dict[str, int], int]:
        try:
            b = next(self.it)
        except StopIteration:
            self.open = False
            return {}, 0
        for arr, store in ((b.positions, self.pos), (b.statics, self.st)):
            if len(arr):
                store.append(arr)
                t = arr["t"][np.isfinite(arr["t"])]
                if len(t):
                    self.high = max(self.high, float(t.max()))
        return b.rejects, b.lines

    def take_before(self, bound: float) -> tuple[np.ndarray, np.ndarray]:
        """Rows with event time before ``bound`` (statics without a time go with the first step)."""
        out = []
        for store, empty in ((self.pos, empty_positions), (self.st, empty_statics)):
            if not store:
                out.append(empty())
                continue
            arr = concat_rows(store) if len(store) > 1 else store[0]
            t = np.nan_to_num(arr["t"], nan=-math.inf)
            early = t < bound
            out.append(take_rows(arr, early))
            rest = take_rows(arr, ~early)
            store[:] = [rest] if len(rest) else []
        return out[0], out[1]


def merge_steps(sources: Sequence[Iterable[Batch]], step_s: float = 60.0) -> Iterator[Batch]:
    """Batches of ``step_s`` seconds of event time, merged from all ``sources`` in event-time order."""
    srcs = [_Source(s) for s in sources]
    rejects: dict[str, int] = {}
    lines = 0
    while True:
        live = [s for s in srcs if s.open]
        if live:
            laggard = min(live, key=lambda s: s.high)
            rj, n = laggard.pull()
            for k, v in rj.items():
                rejects[k] = rejects.get(k, 0) + v
            lines += n
            live = [s for s in srcs if s.open]
        low = min(s.high for s in live) if live else math.inf
        if low == -math.inf:
            continue  # a source still open has given no time yet
        bound = math.floor(low / step_s) * step_s if live else math.inf
        taken = [s.take_before(bound) for s in srcs]
        pos = concat_rows([p for p, _ in taken])
        st = concat_rows([s for _, s in taken])
        if len(pos) or len(st) or not live:
            for b in _steps(pos, st, step_s):
                b.rejects, b.lines, rejects, lines = rejects, lines, {}, 0
                yield b
        if not live:
            if rejects or lines:
                yield Batch(rejects=rejects, lines=lines)
            return


def _steps(pos: np.ndarray, st: np.ndarray, step_s: float) -> Iterator[Batch]:
    """Rows cut into batches per step of event time, in time order (stable: source order within a time)."""
    pos = take_rows(pos, np.argsort(pos["t"], kind="stable"))
    st_t = np.nan_to_num(st["t"], nan=-math.inf)
    order = np.argsort(st_t, kind="stable")
    st, st_t = take_rows(st, order), st_t[order]
    cell_p = np.floor(pos["t"] / step_s)
    cell_s = np.floor(st_t / step_s)
    cells = np.unique(np.concatenate([cell_p, cell_s[np.isfinite(cell_s)]]))
    if len(cells) == 0:
        if len(st):
            yield Batch(statics=st)
        return
    # statics without a time (or before the first position) go with the first step
    cell_s = np.maximum(cell_s, cells[0])
    p0 = np.searchsorted(cell_p, cells, side="left")
    pz = np.searchsorted(cell_p, cells, side="right")
    sa = np.searchsorted(cell_s, cells, side="left")
    sz = np.searchsorted(cell_s, cells, side="right")
    for i in range(len(cells)):
        if pz[i] > p0[i] or sz[i] > sa[i]:
            yield Batch(positions=pos[p0[i] : pz[i]], statics=st[sa[i] : sz[i]])
