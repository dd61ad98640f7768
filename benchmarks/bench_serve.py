"""Peak memory (RSS) of `assistant serve` with a model, idle and while answering; where it goes.

Starts the real server on a loopback port against a private index of the
seeds, waits until the page answers, sends one Ask (at once, as a user
would: it waits for the start-up warm-up) and one Brief through
gradio_client, and samples the RSS of the server process every 0.2 s.
Then, each in a fresh process, the RSS of the parts: the model loaded with
and without mmap (the old and the new way), torch + the sentence-transformers
embedder. Not measured: several concurrent users (requests queue on one model).

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


PART = """
import json, sys
def rss():
    return {k: int(v.split()[0]) // 1024 for k, _, v in (l.partition(":") for l in open("/proc/self/status"))
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}
what = sys.argv[1]
if what == "embedder":
    from assistant.index.embed import SentenceTransformerEmbedder
    import torch
    torch_only = rss()
    SentenceTransformerEmbedder().embed_query("warm up")
    print(json.dumps({"torch_import": torch_only, "embedder": rss()}))
else:
    from llama_cpp import Llama
    from assistant import Settings, models
    s = Settings.load(model=sys.argv[2])
    _, path = models.resolve(s.model, models.load_registry(s.models_file), s.models_dir)
    llm = Llama(model_path=str(path), n_ctx=s.n_ctx, n_batch=512, use_mmap=what == "mmap", verbose=False)
    llm.eval(llm.tokenize(b"Remote work and productivity.", add_bos=False))
    print(json.dumps({"model": rss()}))
"""


def parts(model: str) -> dict[str, object]:
    """RSS in MB of the heavy parts, each alone in a new process."""
    out: dict[str, object] = {}
    for what in ("mmap", "no-mmap", "embedder"):
        run = subprocess.run([sys.executable, "-c", PART, what, model], capture_output=True, text=True, check=True)
        out[what] = json.loads(run.stdout.strip().splitlines()[-1])
    return out


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
    launched = time.perf_counter()
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
        page_up_s = round(time.perf_counter() - launched, 1)
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
              "page_up_s": page_up_s, "peak_rss_mb": round(max(r for _, r in samples)), "request_seconds": timings,
              "parts_rss_mb": parts(args.model), "load": [round(x, 2) for x in os.getloadavg()],
              "samples": [(round(t, 1), round(r)) for t, r in samples[::5]],
              "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
