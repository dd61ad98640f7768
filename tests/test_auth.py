"""Sign-in: hashes, users from a file or the environment, refusal to expose the page without them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Settings
from assistant.app import auth
from assistant.errors import ConfigError
from tests.conftest import REPO, write

FAST = {"n": 2**4}  # cheap scrypt for unit tests; the CLI uses the real cost


def cli(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_AUTH")}
    return subprocess.run([sys.executable, "-m", "assistant", *args], input=stdin, capture_output=True, text=True,
                          env={**full, **(env or {})}, cwd=REPO, timeout=60)


def test_hash_verifies_only_the_right_password_and_salts_differ() -> None:
    a, b = auth.hash_line("ada", "pw", **FAST), auth.hash_line("ada", "pw", **FAST)
    assert a != b  # a fresh salt each time
    users = auth.parse_entries(a)
    assert auth.verify(users, "ada", "pw") and not auth.verify(users, "ada", "pw ") \
        and not auth.verify(users, "eve", "pw")


@pytest.mark.parametrize("bad", ["ada", "ada:md5$x", "ada:scrypt$a$b$c$d$e", ":scrypt$1"])
def test_malformed_entries_name_the_line(bad: str) -> None:
    with pytest.raises(ConfigError, match="line 2"):
        auth.parse_entries("# users\n" + bad, "users.txt")


@pytest.mark.parametrize("user", ["", "a b", "a:b"])
def test_bad_user_names_are_refused(user: str) -> None:
    with pytest.raises(ConfigError):
        auth.hash_line(user, "pw", **FAST)


def test_users_come_from_file_and_environment(tmp_path: Path) -> None:
    f = write(tmp_path / "users.txt", auth.hash_line("ada", "one", **FAST) + "\n\n# comment\n")
    env_line = auth.hash_line("bob", "two", **FAST)
    users = auth.load_users(Settings.load(auth_file=str(f), auth=env_line))
    assert set(users) == {"ada", "bob"}
    with pytest.raises(ConfigError, match="cannot read"):
        auth.load_users(Settings.load(auth_file=str(tmp_path / "missing.txt")))


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("127.0.1.1", True), ("localhost", True),
                                       ("::1", True), ("0.0.0.0", False), ("192.168.1.5", False),
                                       ("::", False), ("example.org", False)])
def test_loopback_detection(host: str, loop: bool) -> None:
    assert auth.is_loopback(host) is loop


def test_exposed_bind_needs_users_loopback_does_not() -> None:
    bare = Settings.load(auth="", auth_file="")
    assert auth.for_host("127.0.0.1", bare) is None
    with pytest.raises(ConfigError, match="refusing to serve on 0.0.0.0 without sign-in"):
        auth.for_host("0.0.0.0", bare)
    check = auth.for_host("0.0.0.0", Settings.load(auth=auth.hash_line("ada", "pw", **FAST)))
    assert check is not None and check("ada", "pw") and not check("ada", "nope")


def test_cli_refuses_a_public_bind_without_sign_in_in_one_line(tmp_path: Path) -> None:
    proc = cli("--index", str(tmp_path / "none"), "serve", "--host", "0.0.0.0", "--port", "1")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to serve on 0.0.0.0 without sign-in")
    assert "assistant passwd" in lines[0] and "ASSISTANT_AUTH_FILE" in lines[0]
    assert "Serving" not in proc.stdout


def test_cli_passwd_prints_a_line_the_server_accepts(tmp_path: Path) -> None:
    proc = cli("passwd", "ada", stdin="s3cret pass\n")
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line.startswith("ada:scrypt$") and "s3cret" not in line
    users = auth.load_users(Settings.load(auth_file=str(write(tmp_path / "u.txt", line + "\n"))))
    assert auth.verify(users, "ada", "s3cret pass")
    assert cli("passwd", "a:b", stdin="x\n").returncode == 2


@pytest.mark.integration
def test_page_asks_for_sign_in_when_users_are_configured(fake_assistant) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    import httpx

    from tests.ui_support import running_app

    fake_assistant.settings = replace(fake_assistant.settings, auth=auth.hash_line("ada", "pw", **FAST))
    with running_app(fake_assistant) as url:
        assert httpx.get(url + "config", timeout=10).status_code == 401
        bad = httpx.post(url + "login", data={"username": "ada", "password": "no"}, timeout=10)
        assert bad.status_code == 400
        with httpx.Client(base_url=url, timeout=10) as c:
            assert c.post("login", data={"username": "ada", "password": "pw"}).status_code == 200
            assert c.get("config").status_code == 200
