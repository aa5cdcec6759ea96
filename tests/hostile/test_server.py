"""Hostile clients of ``digitnet serve``: foreign Hosts, cross-site posts, huge headers, silent and
half-sent connections, short bodies, thousands of multipart parts, clients that leave, a reader
killed under load. Each gets its one-line answer or a closed connection in time, never a traceback."""

import asyncio
import http.client
import os
import threading
import time

import pytest

pytest.importorskip("fastapi", reason="digitnet serve needs the serve extra (fastapi)")

from fastapi import HTTPException  # noqa: E402

from digitnet.serve.guard import REPLY_HEADERS  # noqa: E402
from digitnet.serve.limits import MAX_MULTIPART_PARTS, REQUEST_HEAD_SECONDS  # noqa: E402
from digitnet.serve.readers import ProcessReader, ReadTimedOut  # noqa: E402
from digitnet.serve.upload import read_body  # noqa: E402
from tests.hostile.inputs import digit_page, encoded  # noqa: E402
from tests.hostile.live_server import LiveServer, expected_statuses, mixed_load, seconds_until_closed  # noqa: E402


@pytest.fixture(scope="module")
def server():
    live = LiveServer("--workers", "2", "--allow-host", "digits.example")
    yield live
    log = live.stop()
    assert "Traceback" not in log and "Exception in ASGI" not in log, log[-3000:]


def drawing() -> bytes:
    return encoded(digit_page((280, 140)), "PNG")


@pytest.mark.parametrize("host,status", [
    ("evil.example", 400), ("evil.example:8000", 400), ("127.0.0.1.evil.example", 400),
    ("localhost", 200), ("127.0.0.1", 200), ("[::1]", 200), ("digits.example", 200),
])
def test_only_local_ip_and_allowed_host_names_are_answered(server, host, status):
    got, _, body = server.request("GET", "/api/model", headers={"Host": host})
    assert got == status, body[:200]


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
    {"Origin": "http://evil.example"}, {"Origin": "null"},
])
def test_cross_site_posts_are_refused_with_403_before_reading(server, headers):
    status, _, body = server.request("POST", "/api/read", drawing(), headers)
    assert status == 403 and b"refused" in body


def test_a_same_origin_post_from_the_page_is_read(server):
    origin = f"http://127.0.0.1:{server.port}"
    status, _, _ = server.request("POST", "/api/read", drawing(), {"Origin": origin, "Sec-Fetch-Site": "same-origin"})
    assert status == 200


@pytest.mark.parametrize("method,path,host", [
    ("GET", "/", "127.0.0.1"), ("GET", "/api/model", "127.0.0.1"), ("GET", "/nowhere", "127.0.0.1"),
    ("GET", "/docs", "127.0.0.1"), ("POST", "/api/read", "127.0.0.1"), ("GET", "/", "evil.example"),
])
def test_every_reply_carries_the_security_headers(server, method, path, host):
    _, headers, _ = server.request(method, path, b"x" if method == "POST" else b"", {"Host": host})
    for name, value in REPLY_HEADERS:
        assert headers.get(name.decode()) == value.decode()


def test_the_docs_page_loads_nothing_from_elsewhere(server):
    status, headers, body = server.request("GET", "/docs")
    assert status == 200 and b"<script" not in body and b"cdn" not in body.lower()
    assert "default-src 'self'" in headers["content-security-policy"]


def test_a_huge_header_is_refused_and_the_connection_closed(server):
    with server.connect() as sock:
        sock.sendall(b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 2**20 + b"\r\n\r\n")
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 400")


def test_silent_half_sent_and_trickling_connections_are_closed_in_time(server):
    closed = {}

    def probe(kind, first, trickle):
        with server.connect() as sock:
            sock.sendall(first)
            closed[kind] = seconds_until_closed(sock, trickle)

    probes = {"silent": (b"", b""), "half_sent_headers": (b"POST /api/read HTTP/1.1\r\nHost: 127.0.0.1\r\n", b""),
              "trickling": (b"", b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 100)}
    threads = [threading.Thread(target=probe, args=(kind, *data)) for kind, data in probes.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(seconds < REQUEST_HEAD_SECONDS + 3 for seconds in closed.values()), closed


def test_a_body_that_stops_arriving_gets_408():
    class StalledRequest:
        headers = {"content-length": "1000"}

        async def stream(self):
            yield b"x" * 10
            await asyncio.sleep(3600)

    with pytest.raises(HTTPException) as caught:
        asyncio.run(read_body(StalledRequest(), 10_000, seconds=0.2))
    assert caught.value.status_code == 408


def test_a_client_that_leaves_mid_body_leaves_no_traceback(server):
    with server.connect() as sock:
        sock.sendall(b"POST /api/read HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100)
    time.sleep(0.5)
    assert "Traceback" not in server.log() and "Exception in ASGI" not in server.log()


def test_a_body_of_140001_multipart_parts_is_refused_at_once_while_others_are_read(server):
    parts = b"".join(b'--b\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nx\r\n' % i for i in range(140_001))
    answers = {}

    def send_parts():
        started = time.perf_counter()
        status, _, body = server.request("POST", "/api/read", parts + b"--b--\r\n",
                                         {"Content-Type": "multipart/form-data; boundary=b"})
        answers["parts"] = (status, body, time.perf_counter() - started)

    sender = threading.Thread(target=send_parts)
    sender.start()
    started = time.perf_counter()
    assert server.request("POST", "/api/read", drawing())[0] == 200
    drawing_seconds = time.perf_counter() - started
    sender.join()
    status, body, seconds = answers["parts"]
    assert status == 400 and f"more than {MAX_MULTIPART_PARTS} parts".encode() in body
    assert seconds < 3 and drawing_seconds < 3


def test_a_reader_killed_under_load_costs_at_most_its_one_request(server):
    requests = 96
    result = mixed_load(server, requests, concurrent=16, kill_reader_after=requests // 3)
    expected = expected_statuses(requests)
    lost = result.statuses.get(503, 0)
    assert result.unanswered == 0 and lost <= 1, result
    for status, count in expected.items():
        assert expected[status] - lost <= result.statuses.get(status, 0) <= count, result
    assert len(server.reader_pids()) == 2


def _sleeps(image, image_name, model, annotate, explain):
    time.sleep(60)


def test_a_read_past_its_time_budget_is_stopped_and_its_reader_replaced(model):
    reader = ProcessReader(model, 1, read_seconds=0.5, reply=_sleeps)
    try:
        before = reader.pids
        started = time.perf_counter()
        with pytest.raises(ReadTimedOut, match="longer than the limit of 0.5 s"):
            asyncio.run(reader.read(drawing(), "slow.png", False))
        assert time.perf_counter() - started < 3 and reader.pids != before
    finally:
        reader.close()


def test_a_cancelled_read_stops_its_reader_and_the_next_read_is_answered(model):
    reader = ProcessReader(model, 1, reply=_sleeps)
    try:
        before = reader.pids

        async def leave_early():
            reading = asyncio.ensure_future(reader.read(drawing(), "slow.png", False))
            await asyncio.sleep(0.3)
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

        asyncio.run(leave_early())
        assert reader.pids != before and all(_alive(pid) for pid in reader.pids)
    finally:
        reader.close()


def _alive(pid: int) -> bool:
    return os.waitpid(pid, os.WNOHANG) == (0, 0)


def test_a_corrupt_avif_gets_400_and_the_same_connection_reads_the_next_image(server):
    corrupt = bytearray(encoded(digit_page(), "AVIF"))
    corrupt[len(corrupt) // 2 :] = bytes(len(corrupt) - len(corrupt) // 2)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        answers = []
        for body in (bytes(corrupt), drawing()):
            connection.request("POST", "/api/read", body=body, headers={"Host": "127.0.0.1"})
            response = connection.getresponse()
            answers.append((response.status, response.read()))
    finally:
        connection.close()
    assert [status for status, _ in answers] == [400, 200]
    assert b"\n" not in answers[0][1]
