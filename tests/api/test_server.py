"""The real command: `allocator serve` answers on localhost, with its OpenAPI docs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ALLOCATOR = Path(sys.executable).parent / "allocator"


def test_allocator_serve(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"}
    server = subprocess.Popen([str(ALLOCATOR), "serve", "--port", str(port)], env=env,
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        schema = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()
        assert "/api/rounds/{round_id}/handover" in schema["paths"]
        assert httpx.get(f"http://127.0.0.1:{port}/api/rounds", timeout=5).status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=20)
