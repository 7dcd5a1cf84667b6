"""Counters and gauges for every stage, exposed as Prometheus text and JSON.

No module-level registry: the service creates one :class:`Metrics` and hands it to
the stages that count.
"""

from __future__ import annotations

import threading
from collections import defaultdict

LabelKey = tuple[tuple[str, str], ...]


class Metrics:
    """Thread-safe named counters and gauges with labels."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[LabelKey, float]] = defaultdict(lambda: defaultdict(float))
        self._gauges: dict[str, dict[LabelKey, float]] = defaultdict(dict)
        self._help: dict[str, str] = {}

    @staticmethod
    def _key(labels: dict[str, str] | None) -> LabelKey:
        return tuple(sorted((labels or {}).items()))

    def describe(self, name: str, text: str) -> None:
        self._help[name] = text

    def inc(self, name: str, value: float = 1.0, labels: dict[str, str] | None = None) -> None:
        with self._lock:
            self._counters[name][self._key(labels)] += value

    def add_rejects(self, rejects: dict[str, int], feed: str) -> None:
        with self._lock:
            series = self._counters["mda_rejects_total"]
            for reason, n in rejects.items():
                series[(("feed", feed), ("reason", str(reason)))] += n

    def add_internal_errors(self, n: int, stage: str, feed: str = "") -> None:
        """Failures of the service's own code in ``stage`` (bugs, not bad input): ``mda_internal_errors_total``."""
        labels = {"stage": stage, "feed": feed} if feed else {"stage": stage}
        self._help.setdefault(
            "mda_internal_errors_total", "failures of the service's own code, by stage (not input rejects)"
        )
        self.inc("mda_internal_errors_total", n, labels)

    def set(self, name: str, value: float, labels: dict[str, str] | None = None) -> None:
        with self._lock:
            self._gauges[name][self._key(labels)] = value

    def get(self, name: str, labels: dict[str, str] | None = None) -> float:
        key = self._key(labels)
        with self._lock:
            if name in self._counters and key in self._counters[name]:
                return self._counters[name][key]
            return self._gauges.get(name, {}).get(key, 0.0)

    def total(self, name: str, **match: str) -> float:
        """Sum of a counter over every label set that contains ``match``."""
        with self._lock:
            series = self._counters.get(name, {})
            return sum(v for k, v in series.items() if all((m, val) in k for m, val in match.items()))

    def by_label(self, name: str, label: str, **match: str) -> dict[str, float]:
        """Sum of a counter grouped by one label, over the series that contain ``match``."""
        out: dict[str, float] = {}
        with self._lock:
            for k, v in self._counters.get(name, {}).items():
                d = dict(k)
                if label in d and all(d.get(m) == val for m, val in match.items()):
                    out[d[label]] = out.get(d[label], 0.0) + v
        return out

    def snapshot(self) -> dict[str, list[dict[str, object]]]:
        with self._lock:
            out: dict[str, list[dict[str, object]]] = {}
            for table in (self._counters, self._gauges):
                for name, series in table.items():
                    out[name] = [{"labels": dict(k), "value": v} for k, v in series.items()]
            return out

    def prometheus(self) -> str:
        lines: list[str] = []
        with self._lock:
            for kind, table in (("counter", self._counters), ("gauge", self._gauges)):
                for name in sorted(table):
                    if name in self._help:
                        lines.append(f"# HELP {name} {self._help[name]}")
                    lines.append(f"# TYPE {name} {kind}")
                    for labels, value in sorted(table[name].items()):
                        if labels:
                            inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                            lines.append(f"{name}{{{inner}}} {value:g}")
                        else:
                            lines.append(f"{name} {value:g}")
        return "\n".join(lines) + "\n"


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
