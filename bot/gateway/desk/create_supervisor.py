"""Create a desk supervisor: ``python -m bot.gateway.desk.create_supervisor``.

There is no default account and no default password. This command is how the
first supervisor comes to exist (and how a new one is made if every supervisor
is locked out); supervisors then create the other staff on the desk. The
password is typed twice without echo and never appears in arguments, the
environment or logs. The database must be migrated (``python -m bot.records.migrate``).
The new supervisor's first desk log-in enrols an authenticator app (TOTP,
:mod:`bot.records.second_factor`); a supervisor who has lost theirs is reset by
another supervisor on the desk, or by a new supervisor made with this command.

    python -m bot.gateway.desk.create_supervisor --username wangfang --display-name 王芳
"""
from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence

from bot.records.db import session_scope
from bot.records.errors import DeskError
from bot.records.staff import (
    MAX_DISPLAY_NAME_LENGTH,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    create_staff,
    normalize_username,
    password_problems,
)
from bot.records.staff_models import StaffRole

MAX_ATTEMPTS = 3


def main(
    argv: Sequence[str] | None = None,
    *,
    read_password: Callable[[str], str] = getpass.getpass,
    out: Callable[[str], None] = print,
) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.gateway.desk.create_supervisor",
        description="Create a supervisor account of the complaint desk.",
    )
    parser.add_argument("--username", required=True,
                        help="3-50 of a-z 0-9 . _ -, starting with a letter")
    parser.add_argument("--display-name", required=True, help="the person's name as staff see it")
    parser.add_argument("--url", help="records database URL (default: DATABASE_URL)")
    args = parser.parse_args(argv)

    username = normalize_username(args.username)
    if username is None:
        out("error: the user name must be 3-50 characters of a-z 0-9 . _ - starting with a letter")
        return 2
    for _attempt in range(MAX_ATTEMPTS):
        password = read_password("Password for %s (not shown): " % username)
        problems = password_problems(password, username)
        if problems:
            out("error: " + "; ".join(_PROBLEM_TEXT.get(code, code) for code in problems))
            continue
        if read_password("The same password again: ") != password:
            out("error: the two passwords differ")
            continue
        break
    else:
        out("error: no acceptable password given; nothing was created")
        return 1
    try:
        with session_scope(args.url) as session:
            staff = create_staff(
                session, None,
                username=username, display_name=args.display_name, role=StaffRole.supervisor,
                password=password, must_change_password=False,
            )
    except DeskError as exc:
        out(f"error: {_ERROR_TEXT.get(exc.code, exc.code)}; nothing was created")
        return 1
    out(f"supervisor {staff.username} created; log in at /desk/login, where the first log-in "
        "sets up the second factor (have an authenticator app ready on your phone)")
    return 0


_PROBLEM_TEXT = {
    "password_required": "a password is required",
    "password_too_short": f"use at least {MIN_PASSWORD_LENGTH} characters",
    "password_too_long": f"use at most {MAX_PASSWORD_LENGTH} characters",
    "password_contains_username": "the password must not contain the user name",
    "password_too_common": "the password is too simple or too common",
}
_ERROR_TEXT = {
    "username_taken": "that user name already exists",
    "display_name_required": "--display-name must not be empty",
    "display_name_too_long": f"--display-name is longer than {MAX_DISPLAY_NAME_LENGTH} characters",
    "display_name_invalid": "--display-name must be one line",
}


if __name__ == "__main__":
    sys.exit(main())
