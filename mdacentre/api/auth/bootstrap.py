"""The first user: with an empty users file the service creates the watch officer ``watch`` so the map
is usable at once; its password is the configured one or a generated one printed once on start."""

from __future__ import annotations

import secrets

from mdacentre.api.auth.users import Role, UserStore

FIRST_USER = "watch"


def ensure_first_user(store: UserStore, password: str = "") -> tuple[str, str | None] | None:
    """``(name, generated password or None)`` when a first user was created, else None."""
    if store.list():
        return None
    generated = None if password else secrets.token_urlsafe(12)
    store.add(FIRST_USER, Role.WATCH, password or generated or "")
    return FIRST_USER, generated
