"""The private safety question asked before anything starts: its input, the texts partners get,
and the phase a viewer is shown, chosen so that nobody learns who said no before answering."""
from __future__ import annotations

from .declarations import PARTNERS
from .inputs import boolean, schema

SafetySchema = schema("safety_schema", safe=boolean("It feels safe to do this together now"))

# Who sees the answer, truthfully: never the partner; a linked therapist does (views.py gives them
# both answers, and the room page names them under the question).
QUESTION = ("Before anything starts, a private question, just for you: does it feel safe to do "
            "this together right now? Your answer is never shown to your partner. If your couple "
            "has a linked therapist, they see it, so that they can support you.")

WAITING = "Thank you. Your partner will not see your answer. Waiting for their answer."

NOT_TODAY = ("Today is not the right day for a joint exercise, and that is fine. "
             "If you see a therapist, they can help you decide what comes next.")
# The observer's words for the same moment: what happened, not advice meant for a partner.
NOT_TODAY_THERAPIST = ("A partner said it does not feel safe to practise together today, so no joint "
                       "exercise will start. Both partners were shown where to find help, and told "
                       "that their therapist can help them decide what comes next.")


def phase_for(s, viewer):
    phase = s["phase"]
    if phase == "hold" and viewer in PARTNERS and s["safety"][viewer] is None:
        return "safety"  # never tell someone who has not answered that the other said no
    return phase
