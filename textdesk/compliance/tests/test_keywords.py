"""Which texts are keywords, which read as a revocation, and which are just texts."""

import pytest

from textdesk.compliance.keywords import Keyword, keyword_of, reads_as_revocation

OPT_OUTS = [
    "STOP",
    "stop",
    "Stop",
    "sToP",
    " STOP ",
    "STOP.",
    "STOP!",
    "Stop!!!",
    "stop 🛑",
    "🛑 STOP 🛑",
    "\tstop\n",
    '"stop"',
    "STOPALL",
    "Stop all",
    "UNSUBSCRIBE",
    "unsubscribe.",
    "CANCEL",
    "cancel!",
    "END",
    "end.",
    "QUIT",
    "Quit",
    "REVOKE",
    "OPTOUT",
    "OPT OUT",
    "opt-out",
    "Opt out!",
    "\uff33\uff34\uff2f\uff30",  # full-width STOP, as some keyboards type it
    "stop\u200b",  # with a zero-width space pasted in
]
OPT_INS = ["START", "start", "Start!", " UNSTOP ", "unstop."]
HELPS = ["HELP", "help", "Help?", "INFO", "info!"]
NOT_KEYWORDS = [
    "Please stop",
    "stop texting me",
    "Can I stop by the office tomorrow?",
    "I want to cancel my appointment",
    "When does the semester end?",
    "STOP2",
    "stopp",
    "YES",
    "Start date for fall?",
    "I need help with my FAFSA",
    "",
    "🛑",
    "Thanks!",
]


@pytest.mark.parametrize("body", OPT_OUTS)
def test_an_opt_out_word_alone_is_an_opt_out(body):
    assert keyword_of(body) == Keyword.OPT_OUT


@pytest.mark.parametrize("body", OPT_INS)
def test_start_and_unstop_opt_back_in(body):
    assert keyword_of(body) == Keyword.OPT_IN


@pytest.mark.parametrize("body", HELPS)
def test_help_and_info_ask_for_help(body):
    assert keyword_of(body) == Keyword.HELP


@pytest.mark.parametrize("body", NOT_KEYWORDS)
def test_anything_more_or_less_than_the_word_is_a_text(body):
    assert keyword_of(body) is None


@pytest.mark.parametrize("body", ["YES", "yes", "Yes!", " y e s "])
def test_yes_opts_back_in_only_someone_who_opted_out(body):
    assert keyword_of(body, opted_out=True) == Keyword.OPT_IN
    assert keyword_of(body, opted_out=False) is None


def test_a_long_text_that_happens_to_spell_stop_is_not_a_keyword():
    assert keyword_of("s" + " " * 50 + "top") is None


@pytest.mark.parametrize(
    "body",
    [
        "stop texting me",
        "Please stop texting me!",
        "STOP SENDING ME MESSAGES",
        "don't text me again",
        "Do not contact me",
        "please unsubscribe me",
        "Unsubscribe me from this list",
        "remove me from this list",
        "Take me off your list please",
        "opt me out",
        "I want to opt out",
        "no more texts please",
        "Leave me alone",
        "wrong number",
        "This is not my number",
        "Never text this number again",
    ],
)
def test_sentences_that_read_as_a_revocation_are_flagged(body):
    assert keyword_of(body) is None  # not bare keywords: a person confirms them
    assert reads_as_revocation(body)


@pytest.mark.parametrize(
    "body",
    [
        "Can I stop by the office tomorrow?",
        "I want to cancel my appointment",
        "When does the form stop accepting answers?",
        "Thanks, that helps!",
        "Is the open day at the end of May?",
        "How do I remove a class from my schedule?",
        "Text me the address please",
    ],
)
def test_ordinary_sentences_are_not_flagged(body):
    assert not reads_as_revocation(body)
