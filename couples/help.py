"""The Help page: crisis and domestic-violence services (CRISIS_RESOURCES in config.py), for
anyone, logged in or not. The same list is on the live room's "not today" screen, through the
`crisis_resources()` template global (templates/_help.html)."""
import re
from urllib.parse import urlsplit

from flask import Blueprint, current_app, render_template

bp = Blueprint("help", __name__)

ANYWHERE = "Wherever you are"


@bp.get("/help")
def page():
    return render_template("help.html")


@bp.app_template_global()
def crisis_resources() -> list[tuple[str, list[dict]]]:
    """The configured services grouped by region, in the order they were listed; those with no
    region first. Each entry gains `tel` (its tel: link) and `site` (the address to show)."""
    groups: dict[str, list[dict]] = {ANYWHERE: []}
    for entry in current_app.config["CRISIS_RESOURCES"]:
        groups.setdefault(entry.get("region") or ANYWHERE, []).append(_shown(entry))
    return [(region, entries) for region, entries in groups.items() if entries]


def _shown(entry: dict) -> dict:
    phone, url = entry.get("phone"), entry.get("url")
    return {**entry, "tel": "tel:" + re.sub(r"[^0-9+]", "", phone) if phone else None,
            "site": (urlsplit(url).hostname or url).removeprefix("www.") if url else None}
