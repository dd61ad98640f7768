"""How often ``finish.fragment`` fires: on well-formed statements (ArgKP) and on the gold set's saved answers.

    .venv/bin/python eval/fragment_rule.py ../shared/benchmarks/argkp [--out FILE]

A text that opens a concessive clause ("Despite ...", "... that while ...") and never reaches its main
clause is a fragment (``writing/finish.py``); a tag that is one fails the faithfulness check. Two counts:

- false alarms: ArgKP's gold key points (short statements written by experts) and its crowd arguments, both
  splits, flagged or not (counts only: no ArgKP text is printed or written);
- what it catches: every distinct prose field of every answer saved in ``eval/results/*.json`` (the gold-set
  runs of earlier sessions and this one), each flagged field printed for a reader to check.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.evaluation import argkp  # noqa: E402
from assistant.output.history import answer_from_dict  # noqa: E402
from assistant.writing.finish import fragment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def saved_prose(folder: Path) -> list[str]:
    """Distinct prose fields of every saved answer (runs of eval/compare.py and the ask checks)."""
    seen: dict[str, None] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        rows: Any = data.get("runs") or data.get("items") if isinstance(data, dict) else None
        for row in rows if isinstance(rows, list) else []:
            answer = row.get("answer") if isinstance(row, dict) else None
            if isinstance(answer, dict) and "claims" in answer:
                seen.update(dict.fromkeys(answer_from_dict(answer).prose))
    return list(seen)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("argkp", type=Path)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    result: dict[str, Any] = {}
    for split in ("train", "dev"):
        data = argkp.load(a.argkp, split)
        kps = [k.text for t in data.key_points.values() for k in t]
        args = [x.text for t in data.arguments.values() for x in t]
        result[split] = {"key_points": len(kps), "key_points_flagged": sum(map(fragment, kps)),
                         "arguments": len(args), "arguments_flagged": sum(map(fragment, args))}
    prose = saved_prose(ROOT / "eval" / "results")
    flagged = [t for t in prose if fragment(t)]
    result["gold_set_answers"] = {"prose_fields": len(prose), "flagged": flagged}
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if a.out:
        a.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
