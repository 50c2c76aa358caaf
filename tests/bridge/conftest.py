"""Servers the bridge tests talk to: a real AgentOS (uvicorn subprocess), a small
faulty HTTP server, and the inline dispatch mode."""

import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from scheduler_admin.models import Target

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout_s: float = 10.0, what: str = "condition"):
    """Poll ``condition`` until it returns something truthy or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"Timed out after {timeout_s} s waiting for {what}")


@pytest.fixture
def inline_dispatch(settings):
    settings.SCHEDULER = {**settings.SCHEDULER, "DISPATCH": "inline"}


class AgentOSProcess:
    """A real AgentOS (tests/bridge/agentos_app.py) under uvicorn; stop() and start()
    again on the same port, as a restarted server would."""

    def __init__(self, db_file: Path, app: str = "tests.bridge.agentos_app:app"):
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_file = db_file
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "AGENTOS_TEST_DB": str(self.db_file), "AGENTOS_TEST_SLOW_S": "4"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", self.app]
            + ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._healthy, timeout_s=60, what="AgentOS /health")

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"AgentOS exited with {self.proc.returncode}")
        try:
            return requests.get(self.url + "/health", timeout=1).ok
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def agentos(tmp_path_factory):
    server = AgentOSProcess(tmp_path_factory.mktemp("agentos") / "agno.db")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def agentos_target(db, agentos):
    return Target.objects.create(name="agentos", base_url=agentos.url)


@pytest.fixture(scope="session")
def demo_agentos(tmp_path_factory):
    """The demo workflows module, unchanged, on a real AgentOS."""
    folder = tmp_path_factory.mktemp("demo-agentos")
    server = AgentOSProcess(folder / "agno.db", app="tests.bridge.agentos_demo_app:app")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def artifact_dir(settings, tmp_path):
    """Artifacts of the test's runs go to a folder of its own."""
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "artifacts")},
        },
    }
    return tmp_path / "artifacts"


class FaultHandler(BaseHTTPRequestHandler):
    """Misbehaving answers by path; records each request's headers and body."""

    seen: list[dict] = []
    release = threading.Event()

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        FaultHandler.seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        path = self.path.split("?")[0]
        if path == "/hang":
            FaultHandler.release.wait(10)
            return self._send(200, "late", "text/plain")
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            return self._send(code, '{"detail": "' + f"status {code}" + '"}')
        if path == "/throttled":
            return self._send(429, '{"detail": "slow down"}', extra={"Retry-After": "7"})
        if path in ("/agents/html/runs", "/html"):
            return self._send(200, "<html>maintenance page</html>", "text/html")
        if path == "/agents/broken/runs":
            return self._send(500, "Internal Server Error: " + "x" * 5000, "text/plain")
        if path == "/ok":
            return self._send(200, '{"done": true}')
        if path.startswith("/echo-auth/"):  # a server that quotes the header back
            code = int(path.rsplit("/", 1)[1])
            said = self.headers.get("Authorization", "")
            return self._send(code, '{"detail": "you sent ' + said + '"}')
        if path == "/big":
            return self._send(200, '"' + "x" * 2_000_000 + '"')
        if path == "/drip":
            return self._drip()
        if path == "/set-cookie":
            return self._send(200, "{}", extra={"Set-Cookie": "sid=abc; Path=/"})
        return self._send(404, '{"detail": "Not Found"}')

    def _send(self, code: int, body: str, ctype="application/json", extra=None) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:  # the client gave up reading (a size limit): fine
            pass

    def _drip(self) -> None:
        """Headers at once, then one byte per 20 ms for at most 10 s: each read is
        quick, the whole body slow."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        stop = time.monotonic() + 10
        try:
            while not FaultHandler.release.wait(0.02) and time.monotonic() < stop:
                self.wfile.write(b" ")
                self.wfile.flush()
        except OSError:
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


@pytest.fixture
def fault_server():
    FaultHandler.seen = []
    FaultHandler.release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FaultHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", FaultHandler
    FaultHandler.release.set()
    server.shutdown()
    server.server_close()
