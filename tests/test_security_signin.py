"""Attacks on sign-in and the public endpoints (issue 12, sections 1 and 4), each
against a real server: brute force, guessers beside a panic press, forged
X-Forwarded-For, floods of pairing codes, complaints, status lookups and Open311
keys, weak passwords. Each client comes from its own loopback address
(127.0.0.x), as different machines would."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from db.seed.demo import DEMO_OPEN311_KEY, DEMO_PASSWORD, demo_device_secret
from server.alarms.client import DeviceClient
from server.keys import settings_key
from server.ratelimit import HOLD_SECONDS
from tests.conftest import Api, base_of, next_event, start_app

PANTAU = str(Path(sys.executable).parent / "pantau")
LOGIN = "/api/auth/login"


@asynccontextmanager
async def client_at(server: TestServer, address: str) -> AsyncIterator[Api]:
    """An HTTP client whose connections come from `address` (a loopback alias)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0), force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield Api(base_of(server), session)


async def started(db_url: str, **settings: Any) -> TestServer:
    def prepare(app: web.Application) -> None:
        for name, value in settings.items():
            setattr(app[settings_key], name, value)

    return await start_app(db_url, prepare=prepare)


@pytest.fixture
async def make_server(db_url: str) -> AsyncIterator[Callable[..., Any]]:
    servers: list[TestServer] = []

    async def make(**settings: Any) -> TestServer:
        servers.append(await started(db_url, **settings))
        return servers[-1]

    yield make
    for srv in servers:
        await srv.close()


def retry_after(headers: Any) -> int:
    value = int(headers["Retry-After"])
    assert value >= 1
    return value


async def guess(api: Api, username: str, password: str = "tebak-tebakan",
                headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    async with api.session.post(api.base + LOGIN, json={"username": username,
                                                       "password": password},
                                headers=headers or {}) as resp:
        return resp.status, await resp.json(), resp.headers


# -- section 1: brute force, growing delays, no lock an attacker can use -------------


async def test_brute_force_gets_429_and_the_real_user_still_signs_in(
        make_server: Callable[..., Any]) -> None:
    server = await make_server()
    async with client_at(server, "127.0.0.2") as attacker, \
            client_at(server, "127.0.0.3") as operator:
        for _ in range(5):  # PANTAU_RATE_SIGNIN_ACCOUNT: 5 a minute from one address
            status, body, _ = await guess(attacker, "operator")
            assert status == 401 and body["error"] == "unauthorised"
        asked = time.perf_counter()
        status, body, headers = await guess(attacker, "operator")
        # held a moment before it is answered, so hammering on it gains nothing
        assert time.perf_counter() - asked >= 0.9 * HOLD_SECONDS
        assert status == 429 and body["error"] == "too_many_requests"
        assert set(body) <= {"error", "message", "fields"}
        assert 1 <= retry_after(headers) <= 60
        # while limited, even the right password is not looked at from there
        status, _, _ = await guess(attacker, "operator", DEMO_PASSWORD)
        assert status == 429
        # the operator at shift start, from another address, signs in at once
        token = await operator.login("operator", DEMO_PASSWORD)
        assert (await operator.get("/api/me", token=token))[0] == 200
        # and the same address may still try other accounts (its own typos)
        assert (await guess(attacker, "supervisor"))[0] == 401


async def test_an_address_spraying_many_accounts_is_slowed_down(
        make_server: Callable[..., Any]) -> None:
    server = await make_server(rate_signin_address="8/minute")
    async with client_at(server, "127.0.0.4") as sprayer, \
            client_at(server, "127.0.0.5") as other:
        names = [f"user{secrets.token_hex(3)}" for _ in range(8)]
        assert [(await guess(sprayer, n))[0] for n in names] == [401] * 8
        status, _, headers = await guess(sprayer, "operator", DEMO_PASSWORD)
        assert status == 429 and retry_after(headers) <= 60
        assert (await guess(other, "operator", DEMO_PASSWORD))[0] == 200


async def test_a_successful_sign_in_clears_its_own_count(make_server: Callable[..., Any]
                                                         ) -> None:
    server = await make_server()
    async with client_at(server, "127.0.0.6") as tired:
        for _ in range(4):
            assert (await guess(tired, "operator"))[0] == 401
        assert (await guess(tired, "operator", DEMO_PASSWORD))[0] == 200
        for _ in range(4):  # a fresh allowance after the success
            assert (await guess(tired, "operator"))[0] == 401


async def test_department_page_answers_a_readable_429(make_server: Callable[..., Any]) -> None:
    server = await make_server()
    async with client_at(server, "127.0.0.7") as api:
        form = {"username": "dsdabm.staff", "password": "salah-salah"}
        for _ in range(5):
            async with api.session.post(api.base + "/dept/login", data=form,
                                        allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"] == "/dept?m=login"
        async with api.session.post(api.base + "/dept/login", data=form,
                                    allow_redirects=False) as r:
            assert r.status == 429 and r.content_type == "text/html"
            assert "Terlalu banyak percobaan masuk" in await r.text()
            retry_after(r.headers)
        # the API door counts the same attempts (one rule, two doors)
        assert (await guess(api, "dsdabm.staff", DEMO_PASSWORD))[0] == 429


# -- section 1: the password check never holds up an alarm ---------------------------


async def test_a_panic_press_reaches_the_console_promptly_while_guessers_hammer(
        make_server: Callable[..., Any]) -> None:
    # Rate limits far out of the way: the bounded, low-priority pool alone must
    # keep the alarm path fast, as against guessers from very many addresses.
    server = await make_server(rate_signin_address="100000/minute",
                               rate_signin_account="100000/minute")
    stop = asyncio.Event()
    answers: dict[int, int] = {}

    async def guesser(address: str, path: str) -> None:
        async with client_at(server, address) as g:
            while not stop.is_set():
                name = f"operator{secrets.token_hex(2)}"
                if path == LOGIN:
                    status = (await guess(g, name))[0]
                else:
                    async with g.session.post(g.base + path, allow_redirects=False, data={
                            "username": name, "password": "tebak-tebakan"}) as r:
                        status = r.status
                answers[status] = answers.get(status, 0) + 1

    guessers = [asyncio.create_task(guesser(f"127.0.1.{i}", LOGIN if i % 3 else "/dept/login"))
                for i in range(1, 13)]
    async with aiohttp.ClientSession() as session:
        api = Api(base_of(server), session)
        console = await api.ws(token=await api.login("operator"))
        assert (await console.receive_json())["type"] == "hello"
        try:
            def hammering() -> bool:  # passwords being checked, and the wait line full
                return answers.get(401, 0) + answers.get(303, 0) >= 5 and 429 in answers

            deadline = time.monotonic() + 60
            while not hammering() and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            assert hammering(), answers
            unit = DeviceClient(api.base, "demo-braga", demo_device_secret("demo-braga"),
                                session)
            delays = []
            for _ in range(5):
                pressed = time.perf_counter()
                result = await unit.press(deadline_s=10)
                event = await next_event(console, "alarm.raised", timeout=10)
                assert event["payload"]["alarm"]["id"] == result.alarm_id
                delays.append(time.perf_counter() - pressed)
                healthz = time.perf_counter()
                assert (await api.get("/healthz"))[0] == 200
                delays.append(time.perf_counter() - healthz)
        finally:
            stop.set()
            await asyncio.gather(*guessers, return_exceptions=True)
            await console.close()
    assert max(delays) < 1.0, (delays, answers)


async def test_a_full_password_pool_answers_429_at_once(make_server: Callable[..., Any]
                                                        ) -> None:
    server = await make_server(signin_workers=1, signin_queue=0)
    async with aiohttp.ClientSession() as session:
        api = Api(base_of(server), session)
        results = await asyncio.gather(*(guess(api, f"orang{i}") for i in range(6)))
    busy = [r for r in results if r[0] == 429]
    assert busy and {r[0] for r in results} == {401, 429}
    for _, body, headers in busy:
        assert body["error"] == "too_many_requests" and "busy" in body["message"]
        retry_after(headers)


# -- section 1: the client address, X-Forwarded-For ----------------------------------


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "pantau.signin"]


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
        make_server: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    server = await make_server()
    caplog.set_level(logging.WARNING, logger="pantau.signin")
    async with client_at(server, "127.0.0.8") as forger:
        statuses = []
        for i in range(6):  # a new forged address each time does not reset the count
            status, _, _ = await guess(forger, "supervisor",
                                       headers={"X-Forwarded-For": f"198.51.100.{i}"})
            statuses.append(status)
    assert statuses == [401] * 5 + [429]
    assert {getattr(r, "address", None) for r in refusals(caplog)} == {"127.0.0.8"}


async def test_forwarded_for_from_a_trusted_proxy_is_the_client(
        make_server: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    server = await make_server(trusted_proxies=(ipaddress.ip_network("127.0.0.0/30"),))
    caplog.set_level(logging.WARNING, logger="pantau.signin")
    async with client_at(server, "127.0.0.2") as proxy:
        forwarded = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}  # client forged the first
        for _ in range(5):
            assert (await guess(proxy, "supervisor", headers=forwarded))[0] == 401
        assert (await guess(proxy, "supervisor", headers=forwarded))[0] == 429
        # another client behind the same proxy is another address
        status, _, _ = await guess(proxy, "supervisor", DEMO_PASSWORD,
                                   headers={"X-Forwarded-For": "203.0.113.10"})
        assert status == 200
        # a chain through two trusted proxies; garbage stops the walk at the last good hop
        await guess(proxy, "x-chain", headers={"X-Forwarded-For": "192.0.2.7, 127.0.0.1"})
        await guess(proxy, "x-garbage", headers={"X-Forwarded-For": "not-an-ip, 127.0.0.1"})
        await guess(proxy, "x-none")
    seen = {r.username: r.address for r in refusals(caplog)}  # type: ignore[attr-defined]
    assert seen["supervisor"] == "203.0.113.9"
    assert seen["x-chain"] == "192.0.2.7"
    assert seen["x-garbage"] == "127.0.0.1"
    assert seen["x-none"] == "127.0.0.2"


async def test_failed_sign_ins_are_logged_without_the_password(
        make_server: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    server = await make_server()
    caplog.set_level(logging.WARNING, logger="pantau.signin")
    secret = "rahasia-sekali-" + secrets.token_hex(4)
    async with client_at(server, "127.0.0.9") as api:
        await guess(api, "operator", secret)
        await guess(api, "nobody.here", secret)
        async with api.session.post(api.base + "/dept/login", allow_redirects=False,
                                    data={"username": "operator", "password": secret}) as r:
            assert r.status == 303  # right password or not, an operator is not dept staff
    records = refusals(caplog)
    got = [(r.username, r.address, r.door, r.reason) for r in records]  # type: ignore[attr-defined]
    assert got == [("operator", "127.0.0.9", "api", "wrong password"),
                   ("nobody.here", "127.0.0.9", "api", "unknown user"),
                   ("operator", "127.0.0.9", "dept", "wrong password")]
    for r in records:
        assert secret not in r.getMessage() and secret not in repr(vars(r))
    assert secret not in caplog.text


async def test_hostile_usernames_are_refused_cleanly(make_server: Callable[..., Any],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    server = await make_server()
    caplog.set_level(logging.WARNING, logger="pantau.signin")
    async with client_at(server, "127.0.0.10") as api:
        status, body, _ = await guess(api, "x" * 100_000)
        assert status == 400 and "username" in body["fields"]
        for name in ("opera\x00tor", "a\nfake log line", "../../etc", "operator' --"):
            status, body, _ = await guess(api, name)
            assert status == 401 and body["error"] == "unauthorised", (name, body)
    lines = [r.getMessage() for r in refusals(caplog)]
    assert all("\n" not in line for line in lines)


async def test_old_hashes_still_verify_and_are_renewed(make_server: Callable[..., Any],
                                                      db_url: str) -> None:
    from argon2 import PasswordHasher

    from db import passwords

    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(DEMO_PASSWORD)
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("UPDATE people SET password_hash = $1 WHERE username = 'admin'", old)
        server = await make_server()
        async with aiohttp.ClientSession() as session:
            await Api(base_of(server), session).login("admin", DEMO_PASSWORD)
        renewed = await conn.fetchval("SELECT password_hash FROM people WHERE username = 'admin'")
    finally:
        await conn.close()
    assert renewed != old and not passwords.needs_rehash(renewed)
    assert f"m={passwords.MEMORY_COST_KIB},t={passwords.TIME_COST}" in renewed
    assert passwords.verify_password(renewed, DEMO_PASSWORD)


# -- section 1: new passwords are checked --------------------------------------------


@pytest.mark.parametrize("weak", ["password", "12345678"])
async def test_weak_passwords_are_refused_through_the_api(api: Api, weak: str) -> None:
    admin = await api.login("admin")
    status, body = await api.post("/api/people", {
        "username": "lemah", "full_name": "Akun Lemah", "password": weak,
        "roles": ["call_center"]}, token=admin)
    assert status == 400
    assert "too easy to guess" in body["fields"]["password"]
    assert "common password" in body["fields"]["password"]
    status, _ = await api.post("/api/people", {
        "username": "kuat", "full_name": "Akun Kuat", "password": "kopi-susu-merah-7",
        "roles": ["call_center"]}, token=admin)
    assert status == 201


async def test_long_passwords_are_judged_not_crashed_on(api: Api) -> None:
    admin = await api.login("admin")
    long_one = "kopi susu merah di jalan braga setiap pagi " * 3 + "x" * 60  # 189 characters
    status, body = await api.post("/api/people", {
        "username": "panjang", "full_name": "Kata Sandi Panjang", "password": long_one,
        "roles": ["call_center"]}, token=admin)
    assert status == 201, body
    await api.login("panjang", long_one)
    for weak, why in (("a" * 200, "too easy to guess"), ("b" * 201, "at most 200")):
        status, body = await api.post("/api/people", {
            "username": "lagi", "full_name": "Lagi", "password": weak,
            "roles": ["call_center"]}, token=admin)
        assert status == 400 and why in body["fields"]["password"], body


def test_weak_passwords_are_refused_by_the_cli(db_url: str) -> None:
    def add(name: str, password: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PANTAU_LOG_FORMAT": "text", "DATABASE_URL": db_url,
               "PANTAU_NEW_PASSWORD": password}
        return subprocess.run([PANTAU, "user", "add", name, "--name", "Nama Orang",
                               "--role", "expert"], capture_output=True, text=True, env=env,
                              timeout=60)

    for weak in ("password", "12345678", "nama.orang1"):
        proc = add("nama.orang", weak)
        assert proc.returncode == 1, proc.stdout
        assert "too easy to guess" in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    proc = add("nama.orang", "kopi-susu-merah-7")
    assert proc.returncode == 0, proc.stderr


# -- section 4 and the public endpoints: one address cannot block another -----------


async def test_a_pairing_flood_from_one_address_does_not_block_another(
        make_server: Callable[..., Any]) -> None:
    server = await make_server()
    async with client_at(server, "127.0.0.11") as flood, \
            client_at(server, "127.0.0.12") as kiosk:
        statuses = [(await flood.post("/api/wall/pairings", {}))[0] for _ in range(20)]
        assert statuses == [201] * 20
        async with flood.session.post(flood.base + "/api/wall/pairings", json={}) as r:
            assert r.status == 429 and (await r.json())["error"] == "too_many_requests"
            assert retry_after(r.headers) <= 15 * 60
        status, body = await kiosk.post("/api/wall/pairings", {"monitor": "main"})
        assert status == 201 and len(body["code"]) == 6


async def test_a_lapor_flood_gets_429_and_a_readable_page(make_server: Callable[..., Any]
                                                          ) -> None:
    server = await make_server()
    form = {"category": "sampah", "description": "Sampah menumpuk di trotoar",
            "address": "Jl. Braga 1", "anonymous": "1"}
    async with client_at(server, "127.0.0.13") as flood, \
            client_at(server, "127.0.0.14") as citizen:
        for _ in range(10):
            async with flood.session.post(flood.base + "/lapor?lang=en", data=form,
                                          allow_redirects=False) as r:
                assert r.status == 303
        async with flood.session.post(flood.base + "/lapor?lang=en", data=form,
                                      allow_redirects=False) as r:
            assert r.status == 429 and r.content_type == "text/html"
            assert "Too many requests from your network" in await r.text()
            retry_after(r.headers)
        async with citizen.session.post(citizen.base + "/lapor", data=form,
                                        allow_redirects=False) as r:
            assert r.status == 303


async def test_status_lookups_are_rate_limited(make_server: Callable[..., Any]) -> None:
    server = await make_server(rate_lapor_status="12/minute")
    async with client_at(server, "127.0.0.15") as walker, \
            client_at(server, "127.0.0.16") as reporter:
        statuses = []
        for n in range(1, 15):  # walking through references
            async with walker.session.get(f"{walker.base}/lapor/status/DEMO-{n:05d}") as r:
                statuses.append(r.status)
                if r.status == 429:
                    retry_after(r.headers)
                    assert "Terlalu banyak permintaan" in await r.text()
        assert 429 not in statuses[:12] and statuses[12:] == [429, 429]
        async with reporter.session.get(f"{reporter.base}/lapor/status/DEMO-00001") as r:
            assert r.status != 429


async def test_open311_key_failures_are_rate_limited(make_server: Callable[..., Any]) -> None:
    server = await make_server()
    form = {"service_code": "sampah", "address_string": "Jl. Braga 1",
            "description": "Sampah menumpuk"}
    async with client_at(server, "127.0.0.17") as guesser, \
            client_at(server, "127.0.0.18") as app:
        url = guesser.base + "/open311/v2/requests.json"
        for i in range(10):
            async with guesser.session.post(url, data={**form, "api_key": f"tebak-{i}"}) as r:
                assert r.status == 403
        async with guesser.session.post(url, data={**form, "api_key": "tebak-x"}) as r:
            assert r.status == 429 and retry_after(r.headers)
            body = await r.json()
            assert body[0]["code"] == 429 and "api_key" in body[0]["description"]
        # a guessed-right key from that address is not even looked at now
        async with guesser.session.post(url, data={**form, "api_key": DEMO_OPEN311_KEY}) as r:
            assert r.status == 429
        async with app.session.post(url, data={**form, "api_key": DEMO_OPEN311_KEY}) as r:
            assert r.status == 201


async def test_each_rule_counts_only_its_own_requests(make_server: Callable[..., Any]) -> None:
    # /lapor and Open311 keys with the same allowance: using up one leaves the other
    server = await make_server(rate_lapor="3/minute", rate_open311_key="3/minute")
    form = {"category": "sampah", "description": "Sampah menumpuk", "address": "Jl. Braga 1",
            "anonymous": "1"}
    async with client_at(server, "127.0.0.19") as api:
        statuses = []
        for _ in range(4):
            async with api.session.post(api.base + "/lapor", data=form,
                                        allow_redirects=False) as r:
                statuses.append(r.status)
        assert statuses == [303, 303, 303, 429]
        url = api.base + "/open311/v2/requests.json"
        async with api.session.post(url, data={"service_code": "sampah", "api_key": "salah",
                                               "address_string": "x", "description": "y"}) as r:
            assert r.status == 403
