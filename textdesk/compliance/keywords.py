"""What an inbound text means for consent: a bare keyword (STOP, START, HELP...), a sentence that
reads as a revocation ("please stop texting me"), or nothing.

Pure functions, no database: the consent actions decide what to do with the answer.

A keyword counts only when it is the whole text, give or take case, spaces, punctuation and
emoji ("Stop.", " STOP!! ", "stop 🛑", "opt-out"): carriers and the CTIA handbook treat the
bare word as the instruction. Anything longer is a person talking; when it reads as "stop
texting me", a person in the inbox confirms it with one click (the FCC accepts revocation "by
any reasonable means", so it must not be ignored, but "stop by the office" must not opt anyone
out on its own).
"""

import re
import unicodedata
from enum import StrEnum


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


OPT_OUT_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
)
OPT_IN_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info"})
# YES opts back in only someone who has opted out (otherwise it is an answer to a question).
YES_WORDS = frozenset({"yes"})


def normalize(body: str) -> str:
    """The text's letters only, lower case: "Opt-Out!! 🛑" -> "optout"."""
    folded = unicodedata.normalize("NFKC", body).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def keyword_of(body: str, *, opted_out: bool = False) -> Keyword | None:
    """The keyword a text consists of, or None. ``opted_out``: the sender has opted out, so a
    bare YES means START."""
    if len(body) > 40:  # a keyword with some decoration, never a message
        return None
    word = normalize(body)
    if word in OPT_OUT_WORDS:
        return Keyword.OPT_OUT
    if word in OPT_IN_WORDS or (opted_out and word in YES_WORDS):
        return Keyword.OPT_IN
    if word in HELP_WORDS:
        return Keyword.HELP
    return None


# Phrases that read as "stop texting me". Deliberately about texting or this list, so that
# "can I stop by tomorrow?" or "I want to cancel my appointment" are not flagged.
_REVOCATION = re.compile(
    r"""
    \b(?:
        (?:stop|quit|cease|no\s+more|don'?t|do\s+not|never)\s+
            (?:\w+\s+){0,2}?(?:text|texting|texts|messag\w*|contact\w*|sms|send\w*)\b
      | (?:unsubscribe|opt\s*-?\s*out|remove|take)\s+(?:\w+\s+){0,3}?
            (?:me|my\s+(?:number|phone))\b
      | (?:unsubscribe|opt\s*-?\s*out)\b
      | (?:remove|take)\s+me\s+(?:off|from)\b
      | opt\s+me\s+out
      | leave\s+me\s+alone
      | (?:wrong|not\s+my)\s+number
    )
    """,
    re.VERBOSE | re.IGNORECASE,
)


def reads_as_revocation(body: str) -> bool:
    """True for a sentence a person should look at as a possible opt-out."""
    text = unicodedata.normalize("NFKC", body).replace("\u2019", "'")
    return bool(_REVOCATION.search(text))
