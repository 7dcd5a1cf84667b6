"""Watch-listed ships for the behaviour detectors: CSV files of MMSI, IMO, name and reason.

Named by ``watch_lists`` in ``[detectors.encounter]`` (paths relative to the profiles file). One
ship per line, header ``mmsi,imo,name,reason``; ``#`` lines are comments. Each line is checked by
:class:`WatchEntry` (an MMSI of 9 digits, an IMO number of 7 digits with a valid check digit, at
least one of MMSI, IMO or name, and a reason); a bad line stops the start-up naming file, line
and field. A ship matches by any of its identifiers, so a ship that changes its MMSI is still
known by its IMO number or name.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from mdacentre.model.errors import ConfigError
from mdacentre.model.imo import valid_imo

COLUMNS = ("mmsi", "imo", "name", "reason")


def _norm_name(v: str) -> str:
    return " ".join(v.upper().split())


class WatchEntry(BaseModel):
    """One watch-listed ship."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    mmsi: int | None = None
    imo: int | None = None
    name: str = ""
    reason: str

    @field_validator("mmsi", "imo", mode="before")
    @classmethod
    def _blank_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("mmsi")
    @classmethod
    def _mmsi(cls, v: int | None) -> int | None:
        if v is not None and not 100_000_000 <= v <= 999_999_999:
            raise ValueError("an MMSI has 9 digits")
        return v

    @field_validator("imo")
    @classmethod
    def _imo(cls, v: int | None) -> int | None:
        if v is not None and not bool(valid_imo([v])[0]):
            raise ValueError("not an IMO number (7 digits with a valid check digit)")
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _norm_name(v)

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str) -> str:
        if not v:
            raise ValueError("give the reason the ship is watched (it is shown in the alert)")
        return v

    @model_validator(mode="after")
    def _some_identity(self) -> WatchEntry:
        if self.mmsi is None and self.imo is None and not self.name:
            raise ValueError("give at least one of mmsi, imo or name")
        return self


@dataclass(frozen=True)
class ShipWatchList:
    """Watch-listed ships by MMSI, IMO number and normalised name, each with its reason."""

    by_mmsi: dict[int, str] = field(default_factory=dict)
    by_imo: dict[int, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.by_mmsi) + len(self.by_imo) + len(self.by_name)

    def reason(self, mmsi: int, imo: int, name: str) -> str | None:
        """Why a ship with these identifiers is watched, or None."""
        if mmsi in self.by_mmsi:
            return self.by_mmsi[mmsi]
        if imo in self.by_imo:
            return self.by_imo[imo]
        n = _norm_name(name)
        return self.by_name.get(n) if n else None

    @classmethod
    def of(cls, entries: list[WatchEntry], mmsis: tuple[str, ...] = ()) -> ShipWatchList:
        wl = cls({int(m): "watch-listed MMSI" for m in mmsis if m.strip().isdigit()})
        for e in entries:
            if e.mmsi is not None:
                wl.by_mmsi[e.mmsi] = e.reason
            if e.imo is not None:
                wl.by_imo[e.imo] = e.reason
            if e.name:
                wl.by_name[e.name] = e.reason
        return wl


def read_watch_csv(path: Path) -> list[WatchEntry]:
    """The entries of one watch-list CSV; :class:`ConfigError` naming file, line and field otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read watch-list {path}: {exc}; check watch_lists in [detectors.encounter]"
        ) from None
    numbered = [
        (i, ln) for i, ln in enumerate(text.splitlines(), 1) if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not numbered:
        return []
    header = [h.strip().lower() for h in next(csv.reader([numbered[0][1]]))]
    if header != list(COLUMNS):
        raise ConfigError(f"{path} line {numbered[0][0]}: the header must be {','.join(COLUMNS)}")
    out: list[WatchEntry] = []
    for (lineno, _ln), row in zip(numbered[1:], csv.reader([ln for _i, ln in numbered[1:]]), strict=True):
        if len(row) != len(COLUMNS):
            raise ConfigError(f"{path} line {lineno}: {len(row)} fields, expected {len(COLUMNS)}")
        try:
            out.append(WatchEntry.model_validate(dict(zip(COLUMNS, row, strict=True))))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(x) for x in e['loc']) or 'line'}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(f"{path} line {lineno}: {problems}") from None
    return out


def load_ship_watchlists(
    paths: tuple[str, ...], base_dir: Path, mmsis: tuple[str, ...] = ()
) -> ShipWatchList:
    """Every file of ``paths`` (relative to ``base_dir``) and the plain ``mmsis``, as one list."""
    entries: list[WatchEntry] = []
    for s in paths:
        p = Path(s)
        entries += read_watch_csv(p if p.is_absolute() else base_dir / p)
    return ShipWatchList.of(entries, mmsis)
