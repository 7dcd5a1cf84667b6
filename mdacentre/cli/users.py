"""``mdacentre users add|passwd|disable|list`` and ``mdacentre audit verify|show``.

Passwords come from standard input (first line) when it is not a terminal, else from a prompt
(asked twice); never from the command line, where other users of the machine could read them.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import pwd
import sys
from pathlib import Path

from mdacentre.api.auth.config import AUDIT_FILE
from mdacentre.api.auth.users import ROLE_TITLES, Role, UserError, UserStore
from mdacentre.runtime.audit import AuditEvent, AuditLog, verify
from mdacentre.runtime.settings import load_settings, repo_root


def _data_dir(args: argparse.Namespace) -> Path:
    if getattr(args, "data_dir", None):
        return Path(args.data_dir)
    return load_settings(Path(args.config) if getattr(args, "config", None) else None).data_dir


def _actor() -> str:
    try:
        return f"cli:{pwd.getpwuid(os.geteuid()).pw_name}"
    except KeyError:
        return f"cli:uid{os.geteuid()}"


def read_password(prompt: str = "Password: ") -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        raise UserError("the two passwords differ")
    return first


def _agencies(args: argparse.Namespace) -> set[str] | None:
    from mdacentre.alerting.routing import load_rules

    rules = Path(args.rules) if args.rules else repo_root() / "alerting" / "routing.toml"
    return set(load_rules(rules).agencies) if rules.is_file() else None


def cmd_users(args: argparse.Namespace) -> int:
    data = _data_dir(args)
    store = UserStore.in_dir(data)
    audit = AuditLog(data / AUDIT_FILE)
    if args.users_cmd == "list":
        for u in store.list():
            flag = " (disabled)" if u.disabled else ""
            agency = f" agency={u.agency}" if u.agency else ""
            print(f"{u.name}\t{ROLE_TITLES[u.role]}{agency}{flag}")
        return 0
    if args.users_cmd == "add":
        agencies = _agencies(args) if args.role == Role.LIAISON.value else None
        user = store.add(args.name, args.role, read_password(), args.agency, agencies)
        audit.append(
            AuditEvent.USER_ADDED,
            _actor(),
            {"user": user.name, "role": user.role.value, "agency": user.agency},
        )
        print(f"added {user.name} ({ROLE_TITLES[user.role]})", file=sys.stderr)
    elif args.users_cmd == "passwd":
        store.set_password(args.name, read_password("New password: "))
        audit.append(AuditEvent.USER_PASSWORD, _actor(), {"user": args.name})
        print(f"password of {args.name} changed", file=sys.stderr)
    elif args.users_cmd == "disable":
        store.disable(args.name)
        audit.append(AuditEvent.USER_DISABLED, _actor(), {"user": args.name})
        print(f"{args.name} disabled; their sessions end at their next request", file=sys.stderr)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    path = Path(args.file) if args.file else _data_dir(args) / AUDIT_FILE
    if args.audit_cmd == "show":
        for rec in AuditLog(path).tail(args.limit)[::-1]:
            print(json.dumps(rec))
        return 0
    res = verify(path)
    for p in res.problems:
        print(f"{path}: {p}", file=sys.stderr)
    print(json.dumps({"file": str(path), "records": res.records, "ok": res.ok}))
    return 0 if res.ok else 1


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sp = sub.add_parser("users", help="manage the sign-in users (users.json in the data directory)")
    usub = sp.add_subparsers(dest="users_cmd", required=True)
    for name, text in (
        ("add", "add a user; the password is read from standard input or a prompt"),
        ("passwd", "set a user's password (standard input or a prompt); re-enables the user"),
        ("disable", "disable a user (their sessions end)"),
        ("list", "list users and roles"),
    ):
        p = usub.add_parser(name, help=text)
        if name != "list":
            p.add_argument("name")
        if name == "add":
            p.add_argument("--role", required=True, choices=[r.value for r in Role])
            p.add_argument("--agency", help="agency id of the routing rules (liaisons only)")
            p.add_argument(
                "--rules", help="routing rules to check --agency against (default alerting/routing.toml)"
            )
        p.add_argument("--data-dir", help="data directory (default: the settings' data_dir, var/)")
        p.add_argument("--config", help="settings TOML file")
    sp.set_defaults(func=cmd_users)

    sp = sub.add_parser("audit", help="check or show the tamper-evident audit trail")
    asub = sp.add_subparsers(dest="audit_cmd", required=True)
    for name in ("verify", "show"):
        p = asub.add_parser(
            name, help="verify the hash chain" if name == "verify" else "print the newest records"
        )
        p.add_argument("--data-dir")
        p.add_argument("--config")
        p.add_argument("--file", help="the audit file (default <data dir>/audit.jsonl)")
        if name == "show":
            p.add_argument("--limit", type=int, default=50)
    sp.set_defaults(func=cmd_audit)


def audit_cli(args: argparse.Namespace, event: AuditEvent, details: dict[str, object]) -> None:
    """Record a command-line export, report or configuration change in the data directory's audit trail."""
    AuditLog(_data_dir(args) / AUDIT_FILE).append(event, _actor(), details)
