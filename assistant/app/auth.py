"""Sign-in for the page when it is exposed beyond this machine.

Users and password hashes come from a file (``ASSISTANT_AUTH_FILE``, one
``user:hash`` line each, ``#`` comments allowed) and/or the environment
(``ASSISTANT_AUTH``, the same entries separated by whitespace). Hashes are
scrypt from the standard library, made by ``assistant passwd USER``. Bound to
loopback the page needs no sign-in (as before); bound to anything else it
refuses to start without one. Not handled: roles, per-user documents,
sign-up, lock-out after failed attempts, TLS (put a reverse proxy in front).

>>> users = parse_entries(hash_line("ada", "correct horse", n=2**4))
>>> verify(users, "ada", "correct horse"), verify(users, "ada", "wrong"), verify(users, "bob", "x")
(True, False, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
from collections.abc import Callable
from pathlib import Path

from ..config import Settings
from ..errors import ConfigError

SCHEME = "scrypt"
HOW = ("create users with `assistant passwd NAME >> users.txt`, then set ASSISTANT_AUTH_FILE=users.txt "
       "(see docs/deploy.md)")


def hash_line(user: str, password: str, *, n: int = 2**15, r: int = 8, p: int = 1) -> str:
    """A ``user:scrypt$n$r$p$salt$hash`` line for the users file."""
    check_user(user)
    if not password:
        raise ConfigError("empty password")
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=2**26)
    return f"{user}:{SCHEME}${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def check_user(user: str) -> None:
    if not user or any(c.isspace() for c in user) or ":" in user:
        raise ConfigError(f"user name must be non-empty, without spaces or ':', got {user!r}")


def verify(users: dict[str, str], user: str, password: str) -> bool:
    """True when ``password`` matches the stored hash of ``user`` (constant-time compare)."""
    stored = users.get(user)
    if stored is None:
        return False
    _scheme, n, r, p, salt, digest = stored.split("$")
    got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=2**26)
    return hmac.compare_digest(got, _unb64(digest))


def parse_entries(text: str, where: str = "ASSISTANT_AUTH") -> dict[str, str]:
    """``user:hash`` entries (lines or whitespace-separated) -> {user: hash}; a bad entry names itself."""
    users: dict[str, str] = {}
    for i, line in enumerate(text.splitlines(), 1):
        for entry in line.split("#", 1)[0].split():
            user, _, stored = entry.partition(":")
            parts = stored.split("$")
            if len(parts) != 6 or parts[0] != SCHEME or not all(x.isdigit() for x in parts[1:4]):
                raise ConfigError(f"{where} line {i}: expected user:{SCHEME}$... from `assistant passwd USER`, "
                                  f"got {user or entry!r}:...")
            users[user] = stored
    return users


def load_users(settings: Settings) -> dict[str, str]:
    """Every configured user: the file first, then the environment (which wins on a clash)."""
    users: dict[str, str] = {}
    if settings.auth_file:
        path = Path(settings.auth_file).expanduser()
        try:
            users.update(parse_entries(path.read_text(encoding="utf-8"), str(path)))
        except OSError as exc:
            raise ConfigError(f"cannot read ASSISTANT_AUTH_FILE {path}: {exc.strerror}") from None
    users.update(parse_entries(settings.auth))
    return users


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost`` reach only this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def for_host(host: str, settings: Settings) -> Callable[[str, str], bool] | None:
    """Gradio's ``auth=`` for a bind address: None on loopback without users; refuse exposure without."""
    users = load_users(settings)
    if not users:
        if is_loopback(host):
            return None
        raise ConfigError(f"refusing to serve on {host} without sign-in: {HOW}")
    return lambda user, password: verify(users, user, password)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
