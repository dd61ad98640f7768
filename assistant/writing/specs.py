"""What a mode is, in one record per mode: every layer reads it from here.

A ``ModeSpec`` holds what is not code: what its request is called, its
retrieval queries, the score below which it answers "not covered", how many
sentences the model sees, and its sections with their labels for the
terminal, Markdown, DOCX and the page. Its steps (code) are the ``Mode`` of
the same name in ``modes.py``. Adding a mode: one ``ModeSpec`` here, its steps
in ``modes.py``, its prompt files in ``prompts/`` (docs/architecture.md).
Imports nothing of the package, so the command line can read it for ``--help``.
Not handled: modes chosen at run time from plugins.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """One kind of point in an answer (``Point.section``) and how each front end names it."""

    key: str  # Point.section
    heading: str  # Markdown, DOCX and the page: "Arguments FOR the motion"
    tag: str  # in prompts that list the points: "Reason"
    progress: str  # in the terminal's progress lines: "reason"
    supports: bool  # its evidence must support the request (else oppose it)
    hat: str = ""  # its heading in a card outline; empty: not a hat of its own


@dataclass(frozen=True)
class ModeSpec:
    """One mode's settings and labels (its steps are ``modes.MODES[name]``)."""

    name: str  # the CLI sub-command and Answer.mode
    title: str  # "Debate brief"
    request: str  # what the request is: question, motion, position, claim
    help: str  # the CLI sub-command's help
    queries: tuple[str, ...]  # retrieval queries fused by rank; {r} is the request (gather.py)
    min_score: float  # top dense cosine below which it answers "not covered" without the model
    max_sentences: int  # sentences shown to the model at most (the most relevant are kept)
    sections: tuple[Section, ...]
    passages: int = 0  # passages retrieved; 0: the request's k (for overview, k is key points per side)
    reads_sources: bool = True  # the model is shown the numbered sources block (else it is not fitted to n_ctx)
    k_means: str = "passages to give the model"  # what the request's k is, for --help and the page

    @property
    def label(self) -> str:
        """The page's name for it: "Brief"."""
        return self.name.capitalize()


ANSWER = Section("answer", "Answer", "answer", "point", True, hat="Answer")
FOR = Section("for", "Arguments FOR the motion", "FOR", "FOR", True, hat="FOR the motion")
AGAINST = Section("against", "Arguments AGAINST the motion", "AGAINST", "AGAINST", False, hat="AGAINST the motion")
REASON = Section("reason", "Best reasons", "Reason", "reason", True, hat="Best reasons")
OBJECTION = Section("objection", "Strongest objections and replies", "Objection", "objection", False,
                    hat="Strongest objections and replies")
# rebut's card outline is built in cards.py (an "Answers" hat under the claim), so no hats here.
WEAK_POINT = Section("weak_point", "Weak points", "Weak point", "weak point", False)
CONCESSION = Section("concession", "Honest concessions", "Concession", "concession", True)
KEYPOINT_FOR = Section("keypoint_for", "Key points FOR the motion", "Key point FOR", "key point FOR", True,
                       hat="FOR the motion")
KEYPOINT_AGAINST = Section("keypoint_against", "Key points AGAINST the motion", "Key point AGAINST",
                           "key point AGAINST", False, hat="AGAINST the motion")

# ask: measured on eval/gold_seeds.jsonl (covered questions 0.344-0.79, off-topic < 0.2).
SPECS: dict[str, ModeSpec] = {s.name: s for s in (
    ModeSpec("ask", "Answer", "question", "answer a question from the corpus, with verified citations",
             ("{r}",), 0.30, 14, (ANSWER,)),
    ModeSpec("brief", "Debate brief", "motion", "balanced debate brief: FOR and AGAINST with verified evidence",
             ("{r}", "arguments and evidence for: {r}",
              "arguments and evidence against: {r}; problems, risks, criticism"), 0.0, 16, (FOR, AGAINST)),
    ModeSpec("steelman", "Steelman", "position", "the strongest charitable version of a position",
             ("{r}", "reasons and evidence supporting: {r}", "objections to: {r}"), 0.30, 16, (REASON, OBJECTION)),
    ModeSpec("rebut", "Rebuttal", "claim", "assumptions, weak points, counter-evidence and a rebuttal speech",
             ("{r}", "evidence against: {r}; counter-arguments", "evidence supporting: {r}"), 0.30, 16,
             (WEAK_POINT, CONCESSION)),
    # overview: many sentences, each read on its own by the stance step (no sources block), so its cap is
    # the stance step's time: two short reads per sentence (docs/evaluation.md, "Library overview").
    ModeSpec("overview", "Library overview", "motion",
             "the library's key points on each side of a motion, with how often each comes up",
             ("{r}", "arguments and evidence for: {r}", "arguments and evidence against: {r}; problems, risks"),
             0.30, 160, (KEYPOINT_FOR, KEYPOINT_AGAINST), passages=40, reads_sources=False,
             k_means="key points per side at most"),
)}
# Every section of every mode, in the order answers show them.
SECTIONS: dict[str, Section] = {s.key: s for spec in SPECS.values() for s in spec.sections}
