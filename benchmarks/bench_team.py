"""Team-server throughput: Ask requests per minute with N concurrent page sessions.

Set-ups (all on this machine, loopback only, private temp folders):

- ``club``: ``chroma run`` + ``python -m assistant.model_server`` (llama_cpp.server; the model) +
  ``assistant serve`` with ASSISTANT_CHROMA_URL / ASSISTANT_LLM_URL, exactly
  as docs/deploy.md starts them;
- ``laptop``: ``assistant serve`` with embedded Chroma and the in-process
  model (the default; requests queue, concurrency 1), for comparison.

For each N, N gradio_client sessions each send ``--requests`` Ask questions
(covered gold questions, different per session) one after another; we report
requests/minute over the wall time, latency p50/max, failed requests, and the
load average before and after (the machine may be shared: say so with the
numbers). Not measured: vLLM on a GPU (none here), Brief throughput.

    .venv/bin/python benchmarks/bench_team.py --model default --sessions 1 2 4 \\
        --out benchmarks/results/team.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cmd: list[str], health: str, env: dict[str, str], log: Path, timeout: float = 300) -> subprocess.Popen:
    """Start a process and wait until ``health`` answers 200."""
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(health, timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"{cmd[:3]} did not start; see {log}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def questions() -> list[str]:
    rows = [json.loads(line) for line in (REPO / "eval" / "gold_seeds.jsonl").read_text().splitlines() if line]
    return [r["text"] for r in rows if r["kind"] == "question" and r["covered"]]


def gguf_for(model: str) -> str:
    sys.path.insert(0, str(REPO))
    from assistant.config import Settings
    from assistant.llm import models

    s = Settings.load(model=model)
    return str(models.resolve(model, models.load_registry(s.models_file), s.models_dir)[1])


def run_sessions(url: str, n: int, per_session: int, qs: list[str]) -> dict[str, object]:
    """N sessions at once, each sending its questions in turn; requests/minute over the wall time."""
    from gradio_client import Client

    def session(i: int) -> list[tuple[float, bool]]:
        client = Client(url, verbose=False, httpx_kwargs={"timeout": 300})
        out = []
        for j in range(per_session):
            q = qs[(i * per_session + j) % len(qs)]
            t0 = time.perf_counter()
            history, *_ = client.predict(q, [], "Ask", 6, 0.2, 0, api_name="/chat")
            out.append((time.perf_counter() - t0, "⚠" not in str(history[-1])))
        return out

    load_before = os.getloadavg()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        results = [r for rs in pool.map(session, range(n)) for r in rs]
    wall = time.perf_counter() - t0
    lat = [s for s, _ in results]
    return {"sessions": n, "requests": len(results), "failed": sum(not ok for _, ok in results),
            "wall_s": round(wall, 1), "requests_per_min": round(len(results) / wall * 60, 2),
            "latency_p50_s": round(statistics.median(lat), 1), "latency_max_s": round(max(lat), 1),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()]}


def bench(setup: str, args: argparse.Namespace, work: Path) -> list[dict[str, object]]:
    env = {**os.environ, "ASSISTANT_INDEX": str(work / setup / "index"), "ASSISTANT_MODEL": args.model,
           "ASSISTANT_CONCURRENCY": str(max(args.sessions)), "PYTHONPATH": str(REPO)}
    (work / setup).mkdir(parents=True)
    procs = []
    try:
        if setup == "club":
            cport, lport = free_port(), free_port()
            procs.append(start([str(BIN / "chroma"), "run", "--path", str(work / setup / "chroma"), "--host",
                                "127.0.0.1", "--port", str(cport)], f"http://127.0.0.1:{cport}/api/v2/heartbeat",
                               env, work / setup / "chroma.log"))
            procs.append(start([sys.executable, "-m", "assistant.model_server", "--model", gguf_for(args.model),
                                "--host", "127.0.0.1", "--port", str(lport), "--n_ctx", "4096",
                                "--interrupt_requests", "False"], f"http://127.0.0.1:{lport}/v1/models",
                               env, work / setup / "llm.log"))
            env.update(ASSISTANT_CHROMA_URL=f"http://127.0.0.1:{cport}", ASSISTANT_LLM_URL=f"http://127.0.0.1:{lport}/v1")
        subprocess.run([sys.executable, "-m", "assistant", "sync"], env=env, check=True, capture_output=True)
        port = free_port()
        procs.append(start([sys.executable, "-m", "assistant", "serve", "--port", str(port)],
                           f"http://127.0.0.1:{port}/config", env, work / setup / "serve.log"))
        qs = questions()
        rows = []
        for n in args.sessions:
            row = {"setup": setup, **run_sessions(f"http://127.0.0.1:{port}/", n, args.requests, qs)}
            print(json.dumps(row), flush=True)
            rows.append(row)
        return rows
    finally:
        for p in reversed(procs):
            stop(p)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default", help="role, name or .gguf (default: default)")
    ap.add_argument("--setups", nargs="+", default=["club", "laptop"], choices=["club", "laptop"])
    ap.add_argument("--sessions", nargs="+", type=int, default=[1, 2, 4], help="concurrent sessions (default 1 2 4)")
    ap.add_argument("--requests", type=int, default=2, help="Ask requests per session (default 2)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "team.json")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-team-"))
    rows = [r for setup in args.setups for r in bench(setup, args, work)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": args.model, "cpus": os.cpu_count(), "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
