"""Peak memory (RSS) of `assistant serve` with a model, idle and while answering.

Starts the real server on a loopback port against a private index of the
seeds, waits until it answers, sends one Ask and one Brief through
gradio_client, and samples the RSS of the server process every 0.2 s.
Not measured: several concurrent users (requests queue on one model).

    .venv/bin/python benchmarks/bench_serve.py --model default --out benchmarks/results/serve.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float:
    """Resident set size of one process, in MB (from /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/serve.json"))
    args = ap.parse_args()
    index = Path(tempfile.mkdtemp(prefix="bench-serve-")) / "index"
    env = {**os.environ, "ASSISTANT_INDEX": str(index), "ASSISTANT_MODEL": args.model}
    bin_ = [sys.executable, "-m", "assistant"]
    subprocess.run([*bin_, "sync"], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([*bin_, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        start = time.perf_counter()
        while not done.is_set():
            samples.append((time.perf_counter() - start, rss_mb(server.pid)))
            time.sleep(0.2)

    threading.Thread(target=sample, daemon=True).start()
    try:
        from gradio_client import Client

        url = f"http://127.0.0.1:{port}/"
        client = None
        for _ in range(300):
            try:
                client = Client(url, verbose=False)
                break
            except Exception:
                time.sleep(0.5)
        if client is None:
            raise SystemExit("server did not come up")
        idle = rss_mb(server.pid)
        timings = {}
        for mode, text in (("Ask", "Does working from home hurt productivity?"),
                           ("Brief", "Remote work makes companies more productive in the age of AI")):
            t = time.perf_counter()
            client.predict(text, [], mode, 6, 0.2, 0, api_name="/chat")
            timings[mode] = round(time.perf_counter() - t, 1)
    finally:
        done.set()
        server.terminate()
        server.wait(timeout=30)
    result = {"command": " ".join(sys.argv), "model": args.model, "idle_rss_mb": round(idle),
              "peak_rss_mb": round(max(r for _, r in samples)), "request_seconds": timings,
              "samples": [(round(t, 1), round(r)) for t, r in samples[::5]],
              "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
