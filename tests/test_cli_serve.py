"""`genlab serve`: the live simulations' limits on the command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import fields

import pytest
from cli_helpers import cli_env

from genlab import cli
from genlab.web import server


def test_limit_flags_match_simlimits_defaults():
    from genlab.web.simulations.schemas import SimLimits

    defaults = {f.name: f.default for f in fields(SimLimits)}
    for flag, (field, kind, low, high, default, _help) in server.LIMIT_FLAGS.items():
        assert isinstance(defaults[field], kind), flag
        assert default is None or defaults[field] == default, flag  # None: serve decides
        if field in SimLimits.BOUNDS:  # the flag and the limits refuse the same values
            assert SimLimits.BOUNDS[field] == (low, high), flag


def test_flags_reach_serve(monkeypatch):
    seen = {}
    monkeypatch.setattr(server, "serve", lambda **kw: seen.update(kw))
    assert cli.main(["serve", "--port", "0", "--max-sessions", "7", "--idle-seconds", "30.5",
                     "--max-steps-per-second", "200", "--threads-per-session", "1",
                     "--max-queue", "0"]) == 0
    assert seen == {"host": "127.0.0.1", "port": 0, "open_browser": False, "max_sessions": 7,
                    "idle_seconds": 30.5, "max_steps_per_second": 200,
                    "threads_per_session": 1, "max_queue": 0}
    seen.clear()
    assert cli.main(["serve"]) == 0
    assert seen == {"host": "127.0.0.1", "port": 8000, "open_browser": False}  # SimLimits' own


@pytest.mark.parametrize("flag, value, expected", [
    ("--max-sessions", "0", "--max-sessions: must be an integer in [1, 256], got '0'"),
    ("--max-sessions", "two", "--max-sessions: must be an integer in [1, 256], got 'two'"),
    ("--idle-seconds", "-1", "--idle-seconds: must be a number in [5, 86400]"),
    ("--idle-seconds", "nan", "--idle-seconds: must be a number in [5, 86400]"),
    ("--max-steps-per-second", "1e9", "--max-steps-per-second: must be an integer"),
    ("--threads-per-session", "1000", "--threads-per-session: must be an integer in [1, "),
    ("--max-queue", "-1", "--max-queue: must be an integer in [0, 1024], got '-1'"),
])
def test_bad_limits_are_one_line_and_exit_2(flag, value, expected, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["serve", flag, value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_real_server_applies_the_limits():
    proc = subprocess.Popen([sys.executable, "-m", "genlab", "serve", "--port", "0",
                             "--max-sessions", "1", "--idle-seconds", "42"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=cli_env())
    try:
        url, deadline = None, time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            url = match.group(1) if match else None
        assert url, "genlab serve printed no address"
        assert proc.stdout.readline().strip() == "1 live simulation: set by --max-sessions"
        with urllib.request.urlopen(url + "api/sim/limits", timeout=30) as r:
            limits = json.load(r)["limits"]
        assert limits["max_sessions"] == 1 and limits["idle_seconds"] == 42
        assert limits["threads_per_session"] == 1  # not given: the default
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_without_the_flag_the_cap_comes_from_the_machine_and_is_printed(monkeypatch, capsys):
    """`serve` without --max-sessions asks capacity.py, passes its cap on and says why."""
    from genlab.web import app as app_module
    from genlab.web.simulations import capacity

    built = {}

    class Stop(Exception):
        pass

    def fake_create_app(**kwargs):
        built.update(kwargs)
        raise Stop
    monkeypatch.setattr(capacity, "machine", lambda: (3, 2 * 2**30))
    monkeypatch.setattr(app_module, "create_app", fake_create_app)
    with pytest.raises(Stop):
        server.serve(port=0, threads_per_session=1)
    expected = capacity.session_cap(3, 1, 2 * 2**30)
    assert built["max_sessions"] == expected.sessions == 3  # 2 GiB: (2048 − 512) // 490
    assert expected.reason.startswith("3 live simulations: memory allows 3")
    with pytest.raises(Stop):
        server.serve(port=0, max_sessions=9)
    assert built["max_sessions"] == 9
