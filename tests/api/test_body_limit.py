"""A request body over the largest upload the service takes is a 413, read or not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from allocator.limits import MB
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.users import add_user
from api.main import create_app
from api.settings import Settings


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    prepare(engine)
    with make_sessions(engine)() as session:
        token = add_user(session, "an", "planner", None, "setup")[1]
    engine.dispose()
    settings = Settings(database_url=url, run_worker=False, max_unpacked_mb=1)  # 4 MB + 1 MB
    with TestClient(create_app(settings), raise_server_exceptions=False) as made:
        yield made, {"Authorization": f"Bearer {token}"}


def test_a_declared_length_over_the_limit_is_refused_before_reading(
        client: tuple[TestClient, dict[str, str]]) -> None:
    http, headers = client
    answer = http.post("/api/imports/households", headers={
        **headers, "Content-Length": str(6 * MB),
        "Content-Type": "multipart/form-data; boundary=b"}, content=b"x" * 10)
    assert answer.status_code == 413 and "larger than 5 MB" in answer.json()["detail"]
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_json_body_is_held_to_what_json_requests_need(
        client: tuple[TestClient, dict[str, str]]) -> None:
    """Only uploads may be large: 9 MB of JSON is refused unread, whatever the upload limit."""
    http, headers = client
    answer = http.post("/api/rounds", headers={**headers, "Content-Length": str(9 * MB),
                                               "Content-Type": "application/json"},
                       content=b"{}")
    assert answer.status_code == 413 and "larger than 8 MB" in answer.json()["detail"]
    assert set(answer.json()) == {"status", "detail", "detail_vi", "problems", "more"}


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_a_body_without_a_live_token_is_never_read(
        client: tuple[TestClient, dict[str, str]], token: str | None) -> None:
    """An anonymous caller cannot make the server parse or spool a body: 401 first."""
    http, _ = client
    read: list[int] = []

    def pieces() -> Iterator[bytes]:
        for n in range(4):
            read.append(n)
            yield b"[" * MB
    headers = {"Content-Type": "application/json"} | (
        {"Authorization": f"Bearer {token}"} if token else {})
    answer = http.post("/api/rounds", headers=headers, content=pieces())
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["status"] == 401 and len(read) <= 1  # at most what the client sent


def test_a_body_without_a_length_is_cut_off_at_the_limit(
        client: tuple[TestClient, dict[str, str]]) -> None:
    http, headers = client

    def pieces() -> Iterator[bytes]:  # a well-formed form whose file never ends in time
        yield (b'--b\r\nContent-Disposition: form-data; name="file"; filename="r.zip"\r\n'
               b"Content-Type: application/zip\r\n\r\n")
        for _ in range(7):
            yield b"x" * MB
        yield b"\r\n--b--\r\n"

    answer = http.post("/api/rounds/import-folder", headers={
        **headers, "Content-Type": "multipart/form-data; boundary=b"}, content=pieces())
    assert answer.status_code == 413


def test_a_body_within_the_limit_goes_through(
        client: tuple[TestClient, dict[str, str]]) -> None:
    http, headers = client
    small = b"household_id\n" + b"x" * (MB // 2)
    answer = http.post("/api/imports/households", headers=headers,
                       files={"file": ("h.csv", small, "text/csv")})
    assert answer.status_code == 422  # read and refused for what it holds, not its size
