"""AIS ship and cargo type codes (ITU-R M.1371, message 5 field 'type of ship and cargo') as words.

Named codes first; otherwise the tens digit names the group (70-79 cargo, 80-89 tanker ...). The map's
vocabulary serves :func:`ship_type_names` so the page keeps no copy of the table.
"""

from __future__ import annotations

NAMED = {
    30: "fishing",
    31: "towing",
    32: "towing (large)",
    33: "dredging",
    34: "diving ops",
    35: "military ops",
    36: "sailing",
    37: "pleasure craft",
    50: "pilot",
    51: "search and rescue",
    52: "tug",
    53: "port tender",
    54: "anti-pollution",
    55: "law enforcement",
    58: "medical transport",
}
GROUPS = {2: "wing in ground", 4: "high-speed craft", 6: "passenger", 7: "cargo", 8: "tanker", 9: "other"}


def ship_type_text(code: int) -> str:
    """'70 cargo' for 70; the bare number when the code names nothing."""
    name = NAMED.get(code) or GROUPS.get(code // 10)
    return f"{code} {name}" if name else str(code)


def ship_type_names() -> dict[str, str]:
    """Every code 0..99 that names something, as text (JSON keys are strings)."""
    return {str(c): ship_type_text(c) for c in range(100) if ship_type_text(c) != str(c)}
