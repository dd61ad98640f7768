"""The index cannot silently disagree with itself: crash recovery, repair, and dense search under orphans.

Crash tests kill a real ``assistant ingest`` / ``remove`` subprocess (SIGKILL, through the
ASSISTANT_TEST_CRASH_AT hook) at each point of the write order, with the real embedder and
the real Chroma, then open the index again in this process and check that it is whole.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.errors import StoreError
from assistant.index.integrity import audit, ensure
from assistant.index.store import Store
from assistant.index.writelock import CRASH_ENV, write_lock
from tests.conftest import REPO, SEEDS, write

pytestmark = pytest.mark.integration

NEW_ESSAY = ("# Four-day weeks\n\nA four-day week trial in Iceland kept output level while staff reported less "
             "burnout. Managers feared lost hours; the data showed meetings shrank instead.\n\n") * 6


def cli(*args: str, index: Path, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_INDEX": str(index)}
    env.pop(CRASH_ENV, None)
    if crash:
        env[CRASH_ENV] = crash
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)


def state(a: Assistant) -> tuple[list[str], list[str]]:
    """(document ids, vector ids) as stored."""
    store = a.store()
    return sorted(d.doc_id for d in store.documents()), sorted(store.vector_ids())


@pytest.mark.parametrize("point", ["before_vectors", "after_vectors", "in_commit", "after_commit"])
def test_killed_ingest_is_repaired_on_next_open(seeded_index: Path, tmp_path: Path, real_embedder,
                                                point: str) -> None:
    index = tmp_path / "index"
    shutil.copytree(seeded_index, index)
    essay = write(tmp_path / "essays" / "four-day.md", NEW_ESSAY)
    before = Assistant(Settings.load(index_dir=index), embedder=real_embedder)
    docs_before = state(before)[0]
    before.close()
    if point == "after_commit":  # make the crashed ingest a *replacement*: its old vectors become orphans
        assert cli("ingest", str(essay), index=index).returncode == 0
        write(essay, NEW_ESSAY.replace("Iceland", "Spain"))

    proc = cli("ingest", str(essay), index=index, crash=point)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    raw = Store.open(index, embedder=real_embedder.identity)  # what the crash left, before any repair
    left = raw.vector_ids() - set(raw.expected_ids())
    assert not raw.in_sync() and bool(left) == (point != "before_vectors"), (point, len(left))
    raw.close()

    a = Assistant(Settings.load(index_dir=index), embedder=real_embedder)
    docs, vectors = state(a)  # the open repaired what the crash left
    assert audit(a.store(), []).chunks == len(vectors)
    assert set(vectors) == set(a.store().expected_ids())
    if point == "after_commit":
        assert len(docs) == len(docs_before) + 1 and "Spain" in a.search("four-day week trial", 1)[0].chunk.text
    else:
        assert docs == docs_before
    assert len(a.search("Does working from home hurt productivity?", 5, variant="dense")) == 5
    report = a.ingest([essay], show_progress=False)  # and the next ingest completes normally
    assert len(report.added) + len(report.unchanged) + len(report.replaced) == 1
    assert set(a.store().vector_ids()) == set(a.store().expected_ids())


def test_killed_remove_leaves_no_orphans(seeded_index: Path, tmp_path: Path, real_embedder) -> None:
    index = tmp_path / "index"
    shutil.copytree(seeded_index, index)
    proc = cli("remove", "homeward-bound.md", index=index, crash="remove_after_commit")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    a = Assistant(Settings.load(index_dir=index), embedder=real_embedder)
    docs, vectors = state(a)
    assert len(docs) == 3 and set(vectors) == set(a.store().expected_ids())


def test_deleted_vector_store_is_an_error_then_repaired(seeded_index: Path, tmp_path: Path,
                                                        real_embedder) -> None:
    index = tmp_path / "index"
    shutil.copytree(seeded_index, index)
    shutil.rmtree(index / "chroma")
    for command in (["docs"], ["search", "productivity"]):
        proc = cli(*command, index=index)
        assert proc.returncode == 1 and proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and "assistant check --repair" in proc.stderr, proc.stderr
    proc = cli("check", index=index)
    assert proc.returncode == 1 and "missing" in proc.stderr and "--repair" in proc.stderr

    proc = cli("check", "--repair", index=index)
    assert proc.returncode == 0 and proc.stdout.startswith("repaired:"), proc.stderr
    a = Assistant(Settings.load(index_dir=index), embedder=real_embedder)
    assert a.check().ok and len(a.store().vector_ids()) == a.store().chunk_count() > 0
    hits = a.search("Does working from home hurt productivity?", 5, variant="dense")
    assert len(hits) == 5 and hits[0].dense_score and hits[0].dense_score > 0.3
    assert cli("check", index=index).stdout.startswith("index OK:")


def test_ingest_repairs_missing_vectors_instead_of_reporting_unchanged(seeded_assistant: Assistant) -> None:
    index = seeded_assistant.settings.index_dir
    shutil.rmtree(index / "chroma")
    report = seeded_assistant.ingest([SEEDS], show_progress=False)
    assert len(report.unchanged) == 4
    store = seeded_assistant.store()
    assert set(store.vector_ids()) == set(store.expected_ids()) and store.in_sync()


def test_check_repair_removes_orphans(seeded_assistant: Assistant) -> None:
    store = seeded_assistant.store()
    chunk = store.chunks()[0]
    orphans = [chunk.__class__(f"feedfacefeedface:{i:04d}", "feedfacefeedface", "gone", "/gone.md", i,
                               0, 5, "ghost") for i in range(30)]
    store.upsert_vectors(orphans, [[1.0] + [0.0] * 383] * len(orphans))
    found = seeded_assistant.check()
    assert not found.ok and len(found.orphans["vectors"]) == 30 and "30 orphans" in found.summary()
    seeded_assistant.check(repair=True)
    assert seeded_assistant.check().ok


def test_dense_search_is_not_blocked_by_unknown_vectors(seeded_assistant: Assistant, real_embedder) -> None:
    """Vectors another process is still writing (no rows yet) sit nearest the query: skip past them."""
    store = seeded_assistant.store()
    query = "Does working from home hurt productivity?"
    vector = real_embedder.embed_query(query)
    chunk = store.chunks()[0]
    pending = [chunk.__class__(f"0123456789abcdef:{i:04d}", "0123456789abcdef", "pending", "/p.md", i, 0, 5,
                               "pending") for i in range(200)]
    store.upsert_vectors(pending, [vector] * len(pending))
    hits = seeded_assistant.search(query, 5, variant="dense")
    assert len(hits) == 5 and all(p.chunk.doc_id != "0123456789abcdef" for p in hits)


def test_open_does_not_touch_a_write_in_progress(seeded_assistant: Assistant) -> None:
    """A pending write whose writer still holds the lock is not damage: the open leaves it alone."""
    store = seeded_assistant.store()
    store.bump()  # the revision moves ahead of the vectors' stamp, as in step 1 of a write
    chunk = store.chunks()[0]
    pending = [chunk.__class__("abcdefabcdefabcd:0000", "abcdefabcdefabcd", "p", "/p.md", 0, 0, 5, "p")]
    store.upsert_vectors(pending, [[1.0] + [0.0] * 383])
    with write_lock(store.path):
        assert ensure(store) is None and "abcdefabcdefabcd:0000" in store.vector_ids()
    assert ensure(store) is not None and "abcdefabcdefabcd:0000" not in store.vector_ids()


def test_read_only_open_refuses_missing_vectors_in_process(seeded_index: Path, tmp_path: Path,
                                                           real_embedder) -> None:
    index = tmp_path / "index"
    shutil.copytree(seeded_index, index)
    shutil.rmtree(index / "chroma")
    a = Assistant(Settings.load(index_dir=index), embedder=real_embedder)
    with pytest.raises(StoreError, match=r"damaged .*missing.*assistant check --repair"):
        a.documents()
    with pytest.raises(StoreError, match="vector store missing"):  # a read creates nothing
        Store.open(index, embedder=real_embedder.identity)
    assert not (index / "chroma").exists()
