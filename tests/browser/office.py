"""What the browser tests of an office worker's day share: a firm with a line, logging in, a
simulated call, and whether something on the page can be seen and hit."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from offhook.store import Store
from tests import factories


def firm(store: Store, projects: int = 2) -> dict[str, Any]:
    """Anna (an admin) with a simulated line, one contact, and `projects` projects."""
    tel = factories.service_type(store)
    factories.telephony(store, service_type_id=tel.id, timezone="Europe/Zurich")
    user, line = factories.user_with_line(store)
    contact = factories.address(store)
    codes = [f"P-{101 + n}" for n in range(projects)]
    for code in codes:
        factories.project(store, code, customer_id=contact.company_id)
    return {"store": store, "user": user, "line": line, "contact": contact, "codes": codes}


def log_in(page: Any, base: str, login: str = "anna") -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    expect(page.locator("#journal")).to_have_attribute("data-live", "true", timeout=10_000)


def simulate(page: Any, number: str, name: str = "", outcome: str = "ringing") -> None:
    """Ring the user's simulated line through the API, with the page's own session."""
    status = page.evaluate(
        """async ([number, name, outcome]) => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const r = await fetch('/api/drivers/simulator/calls', {method: 'POST',
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
                body: JSON.stringify({number, name, outcome})});
            return r.status; }""",
        [number, name, outcome],
    )
    assert status == 200


def uncovered(locator: Any) -> bool:
    """Whether what is at the centre of the element (after scrolling it into view, as a click
    would) is the element itself or inside it: nothing lies over it."""
    locator.scroll_into_view_if_needed()
    return bool(
        locator.evaluate(
            """e => { const r = e.getBoundingClientRect();
                const x = r.left + r.width / 2, y = r.top + r.height / 2;
                if (x < 0 || y < 0 || x > innerWidth || y > innerHeight) return false;
                const top = document.elementFromPoint(x, y);
                return top === e || e.contains(top); }"""
        )
    )


def inside_window(locator: Any) -> bool:
    box = locator.bounding_box()
    size = locator.page.viewport_size
    return bool(
        box
        and box["x"] >= -0.5
        and box["y"] >= -0.5
        and box["x"] + box["width"] <= size["width"] + 0.5
        and box["y"] + box["height"] <= size["height"] + 0.5
    )


def put_panel(page: Any, **geometry: Any) -> None:
    """Keep a journal geometry for the logged-in user, as the panel itself would."""
    body = {"x": 0, "y": 0, "width": 420, "height": 480, "viewport_width": 1280}
    body.update({"viewport_height": 800, "collapsed": False, **geometry})
    status = page.evaluate(
        """async (body) => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const r = await fetch('/api/preferences/journal-panel', {method: 'PUT',
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
                body: JSON.stringify(body)});
            return r.status; }""",
        body,
    )
    assert status == 200
