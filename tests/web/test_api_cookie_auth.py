"""The API called by a signed-in browser: session cookie, CSRF header on writes."""

from __future__ import annotations

import httpx

from tests.conftest import Factory
from tests.web.dashboard.conftest import client_for, sign_in


async def test_cookie_session_reads_and_csrf_guards_writes(state, factory: Factory) -> None:
    from vixpro.web.app import create_app

    org = await factory.org(staff=True)
    async with client_for(create_app(state)) as browser:
        csrf = await sign_in(browser, org.owner_email)
        me = await browser.get("/api/v1/me")
        assert me.status_code == 200 and me.json()["kind"] == "user"
        body = {"name": "from browser", "role": "member"}
        assert (await browser.post("/api/v1/api-keys", json=body)).status_code == 403
        wrong = await browser.post("/api/v1/api-keys", json=body, headers={"X-CSRF-Token": "nope"})
        assert wrong.status_code == 403
        odd = await browser.post(
            "/api/v1/api-keys", json=body, headers={b"X-CSRF-Token": "caf\u00e9".encode()}
        )
        assert odd.status_code == 403
        ok = await browser.post("/api/v1/api-keys", json=body, headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 201
        staff_odd = await browser.patch(
            "/api/v1/staff/plans/lean",
            json={"name": "x"},
            headers={b"X-CSRF-Token": "caf\u00e9".encode()},
        )
        assert staff_odd.status_code == 403
        assert staff_odd.json()["type"].endswith("/csrf")


async def test_no_session_is_401_not_a_redirect(state) -> None:
    from vixpro.web.app import create_app

    async with client_for(create_app(state)) as browser:
        r = await browser.get("/api/v1/members")
        assert r.status_code == 401
        assert (
            isinstance(r, httpx.Response)
            and r.headers["content-type"] == "application/problem+json"
        )
