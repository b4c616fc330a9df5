"""A short feelings list, written for this app, offered as suggestions (an own word is fine too).

Grouped loosely so a client can show them in small sets; FEELINGS is the flat list.
"""

GROUPS = {
    "calm": ("calm", "relieved", "content", "peaceful", "safe", "rested"),
    "warm": ("grateful", "tender", "close", "hopeful", "glad", "moved"),
    "low": ("sad", "lonely", "disappointed", "tired", "discouraged", "hurt"),
    "tense": ("worried", "anxious", "overwhelmed", "on edge", "scared", "unsure"),
    "heated": ("frustrated", "irritated", "angry", "resentful", "impatient", "defensive"),
    "exposed": ("embarrassed", "ashamed", "guilty", "unseen", "misunderstood", "left out"),
}

FEELINGS = tuple(word for words in GROUPS.values() for word in words)
