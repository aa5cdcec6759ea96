"""Load benchmark of ``digitnet serve``: concurrent loopback clients posting canvas drawings.

Starts ``digitnet serve --port 0`` in its own process, then N clients (default 16 at a time) post
1,000 canvas-like PNGs (black strokes drawn on a white 720x360 pad and sent at half size, as the page does) to
``POST /api/read``. Prints throughput, p50/p99 latency, the error count, the CPU time per request
of the server (against reading a drawing in-process, without HTTP) and of the clients, and p99 as a
ratio of the 100 ms goal. Run: ``python benchmarks/bench_serve.py [--requests 1000] [--concurrency 16]``.
"""

import argparse
import asyncio
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import numpy as np
from PIL import Image, ImageDraw

P99_GOAL_MS = 100.0
PAD_SIZE = (720, 360)
SEND_SCALE = 0.5  # as in static/app.js
BRUSH_WIDTHS = (16, 29)  # pad pixels, around the page's default brush of 22
# Digit shapes as strokes in a unit box; drawings place two to four of them side by side.
SHAPES = {
    1: [[(0.5, 0.0), (0.5, 1.0)]],
    4: [[(0.6, 0.0), (0.0, 0.65), (0.85, 0.65)], [(0.6, 0.3), (0.6, 1.0)]],
    7: [[(0.0, 0.0), (0.9, 0.0), (0.35, 1.0)]],
    0: [[(0.5, 0.0), (0.9, 0.3), (0.9, 0.7), (0.5, 1.0), (0.1, 0.7), (0.1, 0.3), (0.5, 0.0)]],
}


def drawing(rng: np.random.Generator) -> bytes:
    """A PNG of the pad with 2-4 random digits, jittered as a hand would draw them, at the size sent."""
    image = Image.new("RGBA", PAD_SIZE, "white")
    draw = ImageDraw.Draw(image)
    count = int(rng.integers(2, 5))
    cell = PAD_SIZE[0] / count
    for i in range(count):
        shape = SHAPES[int(rng.choice(list(SHAPES)))]
        left, top, width, height = i * cell + 0.25 * cell, 70, 0.5 * cell, 220
        for stroke in shape:
            points = [(left + (x + rng.normal(0, 0.03)) * width, top + (y + rng.normal(0, 0.03)) * height)
                      for x, y in stroke]
            draw.line(points, fill="black", width=int(rng.integers(*BRUSH_WIDTHS)), joint="curve")
    image = image.resize((round(PAD_SIZE[0] * SEND_SCALE), round(PAD_SIZE[1] * SEND_SCALE)), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def start_server(workers: int) -> tuple[subprocess.Popen, str]:
    """``digitnet serve`` on a free loopback port; returns the process and its URL."""
    process = subprocess.Popen([sys.executable, "-m", "digitnet", "serve", "--port", "0", "--workers", str(workers)],
                               stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = process.stdout.readline()
    if not line.startswith("digitnet serve: http"):
        process.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return process, line.split()[2]


async def load(url: str, bodies: list[bytes], requests: int, concurrency: int) -> tuple[list[float], int, float]:
    """Post ``requests`` drawings, ``concurrency`` at a time -> (latencies in s, errors, wall seconds).

    The clients run on the server's cores, so they use aiohttp, a light client (the CPU it takes per
    request is printed).
    """
    latencies, errors = [], 0
    queue = iter(range(requests))

    async def client(http: aiohttp.ClientSession):
        nonlocal errors
        for i in queue:
            start = time.perf_counter()
            try:
                async with http.post(f"{url}api/read", data=bodies[i % len(bodies)],
                                     headers={"content-type": "image/png"}) as response:
                    ok = response.status == 200 and bool((await response.json())["digits"])
            except aiohttp.ClientError:
                ok = False
            latencies.append(time.perf_counter() - start)
            errors += not ok

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        return latencies, errors, time.perf_counter() - start


def reading_seconds(bodies: list[bytes]) -> float:
    """Seconds one drawing takes to read and encode in this process, without HTTP: the reference."""
    from digitnet.modelfile import load_model
    from digitnet.serve.readers import read_reply_json

    model = load_model()
    for body in bodies:  # warm up
        read_reply_json(body, "upload", model, False)
    start = time.perf_counter()
    for _ in range(4):
        for body in bodies:
            read_reply_json(body, "upload", model, False)
    return (time.perf_counter() - start) / (4 * len(bodies))


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU seconds used so far by a process and its children (Linux /proc; 0 elsewhere)."""
    children = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True).stdout
    total = 0.0
    for process in [pid, *map(int, children.split())]:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count(),
                        help="the server's reader processes (default: one per core)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    bodies = [drawing(rng) for _ in range(50)]
    reading = reading_seconds(bodies)
    process, url = start_server(args.workers)
    try:
        asyncio.run(load(url, bodies, 32, 4))  # warm up: first requests, thread pool, connections
        server_cpu, client_cpu = cpu_seconds_of(process.pid), time.process_time()
        latencies, errors, wall = asyncio.run(load(url, bodies, args.requests, args.concurrency))
        server_cpu, client_cpu = cpu_seconds_of(process.pid) - server_cpu, time.process_time() - client_cpu
    finally:
        process.terminate()
        process.wait(timeout=10)
    ms = np.array(latencies) * 1000
    p50, p99 = np.percentile(ms, [50, 99])
    print(f"digitnet serve, {args.requests} canvas PNGs ({np.mean([len(b) for b in bodies]) / 1024:.1f} KiB each), "
          f"{args.concurrency} concurrent loopback clients, {args.workers} reader process(es), {os.cpu_count()} CPUs")
    print(f"throughput {args.requests / wall:.0f} requests/s   p50 {p50:.1f} ms   p99 {p99:.1f} ms   "
          f"max {ms.max():.1f} ms   errors {errors}")
    print(f"CPU per request: server {server_cpu / args.requests * 1e3:.1f} ms (reading a drawing alone, in one "
          f"process without HTTP: {reading * 1e3:.1f} ms), clients {client_cpu / args.requests * 1e3:.1f} ms")
    print(f"p99 / {P99_GOAL_MS:.0f} ms goal = {p99 / P99_GOAL_MS:.2f}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
