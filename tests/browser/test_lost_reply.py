"""An answer that was saved while its reply was lost (the database connection failed right after
the commit, so the server could only say "unavailable", and nobody was sent the turn).

Max's page must keep the answer and send it again with the same id; the server answers "already
received" and tells every page how far its log goes; both pages, which missed the turn, rejoin and
show the next step. Playwright sits on each page's WebSocket: on Max's page it turns the real
reply into the outage's `unavailable`, and it drops the `update` each page would have received."""
import json
import re

from playwright.sync_api import expect

from browser_kit import answer, at_step, enter_room

UNAVAILABLE = {"ok": False, "error": {"code": "unavailable", "message": "The service is briefly unavailable."}}


class Wire:
    """A page's Socket.IO frames, with faults to switch on: lose the next `update`s; answer the
    next action's ack with `unavailable` instead of what the server said."""

    def __init__(self, page):
        self.drop_updates = False
        self.joins = 0
        self.fake_unavailable = False
        self.dropped, self.faked, self.actions, self.acks = [], [], [], []
        self._acks = set()  # ids of the actions whose real ack is to be replaced
        page.route_web_socket(re.compile(r".*/socket\.io/.*"), self._route)

    def _route(self, ws):
        server = ws.connect_to_server()

        def outgoing(message):
            if isinstance(message, str):
                found = re.match(r'^42(\d+)\["action",(.*)\]$', message, re.S)
                if found:
                    self.actions.append(json.loads(found.group(2))["id"])
                    if self.fake_unavailable:
                        self.fake_unavailable = False
                        self._acks.add(found.group(1))
                elif re.match(r'^42\d+\["join",', message):
                    self.joins += 1
            server.send(message)

        def incoming(message):
            if isinstance(message, str):
                if self.drop_updates and message.startswith('42["update",'):
                    self.dropped.append(message)
                    return
                found = re.match(r"^43(\d+)\[(.*)\]$", message, re.S)
                if found:
                    self.acks.append(json.loads(found.group(2)))
                if found and found.group(1) in self._acks:
                    self._acks.discard(found.group(1))
                    self.faked.append(message)
                    ws.send(f"43{found.group(1)}[{json.dumps(UNAVAILABLE)}]")
                    return
            ws.send(message)

        ws.on_message(outgoing)
        server.on_message(incoming)


def test_an_answer_saved_while_its_reply_was_lost_reaches_both_pages_once(people):
    max_, noor, _lee = people(3)
    wire_a, wire_b = Wire(max_.page), Wire(noor.page)
    a, b = enter_room(max_), enter_room(noor)
    answer(a, safe=True)
    answer(b, safe=True)
    at_step(a, "Choose an exercise")
    a.get_by_role("button", name="Start: Greeting ritual").click()
    at_step(b, "Check-in")

    # The outage: Max's check-in is committed, but his page is told "unavailable" and neither
    # page receives the turn.
    joins = (wire_a.joins, wire_b.joins)
    wire_a.drop_updates = wire_b.drop_updates = wire_a.fake_unavailable = True
    answer(a, suds=2, connected=8)
    expect(a.locator("#form-status")).to_have_text("We could not save that just now. Trying again…")
    assert wire_a.faked and '"ok":true' in wire_a.faked[0].replace(" ", "")  # the server had saved it
    wire_a.drop_updates = wire_b.drop_updates = False

    # The page resends the same id by itself; both pages catch up.
    expect(a.locator("#turn")).to_have_text("Noor's turn.")
    expect(b.locator("#turn")).to_have_text("Your turn.")
    assert wire_a.actions[-2] == wire_a.actions[-1]  # the same id, sent again
    action_acks = [ack for ack in wire_a.acks if "snapshot" not in ack]
    assert action_acks[-1] == {"ok": True, "seq": action_acks[-1]["seq"], "duplicate": True}
    assert wire_a.joins > joins[0] and wire_b.joins > joins[1]  # each page rejoined to catch up
    assert wire_b.dropped  # Noor's page missed the turn and caught up without a reload
    answer(b, suds=3, connected=7)
    at_step(a, "Who goes first")
    for page in (a, b):  # the check-in is in each timeline once
        expect(page.locator("#timeline .entry-a", has_text="Check-in")).to_have_count(1)
        expect(page.locator("#timeline .entry-b", has_text="Check-in")).to_have_count(1)
