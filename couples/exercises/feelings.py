"""A short feelings list, written for this app, offered as suggestions (an own word is fine too).

Grouped loosely so a client can show them in small sets; FEELINGS is the flat list. Only words
for what happens inside a person: "ignored" or "misunderstood" say what someone else did
(needs_list.JUDGEMENT), so they are not offered.
"""

GROUPS = {
    "calm": ("calm", "relieved", "content", "peaceful", "safe", "rested"),
    "warm": ("grateful", "tender", "close", "hopeful", "glad", "moved"),
    "low": ("sad", "lonely", "disappointed", "tired", "discouraged", "hurt"),
    "tense": ("worried", "anxious", "overwhelmed", "on edge", "scared", "unsure"),
    "heated": ("frustrated", "irritated", "angry", "resentful", "impatient", "annoyed"),
    "exposed": ("embarrassed", "ashamed", "guilty", "vulnerable", "insecure", "awkward"),
}

FEELINGS = tuple(word for words in GROUPS.values() for word in words)

# The few shown first (a phone screen has room for a handful); the rest are a "more" away.
COMMON = ("calm", "hopeful", "sad", "lonely", "worried", "frustrated")
assert set(COMMON) <= set(FEELINGS)
