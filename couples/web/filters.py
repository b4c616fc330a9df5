"""Template helpers shared by every page: names and people's words isolated by direction."""
from flask import current_app
from markupsafe import Markup


def bdi(text) -> Markup:
    """`text` escaped inside `<bdi>`, for a name or a person's words within a sentence built in an
    expression (templates write `<bdi>{{ name }}</bdi>` directly): a right-to-left name, or an old
    one holding a direction override, then cannot reorder the words around it."""
    return Markup("<bdi>{}</bdi>").format(text)


def isolate(text) -> str:
    """`text` between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE: `<bdi>` for plain-text
    places that cannot hold an element, such as the page's `<title>`."""
    return f"\u2068{text}\u2069"


def register_filters(app) -> None:
    app.add_template_filter(bdi, "bdi")
    app.add_template_filter(isolate, "isolate")
    app.context_processor(lambda: {"has_endpoint": lambda name: name in current_app.view_functions})
