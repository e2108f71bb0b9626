"""Signing in and out, redirects to the sign-in page, throttling and open-redirect protection."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.conftest import PASSWORD, Factory
from tests.web.dashboard.conftest import client_for, csrf_of, expire_sessions, sign_in
from vixpro.db.sessions import Database
from vixpro.web.deps import SESSION_COOKIE


async def test_page_without_session_redirects_to_login_with_next(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/team")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/team"
    r = await anon.get("/audit?before=abc")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/audit%3Fbefore%3Dabc"


async def test_root_redirects_to_plan(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/")
    assert r.status_code == 303
    assert r.headers["location"] == "/plan"


async def test_unknown_session_cookie_redirects_to_login(anon: httpx.AsyncClient) -> None:
    anon.cookies.set(SESSION_COOKIE, "not-a-session")
    r = await anon.get("/plan")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


async def test_expired_session_redirects_to_login(
    anon: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    await sign_in(anon, org.owner_email)
    await expire_sessions(database, org.owner_email)
    r = await anon.get("/api-keys")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/api-keys"


async def test_htmx_request_without_session_gets_a_full_page_redirect(
    anon: httpx.AsyncClient,
) -> None:
    r = await anon.get(
        "/team", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/team"}
    )
    assert r.status_code == 401
    assert r.headers["hx-redirect"] == "/login?next=/team"


async def test_login_sets_a_strict_session_cookie(
    anon: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    r = await anon.post("/login", data={"email": org.owner_email, "password": PASSWORD})
    assert r.status_code == 303
    assert r.headers["location"] == "/plan"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Max-Age=43200" in cookie  # the 12-hour session lifetime
    assert "Secure" not in cookie  # plain http and no https public URL


async def test_session_cookie_is_secure_over_https(app: FastAPI, factory: Factory) -> None:
    org = await factory.org()
    async with client_for(app, "https://testserver") as https:
        r = await https.post("/login", data={"email": org.owner_email, "password": PASSWORD})
    assert r.status_code == 303
    assert "Secure" in r.headers["set-cookie"]


async def test_wrong_password_shows_the_generic_message(
    anon: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    r = await anon.post("/login", data={"email": org.owner_email, "password": "wrong password!"})
    assert r.status_code == 401
    assert "email or password is incorrect" in r.text
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
    r = await anon.post("/login", data={"email": "nobody@example.com", "password": "whatever1234"})
    assert r.status_code == 401
    assert "email or password is incorrect" in r.text


async def test_login_is_throttled_after_repeated_failures(
    anon: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()  # its own email: the per-email limit (3 here) locks out no one else
    for _ in range(3):
        r = await anon.post("/login", data={"email": org.owner_email, "password": "nope nope nope"})
        assert r.status_code == 401
    r = await anon.post("/login", data={"email": org.owner_email, "password": PASSWORD})
    assert r.status_code == 429
    assert "too many failed sign-in attempts" in r.text
    assert int(r.headers["retry-after"]) > 0
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")


async def test_login_redirects_back_only_to_local_paths(
    anon: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    cases = {
        "/team": "/team",
        "/audit?before=x": "/audit?before=x",
        "//evil.example/path": "/plan",
        "https://evil.example/": "/plan",
        "/\\evil.example": "/plan",
        "javascript:alert(1)": "/plan",
        "": "/plan",
    }
    for next_, expected in cases.items():
        r = await anon.post(
            "/login", data={"email": org.owner_email, "password": PASSWORD, "next": next_}
        )
        assert r.status_code == 303, next_
        assert r.headers["location"] == expected, next_


async def test_login_page_keeps_a_safe_next_only(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/login?next=//evil.example")
    assert r.status_code == 200
    assert 'name="next" value="/plan"' in r.text
    r = await anon.get("/login?next=/team")
    assert 'name="next" value="/team"' in r.text


async def test_logout_needs_csrf_then_ends_the_session(
    anon: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    csrf = await sign_in(anon, org.owner_email)
    r = await anon.post("/logout", data={})
    assert r.status_code == 403
    assert (await anon.get("/plan")).status_code == 200
    token = anon.cookies.get(SESSION_COOKIE)
    r = await anon.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    # The session is gone on the server, not only the cookie in this browser.
    anon.cookies.set(SESSION_COOKIE, token or "")
    assert (await anon.get("/plan")).status_code == 303


async def test_dashboard_pages_do_not_count_against_the_api_limit(
    anon: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    await sign_in(anon, org.owner_email)
    for _ in range(3):
        assert (await anon.get("/team")).status_code == 200
    page = await anon.get("/plan")
    assert 'data-limit="API requests this hour"' in page.text
    row = page.text.split('data-limit="API requests this hour"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num usage">0</td>' in row
    assert csrf_of(page.text)
