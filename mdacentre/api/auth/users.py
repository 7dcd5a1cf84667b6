"""The embedded users file: names, roles, agencies and argon2 password hashes (``<data dir>/users.json``).

The file is written atomically with mode 0600 and holds no clear-text password. Unknown names are
checked against a dummy hash so that a wrong name and a wrong password take the same time.
"""

from __future__ import annotations

import os
import re
import threading
from enum import StrEnum
from pathlib import Path

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, ConfigDict, ValidationError

from mdacentre.model.errors import ConfigError, MdaError

USER_NAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
AGENCY_ID = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
USERS_FILE = "users.json"


class Role(StrEnum):
    WATCH = "watch"  # watch officer: the whole picture; acknowledge and retract any alert
    LIAISON = "liaison"  # agency liaison: its agency's states and categories only
    ANALYST = "analyst"  # history and reports, read-only
    ADMIN = "admin"  # users, configuration and the audit trail


ROLE_TITLES = {
    Role.WATCH: "watch officer",
    Role.LIAISON: "agency liaison",
    Role.ANALYST: "analyst",
    Role.ADMIN: "administrator",
}


class UserError(MdaError):
    """A user cannot be added, changed or signed in as asked."""


class User(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    role: Role
    agency: str | None = None
    hash: str
    disabled: bool = False

    def public(self) -> dict[str, object]:
        return {"name": self.name, "role": self.role.value, "agency": self.agency, "disabled": self.disabled}


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    users: list[User] = []


def check_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserError(f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if password.strip() != password or "\n" in password:
        raise UserError("a password may not start or end with blanks or contain a line break")
    return password


class UserStore:
    """Users in ``path``; every change rewrites the file atomically."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        self.path = Path(path)
        self._hasher = hasher or PasswordHasher()
        self._lock = threading.Lock()
        # at most two hashes at once: each argon2 verification takes 64 MiB, a flood of sign-ins must
        # queue instead of exhausting memory
        self._hashing = threading.BoundedSemaphore(2)
        self._dummy = self._hasher.hash("not a password of anyone")

    @classmethod
    def in_dir(cls, data_dir: Path) -> UserStore:
        return cls(Path(data_dir) / USERS_FILE)

    def _load(self) -> dict[str, User]:
        if not self.path.is_file():
            return {}
        try:
            doc = UsersFile.model_validate_json(self.path.read_bytes())
        except (OSError, ValidationError) as exc:
            raise ConfigError(f"users file {self.path} is unreadable or malformed: {exc}") from None
        return {u.name: u for u in doc.users}

    def _save(self, users: dict[str, User]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".new")
        data = orjson.dumps(
            UsersFile(users=list(users.values())).model_dump(mode="json"), option=orjson.OPT_INDENT_2
        )
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data + b"\n")
        os.replace(tmp, self.path)

    def list(self) -> list[User]:
        with self._lock:
            return sorted(self._load().values(), key=lambda u: u.name)

    def get(self, name: str) -> User | None:
        with self._lock:
            return self._load().get(name)

    def add(
        self,
        name: str,
        role: Role | str,
        password: str,
        agency: str | None = None,
        known_agencies: set[str] | None = None,
    ) -> User:
        if not USER_NAME.match(name or ""):
            raise UserError(
                f"user name {name!r}: 2-32 characters of a-z, 0-9, '.', '_' or '-', starting with a letter"
            )
        try:
            role = Role(role)
        except ValueError:
            raise UserError(f"role {role!r}: one of {[r.value for r in Role]}") from None
        if role == Role.LIAISON:
            if not agency or not AGENCY_ID.match(agency):
                raise UserError("an agency liaison needs --agency, the agency id of the routing rules")
            if known_agencies is not None and agency not in known_agencies:
                raise UserError(
                    f"agency {agency!r} is not in the routing rules; known: {sorted(known_agencies)}"
                )
        elif agency:
            raise UserError(
                f"only agency liaisons belong to an agency; a {ROLE_TITLES[role]} takes no --agency"
            )
        user = User(name=name, role=role, agency=agency, hash=self._hasher.hash(check_password(password)))
        with self._lock:
            users = self._load()
            if name in users:
                raise UserError(f"user {name!r} exists; use passwd to change the password")
            users[name] = user
            self._save(users)
        return user

    def set_password(self, name: str, password: str) -> User:
        digest = self._hasher.hash(check_password(password))
        with self._lock:
            users = self._load()
            if name not in users:
                raise UserError(f"no user {name!r}")
            users[name] = users[name].model_copy(update={"hash": digest, "disabled": False})
            self._save(users)
            return users[name]

    def disable(self, name: str) -> User:
        with self._lock:
            users = self._load()
            if name not in users:
                raise UserError(f"no user {name!r}")
            users[name] = users[name].model_copy(update={"disabled": True})
            self._save(users)
            return users[name]

    def verify(self, name: str, password: str) -> User | None:
        """The user when ``password`` is right and the user is enabled, else None (same cost either way)."""
        if not isinstance(password, str) or len(password) > MAX_PASSWORD:
            return None
        with self._lock:
            user = self._load().get(name) if isinstance(name, str) else None
        digest = user.hash if user is not None else self._dummy
        try:
            with self._hashing:
                self._hasher.verify(digest, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if user is None or user.disabled:
            return None
        if self._hasher.check_needs_rehash(user.hash):
            self.set_password(user.name, password)
        return user
