"""Hypothesis strategies for bad input: wrong types, missing and extra fields, huge strings, deep
nesting, odd unicode, out-of-range ratings. Every mutation is chosen to be INVALID, so the
oracle is simple: a clear error, never a 500, and nothing stored changes."""
from hypothesis import strategies as st

ODD_TEXT = [
    "\u202eevil\u202c", "zero\u200bwidth\u200d", "\ufeffbom", "nul\x00byte", "bell\x07", "cr\rlf\nfake log line",
    "\ud800", "\udfff", "e\u0301" * 50, "\U0001F469\u200d\u2764\ufe0f\u200d\U0001F468" * 20,
    "<script>alert(1)</script>", "{{7*7}}", "' OR 1=1--", "%_%", "\\x00", "A" * 5000, "",
    "   ", "\u0000" * 3, "\x1b[31mred",
]
BAD_RATINGS = [-1, 11, 7.9, 10.5, "7", " 7 ", "\u0667", "1_0", True, False, None, [], {}, [7], {"v": 7},
               2 ** 63, -(2 ** 63), 1e308, float("nan"), float("inf"), "NaN", 1e-9]
# Never valid in any text field: control characters, lone surrogates, far too long.
BAD_TEXT = ["nul\x00byte", "bell\x07", "\ud800", "x\udfffx", "a long password with \ud83d in it", "A" * 5000, "\x1b[31mred", "tab\x0bvt"]
EXTRA_KEYS = ["role", "couple_id", "seq", "author_id", "user_id", "is_admin", "__proto__", "audience", ""]


def json_values(max_leaves=12):
    """Any JSON value, including odd strings and numbers."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                        st.floats(allow_nan=False, allow_infinity=False),
                        st.text(max_size=200), st.sampled_from(ODD_TEXT))
    return st.recursive(scalars, lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=12), kids, max_size=4)),
        max_leaves=max_leaves)


def deep(depth: int, kind: str = "list"):
    value = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


DEEP = st.sampled_from([deep(50), deep(200, "dict"), deep(400)])  # deeper: raw bytes in test_fuzz_api


@st.composite
def broken(draw, valid: dict, bad_values: dict | None = None):
    """A valid body with one or more breaking mutations applied (never still valid)."""
    body = dict(valid)
    bad_values = bad_values or {}
    keys = list(valid)
    n = draw(st.integers(min_value=1, max_value=3))
    for _ in range(n):
        how = draw(st.sampled_from(["drop", "extra", "type", "bad"] if keys else ["extra"]))
        if how == "drop" and keys:
            body.pop(draw(st.sampled_from(keys)), None)
        elif how == "extra":
            body[draw(st.sampled_from(EXTRA_KEYS) | st.text(min_size=1, max_size=20))] = draw(json_values(4))
        elif how == "type" and keys:
            key = draw(st.sampled_from(keys))
            body[key] = draw(st.one_of(st.integers(), st.booleans(), st.none(), st.lists(st.integers(), max_size=3),
                                       st.dictionaries(st.text(max_size=5), st.integers(), max_size=2), DEEP)
                             .filter(lambda v, k=key: type(v) is not type(valid[k])))
        elif keys:
            key = draw(st.sampled_from(keys))
            options = bad_values.get(key)
            body[key] = draw(st.sampled_from(options)) if options else draw(st.sampled_from(BAD_TEXT))
    return body


def any_body(valid: dict, bad_values: dict | None = None):
    """A body that is wrong: mutated, any JSON at all, or deeply nested."""
    return st.one_of(broken(valid, bad_values), json_values().filter(lambda v: not isinstance(v, dict)), DEEP)
