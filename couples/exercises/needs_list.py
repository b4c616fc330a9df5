"""The needs request's words, written for this app (the published lists are copyrighted): needs to
choose from (an own word is fine too), and the gentle hints shown while a person types.

Needs are what everyone has (Nonviolent Communication's universal needs), not an action by the
partner. Grouped loosely so a client can show them in small sets; NEEDS is the flat list.

A hint rule is {"words": [...], "hint": "..."}: the hint shows when any of the words (or phrases)
appears in the text as whole words (inputs.hints_for). A hint never refuses an answer.
"""

GROUPS = {
    "connection": ("closeness", "affection", "companionship", "to be heard", "understanding",
                   "appreciation", "acceptance", "support"),
    "security": ("safety", "trust", "reassurance", "honesty", "predictability"),
    "freedom": ("space", "choice", "independence", "respect"),
    "ease": ("rest", "calm", "order", "ease"),
    "fairness": ("fairness", "teamwork", "consideration"),
    "joy": ("fun", "play", "meaning", "growth"),
}

NEEDS = tuple(word for words in GROUPS.values() for word in words)

# The few shown first (a phone screen has room for a handful); the rest are a "more" away.
COMMON = ("closeness", "to be heard", "support", "respect", "rest", "fairness")
assert set(COMMON) <= set(NEEDS)

# NVC: "ignored", "misunderstood"... say what the other did; the feeling is under them.
JUDGEMENT = {
    "words": ["ignored", "misunderstood", "manipulated", "abandoned", "rejected", "betrayed",
              "unappreciated", "neglected", "dismissed", "attacked", "blamed", "criticised",
              "criticized", "judged", "controlled", "pressured", "used", "cheated", "disrespected",
              "unheard", "unseen", "invisible", "unloved", "unwanted", "let down", "left out",
              "taken for granted"],
    "hint": "This word says what your partner did, as well as how you feel. What did you feel "
            "inside when it happened: hurt, lonely, sad, scared? You can keep this word if it "
            "fits best.",
}

# "I feel that you..." is a thought about the partner, not a feeling.
ABOUT_THE_PARTNER = {
    "words": ["you", "that"],
    "hint": "This sounds like a thought about your partner. A feeling is one word about you: "
            "sad, worried, lonely, tired.",
}

# Softened start-up: "always" and "never" turn one moment into a verdict on the person.
ABSOLUTE = {
    "words": ["always", "never", "every time", "all the time", "constantly"],
    "hint": "\u201cAlways\u201d and \u201cnever\u201d can sound like a verdict on your partner. "
            "One moment, as a camera would have seen it, is easier to hear.",
}

# NVC: a request leaves room for a no; a demand does not.
DEMAND = {
    "words": ["you must", "you have to", "you should", "you need to", "you ought to",
              "you'd better", "you better", "you've got to", "i demand", "or else"],
    "hint": "This may sound like a demand. A request leaves room for a no, for example: "
            "\u201cWould you be willing to ...?\u201d",
}

# NVC: a need is yours and universal; "you to ..." is a strategy, which belongs in the request.
STRATEGY = {
    "words": ["need you", "want you", "you to"],
    "hint": "That sounds like something for your partner to do, which fits the request. What "
            "would it give you: rest, closeness, fairness?",
}
