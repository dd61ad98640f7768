"""Key point candidates as text: the short statements a sentence offers (``clauses``), and what counts as one.

A candidate is a whole sentence of at most ``MAX_WORDS`` words, or a clause of
any sentence cut where a reason or an aside begins ("because", "which", ";",
a dash). Questions, fragments that lean on another clause (a leading
connective, preposition, pronoun or auxiliary), Title Case headings and
leading enumerators ("First, ...") are left out. Used by ``keypoints.py``;
English only (the word lists are). Not handled: a verb check (a noun phrase
such as "The productivity debate" passes), quotes inside a clause.
"""

from __future__ import annotations

import re

MAX_WORDS = 12
MIN_WORDS = 3
# A sentence ends at . ! ? before a space (crowd arguments often go on in lower case), or at a new line;
# "3.5%" stays whole.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# Where a main clause ends and a reason or an aside begins; the reason's connective goes with the break.
_CLAUSE_BREAK = re.compile(r"\s*[;:()\u2013\u2014]\s*|\s+-\s+|,?\s+(?:because|since|as|so that|so|therefore|thus|"
                           r"but|although|though|while|whereas|otherwise)\s+|,?\s+(?=(?:which|who|meaning)\s)", re.I)
# A clause that starts with one of these leans on another one (or is a question or a fragment).
_LEADING = frozenset("and but or so because since as which that who whom whose if when while although though whereas "
                     "also then thus therefore meaning otherwise however e.g i.e etc of to for in on at by with from "
                     "about into this these those they them he she his her such what why how is are was were be "
                     "been do does did has have had can could will would should may might must".split())
# Enumerators and discourse markers in front of a statement: dropped, the statement kept.
_MARKER = re.compile(r"^(?:first|second|third|finally|firstly|secondly|thirdly|lastly|moreover|furthermore|indeed|"
                     r"in fact|in short|of course|for example|for instance|in addition|additionally),\s*", re.I)
_WORD = re.compile(r"[A-Za-z0-9']+")


def clauses(text: str, max_words: int = MAX_WORDS) -> list[str]:
    """The statements a text offers as key points: short sentences, and clauses of any sentence.

    >>> clauses("Homeschooling should be banned because children need friends. Why not?")
    ['Homeschooling should be banned because children need friends', 'Homeschooling should be banned', \
'Children need friends']
    >>> clauses("This is bad.")
    []
    """
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if not sentence.strip() or sentence.rstrip().endswith("?"):
            continue
        parts = [sentence] if len(_WORD.findall(sentence)) <= max_words else []
        pieces = [p for p in _CLAUSE_BREAK.split(sentence) if p and p.strip()]
        parts += pieces if len(pieces) > 1 else []
        for part in parts:
            clean = _tidy(part)
            if clean and _well_formed(clean, max_words) and clean not in out:
                out.append(clean)
    return out


def _tidy(part: str) -> str:
    """Stray quotes, bullets and end punctuation off; first letter upper case."""
    clean = re.sub(r"^[^\w\"'“(]+", "", part.strip()).strip("`'\"*•-–— ").rstrip(".,;:!").strip()
    clean = _MARKER.sub("", clean)
    return clean[:1].upper() + clean[1:]


def _well_formed(clause: str, max_words: int) -> bool:
    """Enough words, no leading connective, preposition, bare pronoun or question word, not a Title Case heading.

    >>> _well_formed("The Engine of the Next Industrial Revolution", 12), _well_formed("Parents are not teachers", 12)
    (False, True)
    """
    words = _WORD.findall(clause)
    capitals = sum(w[0].isupper() for w in words if w[0].isalpha() and len(w) > 3)
    long_words = sum(1 for w in words if w[0].isalpha() and len(w) > 3)
    heading = long_words >= 3 and capitals >= 0.75 * long_words
    return MIN_WORDS <= len(words) <= max_words and words[0].lower() not in _LEADING and not heading
