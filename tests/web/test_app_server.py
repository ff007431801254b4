"""`genlab serve`: starts on 127.0.0.1, prints its address, serves the page, stops on Ctrl-C,
and a busy port is one clear line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request

import pytest

from genlab.errors import GenlabError
from genlab.web.server import address, bind_socket


def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "genlab", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_serve_prints_its_address_and_serves_the_lesson():
    proc = _start("--port", "0")
    try:
        line = proc.stdout.readline()
        m = re.match(r"genlab hub: (http://127\.0\.0\.1:(\d+)/)", line)
        assert m, (line, proc.stderr.read() if proc.poll() is not None else "")
        with urllib.request.urlopen(m.group(1), timeout=20) as r:
            assert r.status == 200
            assert b"Generative Models: VAE &amp; GAN" in r.read()
        proc.send_signal(signal.SIGINT)  # Ctrl-C: the hub says it stopped (nothing to resume)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert out.strip().endswith("genlab hub: stopped")
        assert "resume" not in out + err and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_busy_port_is_one_line_and_exit_2():
    sock = bind_socket("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        proc = _start("--port", str(port))
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2
        assert err.strip().count("\n") == 0, err
        assert f"cannot listen on 127.0.0.1:{port}" in err
    finally:
        sock.close()


def test_bind_socket_checks_the_port():
    with pytest.raises(GenlabError, match="port must be in"):
        bind_socket("127.0.0.1", 70000)
    sock = bind_socket("127.0.0.1", 0)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", address(sock))
    finally:
        sock.close()
