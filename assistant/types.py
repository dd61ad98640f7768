"""Typed records that cross module boundaries.

Library result shapes (Chroma dicts, pypdf pages, llama.cpp completions) are
converted into these at the module that talks to the library.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """A normalised source document; ``text`` is what every char offset refers to."""

    doc_id: str  # content hash prefix: the same bytes always get the same id
    source: str  # resolved path the document was read from
    title: str
    text: str
    author: str = ""
    publication: str = ""
    date: str = ""
    url: str = ""  # where it was published, when known (front matter, HTML canonical / og:url)
    qualifications: str = ""  # the author's credentials, when the file says
    accessed: str = ""  # date accessed = the day it was ingested (filled by the store)

    @property
    def label(self) -> str:
        """Short human label: the title, or the file name."""
        return self.title or self.source.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Chunk:
    """A span of a document: ``document.text[start:end] == text``."""

    chunk_id: str
    doc_id: str
    title: str
    source: str
    index: int  # chunk number within its document, from 0
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its score and the ranks that produced it."""

    chunk: Chunk
    score: float
    rank: int  # 1-based, after fusion
    dense_score: float | None = None
    lexical_score: float | None = None


@dataclass(frozen=True)
class DocumentInfo:
    """A stored document as listed by ``assistant docs``."""

    doc_id: str
    title: str
    source: str
    chunks: int
    chars: int
    added: str
    author: str = ""
    publication: str = ""
    date: str = ""
    url: str = ""
    qualifications: str = ""


@dataclass(frozen=True)
class Skipped:
    """Something a folder ingest found but could not even look at (a loop, a dangling link, ...)."""

    path: str
    reason: str  # one line, e.g. "symlink loop: leads back to /notes"


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did, per file."""

    added: list[DocumentInfo] = field(default_factory=list)
    replaced: list[DocumentInfo] = field(default_factory=list)
    unchanged: list[DocumentInfo] = field(default_factory=list)
    chunks_written: int = 0
    seconds: float = 0.0
    skipped: list[Skipped] = field(default_factory=list)  # what a folder walk passed over, and why
    ignored: int = 0  # files in a folder left out for their type (not .txt .md .pdf .html)


@dataclass(frozen=True)
class Sentence:
    """A numbered sentence of a passage shown to the model; offsets are in the document."""

    sid: str  # "S12": what the model cites
    passage: int  # 1-based number of the passage in this request ("P3")
    chunk_id: str
    doc_id: str
    title: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Quote:
    """One piece of evidence as the model cited it, after checking against the store."""

    ref: str  # what the model gave: a sentence id, or "P2: quoted text"
    verified: bool
    reason: str = ""  # why it failed, when it did
    passage: int | None = None
    chunk_id: str = ""
    doc_id: str = ""
    title: str = ""
    start: int = -1  # char offsets in the source document's normalised text
    end: int = -1
    text: str = ""
    # The stance step's label of this sentence towards the request: support | oppose | neutral
    # ("" when no stance step ran, e.g. ask). With the point's section it says whether the quote
    # backs the claim it is filed under; "verified" only ever means "verbatim at these offsets".
    stance: str = ""
    corrected: bool = False  # the stance is the side a user set for this sentence and request, not the model's


@dataclass(frozen=True)
class Prevalence:
    """How much of one side's evidence a key point carries (overview): counted in code, never by the model."""

    sentences: int  # the side's sentences matched to the key point
    documents: int  # distinct documents among them
    share: float  # sentences / side_total
    side_total: int  # the side's sentences, matched to a key point or not


@dataclass(frozen=True)
class Point:
    """A claim in an answer with the evidence it rests on."""

    section: str  # answer | for | against | reason | objection | weak_point | concession | keypoint_for | ...
    text: str
    reasoning: str = ""
    quotes: tuple[Quote, ...] = ()
    reply: str = ""  # objections: the best reply
    reply_quotes: tuple[Quote, ...] = ()
    prevalence: Prevalence | None = None  # overview key points: their matched sentences, counted

    @property
    def verified_quotes(self) -> tuple[Quote, ...]:
        return tuple(q for q in self.quotes if q.verified)


@dataclass(frozen=True)
class Timings:
    """Where the time went, for --json and the benchmarks."""

    retrieval_ms: float = 0.0
    prompt_tokens: int = 0
    ttft_ms: float = 0.0
    generated_tokens: int = 0
    generation_s: float = 0.0
    total_ms: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.generated_tokens / self.generation_s if self.generation_s > 0 else 0.0


@dataclass(frozen=True)
class KeyTerm:
    """A term of the motion that needs defining (brief)."""

    term: str
    definition: str


@dataclass(frozen=True)
class Clash:
    """Where the two sides collide, and what would decide it (brief)."""

    issue: str
    decider: str


@dataclass(frozen=True)
class Gates:
    """What the code-enforced quality gates found and did, for --json and eval.

    ``*_dropped`` / ``*_repaired`` count what was caught; an answer that leaves
    the gates has no restated request, no duplicate claim, no ids in prose and
    no evidence used twice.
    """

    restating_dropped: int = 0  # claims too close to the request
    duplicate_dropped: int = 0  # claims too close to an earlier claim
    ids_in_prose_repaired: int = 0  # prose fields that named sentence / passage ids or "the sources"
    copy_dropped: int = 0  # points that were only ids; ask answers made only of copies (rewritten)
    ids_as_extractive: int = 0  # ask points that were only sentence ids, kept as those sentences (extractive)
    ungrounded_dropped: int = 0  # tags sharing too few words with the sentences they tag
    evidence_reused: int = 0  # evidence sentences cited by more than one point (0 by construction)
    regenerated: int = 0  # steps run again after a gate rejected their output
    trimmed: int = 0  # strings the grammar closed at their length cap, cut back to a sentence or word boundary
    echo_dropped: int = 0  # fields still repeating the task's instructions after a second try
    unfaithful_rewritten: int = 0  # tags the faithfulness check failed, rewritten by the model and then passed
    unfaithful_replaced: int = 0  # tags that failed again, replaced by a verbatim clause of their evidence
    unfaithful_dropped: int = 0  # ask points in the model's words that their sentences do not say (dropped)
    keypoint_unconfirmed: int = 0  # overview cards the model says do not make their key point (left unmatched)
    unjudged_replaced: int = 0  # tags of a model whose check decides nothing, shown as a clause of their evidence


@dataclass(frozen=True)
class Answer:
    """The result of ask / brief / steelman / rebut / overview, verified.

    Mode prose is typed: ``key_terms`` and ``clashes`` (brief), ``thesis``
    (steelman), ``assumptions`` and ``speech`` (rebut), ``gaps`` (all).
    """

    mode: str
    request: str
    model: str
    passages: tuple[Passage, ...]
    points: tuple[Point, ...]
    covered: bool = True
    notices: tuple[str, ...] = ()
    timings: Timings = field(default_factory=Timings)
    key_terms: tuple[KeyTerm, ...] = ()
    clashes: tuple[Clash, ...] = ()
    gaps: tuple[str, ...] = ()
    thesis: str = ""
    assumptions: tuple[str, ...] = ()
    speech: str = ""
    gates: Gates = field(default_factory=Gates)
    # The numbered sentences the model was shown (after screening and selection); what it could cite.
    sentences: tuple[Sentence, ...] = ()
    # The stance step's label of each shown sentence (sid -> support | oppose | neutral), when it ran.
    stances: tuple[tuple[str, str], ...] = ()

    @property
    def prose(self) -> list[str]:
        """Every free-text field the model wrote (for gates and key-point scoring)."""
        out = [t for p in self.points for t in (p.text, p.reasoning, p.reply)]
        out += [t.definition for t in self.key_terms] + [x for c in self.clashes for x in (c.issue, c.decider)]
        out += [*self.gaps, self.thesis, *self.assumptions, self.speech]
        return [t for t in out if t.strip()]

    @property
    def quotes(self) -> list[Quote]:
        return [q for p in self.points for q in (*p.quotes, *p.reply_quotes)]

    @property
    def verified_count(self) -> int:
        return sum(q.verified for q in self.quotes)

    @property
    def rejected_count(self) -> int:
        return sum(not q.verified for q in self.quotes)
