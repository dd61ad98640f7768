"""Quality gates enforced in code, never trusted to the prompt.

Each gate counts what it caught (``Context.count``), so ``--json`` and
``assistant eval`` report it:

- ``restating_dropped``: a claim too close to the request (it adds nothing);
- ``duplicate_dropped``: a claim too close to an earlier claim of the answer;
- ``ids_in_prose_repaired``: prose that names sentence or passage ids or
  talks about "the sources" instead of making the point (the ids are cut;
  what is left is kept if it still says something);
- ``copy_dropped``: a point that is only ids; in ``ask``, an answer made only of copies of its
  evidence (it is written once more);
- ``ids_as_extractive``: in ``ask``, a point that is only the ids of sentences it names: each named
  sentence is kept as an extractive point (the sentence is the answer);
- ``ungrounded_dropped``: a tag that shares too few words with the sentences it tags.

Similarity is cosine between the embedder's unit vectors (the same
all-MiniLM-L6-v2 that retrieves); the thresholds were set on the seeds
(see docs/evaluation.md). Not handled: judging whether a claim is true.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ..types import Answer

# A claim restates the request when it is near-identical to it, or close to it while adding at most one
# content word of its own. (A cosine threshold alone dropped every honest FOR claim: arguing for a motion
# naturally sounds like it; measured on the seeds brief, 4 of 4 FOR claims at 0.86.)
RESTATE_MIN_COSINE = 0.93
RESTATE_CLOSE_COSINE = 0.80
DUPLICATE_MIN_COSINE = 0.92  # claim vs an earlier claim
STOPWORDS = frozenset("a an and are as at be by can do for from has have in is it its more most not of on or so "
                      "that the their them there they this to was were will with would".split())

_IDS = re.compile(r"[\[(]?\b(?:S|P)\d{1,3}\b[\])]?(?:\s*(?:,|and|&|-|–)\s*[\[(]?\b(?:S|P)\d{1,3}\b[\])]?)*")
_META = re.compile(
    r"\b(?:the )?(?:evidence|support) for this (?:claim|argument|point) (?:is|comes|can be found)[^.]*\.?"
    r"|\b(?:as )?(?:shown|stated|seen|found|mentioned|given) in (?:the )?(?:sources?|passages?|sentences?)\b[^.,]*"
    r"|\b(?:according to|in|from) the (?:sources?|passages?|sentences?)(?: above)?,?",
    re.I,
)
_SOURCES_SAY = re.compile(r"^(?:the )?(?:sources?|passages?|sentences?|evidence) (?:do(?:es)? not|don't|doesn't|never)"
                          r" (?:\w+ly )?(?:cover|provide|address|mention|discuss|say|give|explain|specify|show)"
                          r"(?: any)?\s*",
                          re.I)
_WORD = re.compile(r"[a-z0-9']+")


def scrub(text: str) -> tuple[str, bool]:
    """Cut sentence/passage ids and talk about "the sources" out of prose.

    >>> scrub("Offices cost money (S3, S4), as shown in the sources.")
    ('Offices cost money.', True)
    >>> scrub("The evidence for this claim is in the sources S16, S17.")
    ('', True)
    >>> scrub("The sources do not cover the costs of moving staff.")
    ('The costs of moving staff.', True)
    >>> scrub("A plain claim.")
    ('A plain claim.', False)
    """
    cleaned = _SOURCES_SAY.sub("", text.strip())
    if cleaned != text.strip():  # "The sources do not cover X" -> "X" (it is listed under gaps already)
        cleaned = cleaned[:1].upper() + cleaned[1:]
    cleaned = _META.sub("", _IDS.sub("", cleaned))
    cleaned = re.sub(r"\s+([,.;:!?])", r"\1", re.sub(r"\(\s*\)|\[\s*\]", "", cleaned))
    cleaned = re.sub(r"[,;:]\s*([.!?])", r"\1", " ".join(cleaned.split())).strip(" ,;:")
    if len(_WORD.findall(cleaned.lower())) < 3:
        cleaned = ""
    return cleaned, cleaned != text.strip()


def says_sources_lack(text: str) -> bool:
    """True when ``text`` opens by saying the sources do not cover something (a refusal, not a point).

    >>> says_sources_lack("The sources do not directly address the claim, as they only present mixed evidence")
    True
    >>> says_sources_lack("Offices build trust that video calls cannot.")
    False
    """
    return bool(_SOURCES_SAY.match(text.strip()))


def words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def is_copy(text: str, evidence: Sequence[str]) -> bool:
    """True when ``text`` is nothing (under three words) or a whole evidence sentence near-verbatim.

    A point that quotes part of a sentence and says something with it is kept; one that
    just repeats a sentence adds nothing to the quote shown under it.

    >>> is_copy("Offices cost money!", ["Offices cost money!"])
    True
    >>> is_copy("Commuting wastes hours that could be spent working", ["Offices cost money!"])
    False
    """
    own = words(text)
    if len(own) < 3:
        return True
    for sentence in evidence:
        theirs = words(sentence)
        if theirs and len(own - theirs) <= 1 and len(own & theirs) >= 0.8 * len(theirs):
            return True
    return False


GROUNDED_MIN_SHARE = 0.4  # of a tag's content words (by their first five letters) found in its group


def grounded(tag: str, evidence: Sequence[str]) -> bool:
    """Whether a tag says what its evidence says: enough of its content words occur in it.

    A tag that shares almost no words with the sentences it tags was made up (on the seeds,
    the 1.5B model once tagged sentences about office interruptions with the prompt's example,
    "Home working removes the daily commute").

    >>> grounded("AI tools keep improving", ["As more money gets pumped into AI, tools will get better."])
    True
    >>> grounded("Home working removes the daily commute", ["Home environments transform AI."])
    False
    """
    def stems(text: str) -> set[str]:
        return {w[:5] for w in words(text) - STOPWORDS}

    own = stems(tag)
    if not own:
        return False
    theirs = set().union(*(stems(e) for e in evidence)) if evidence else set()
    return len(own & theirs) >= GROUNDED_MIN_SHARE * len(own)


def restates(claim: str, request: str, similarity: float) -> bool:
    """Near-identical, or close and adding at most one content word of its own.

    >>> restates("Remote work makes firms more productive.", "Remote work makes firms more productive", 0.97)
    True
    >>> restates("Home working cuts commuting, freeing hours.", "Remote work makes firms more productive", 0.81)
    False
    """
    new = words(claim) - words(request) - STOPWORDS
    return similarity >= RESTATE_MIN_COSINE or (similarity >= RESTATE_CLOSE_COSINE and len(new) <= 1)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(x * y for x, y in zip(a, b, strict=True)))


class ClaimFilter:
    """Accepts claims one by one; rejects restatements of the request and near-duplicates."""

    def __init__(self, request: str, embed: Callable[[list[str]], list[list[float]]],
                 also: Sequence[str] = ()) -> None:
        """``also``: other statements a claim may not merely restate (the other side's statement)."""
        self._embed = embed
        self._texts = [request, *also]
        self._vecs = embed(self._texts)
        self._seen: list[list[float]] = []

    def check(self, claim: str) -> str:
        """'' if the claim may stay, else the gate that rejects it."""
        vec = self._embed([claim])[0]
        if any(restates(claim, text, cosine(vec, v)) for text, v in zip(self._texts, self._vecs, strict=True)):
            return "restating_dropped"
        if any(cosine(vec, v) >= DUPLICATE_MIN_COSINE for v in self._seen):
            return "duplicate_dropped"
        self._seen.append(vec)
        return ""


_PROSE_IDS = re.compile(r"\b[SP]\d{1,3}\b|\bthe sources\b|evidence for this (?:claim|argument)", re.I)

# What code writes when a mode's primary side has no evidence (shown as the answer's gap). Not the model's
# words, so not measured as its prose ("the sources" in it is not the model talking about its ids).
NO_SUPPORT = "The sources do not address this position: no sentence argues for it."
NO_OPPOSE = "The sources do not address this claim: no sentence argues against it."
CODE_WRITTEN = frozenset({NO_SUPPORT, NO_OPPOSE})


def measure(answer: Answer, embed: Callable[[list[str]], list[list[float]]]) -> dict[str, int]:
    """What an evaluator counts in a finished answer, whichever path wrote it.

    claims, restating (cosine to the request >= RESTATE_MIN_COSINE), duplicates (to an earlier
    claim), ids_in_prose (prose fields naming ids or "the sources"; not the lines code writes,
    ``CODE_WRITTEN``), quotes, evidence_reused,
    passages_cited (distinct), sides (FOR/AGAINST with verified evidence, briefs only).
    """
    claims = [p.text for p in answer.points if p.text.strip()]
    vecs = embed([answer.request, *claims]) if claims else [[]]
    restating = sum(restates(c, answer.request, cosine(v, vecs[0])) for c, v in zip(claims, vecs[1:], strict=True))
    duplicates = sum(any(cosine(v, w) >= DUPLICATE_MIN_COSINE for w in vecs[1:i]) for i, v in enumerate(vecs[1:], 1))
    verified = [q for p in answer.points for q in (*p.quotes, *p.reply_quotes) if q.verified]
    keys = [(q.doc_id, q.start) for p in answer.points if p.section != "answer"
            for q in (*p.quotes, *p.reply_quotes) if q.verified]
    return {"claims": len(claims), "restating": restating, "duplicates": duplicates,
            "ids_in_prose": sum(bool(_PROSE_IDS.search(t)) for t in answer.prose if t not in CODE_WRITTEN),
            "quotes": len(verified), "evidence_reused": len(keys) - len(set(keys)),
            "passages_cited": len({q.passage for q in verified}),
            "sides": len({p.section for p in answer.points if p.section in ("for", "against") and p.verified_quotes})}
