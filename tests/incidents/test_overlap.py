"""Overlapping an organisation's ingest transactions under its ingest lease: transactions of the
leaseholder with disjoint keys run at once; everything else still runs one at a time; a lost
lease, or an incident read outside the transaction's keys, sends the transaction back to run
alone; and concurrent writers (replicas) still decide as if one transaction at a time."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from tests.conftest import Factory, owner_dsn
from tests.incidents.helpers import firing
from vixpro.core.alerts import NormalizedAlert, Status
from vixpro.db.sessions import Database
from vixpro.db.urls import DatabaseUrls, libpq_url
from vixpro.incidents.ingest import IngestWriter, Submission, store
from vixpro.incidents.matching import ServerIndex
from vixpro.incidents.overlap import (
    Leases,
    OrgLease,
    OverlapRefused,
    Plan,
    alert_keys,
    lease_key,
)
from vixpro.incidents.storage import SERVERS

# ---- claims ---------------------------------------------------------------------------------


def test_disjoint_claims_are_granted_and_one_on_a_key_in_flight_is_refused() -> None:
    lease = OrgLease(uuid.uuid4(), 1, 1)
    first = lease.claim({"alert:a", "fp:a"})
    second = lease.claim({"alert:b", "fp:b"})
    assert first is not None and second is not None
    assert lease.claim({"alert:a", "fp:a", "alert:c"}) is None  # runs alone instead
    lease.release(second)
    assert lease.claim({"alert:a", "alert:c"}) is None  # still held by the first
    lease.release(first)
    third = lease.claim({"alert:a", "fp:a", "alert:c"})
    assert third is not None and third.keys == {"alert:a", "fp:a", "alert:c"}


def test_a_claim_extends_only_to_keys_nobody_held_since_it_was_made() -> None:
    lease = OrgLease(uuid.uuid4(), 1, 1)
    before = lease.claim({"fp:old"})
    assert before is not None
    lease.release(before)  # released before the next claim: no harm
    claim = lease.claim({"alert:x"})
    assert claim is not None
    assert lease.extend(claim, {"fp:old"})
    other = lease.claim({"fp:busy"})
    assert other is not None
    assert not lease.extend(claim, {"fp:busy", "fp:free"})
    assert claim.keys == {"alert:x", "fp:old"}  # nothing added by a refused extension
    lease.release(other)
    # Released after the claim was made: what the claim read may predate that commit.
    assert not lease.extend(claim, {"fp:busy"})
    assert lease.extend(claim, {"fp:free"})


def test_keys_cover_the_alert_its_group_and_its_servers_storm() -> None:
    server = uuid.uuid4()
    index = ServerIndex([(server, "web-1", {"hostname": "web-1.example"})])
    keys = alert_keys([firing("a", ("web-1",)), firing("b", ("elsewhere",))], index)
    assert keys == {"alert:a", f"server:{server}", f"storm:{server}", "alert:b", "fp:b"}


# ---- leases ---------------------------------------------------------------------------------


@pytest.fixture
async def leases(db_urls: DatabaseUrls) -> AsyncIterator[Leases]:
    held = Leases(libpq_url(db_urls.app))
    yield held
    await held.close()


async def test_one_process_at_a_time_holds_an_organisations_lease(
    db_urls: DatabaseUrls, leases: Leases
) -> None:
    org = uuid.uuid4()
    assert await leases.acquire(org) is not None
    other = Leases(libpq_url(db_urls.app))
    try:
        assert await other.acquire(org) is None
        await leases.close()  # the session ends (the server notices it soon): the lease is free
        for _ in range(250):  # bounded: 5 s
            if await other.acquire(org) is not None:
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the lease stayed taken after its holder's session ended")
    finally:
        await other.close()


async def test_a_lease_in_use_is_kept_and_an_unused_one_let_go(
    db_urls: DatabaseUrls, leases: Leases
) -> None:
    org = uuid.uuid4()
    lease = await leases.acquire(org)
    assert lease is not None
    claim = lease.claim({"alert:x"})
    assert claim is not None
    await leases.release(org)  # a transaction is using it
    assert leases.get(org) is lease
    lease.release(claim)
    await leases.release(org)
    other = Leases(libpq_url(db_urls.app))
    try:
        assert await other.acquire(org) is not None
    finally:
        await other.close()


async def _plan(leases: Leases, org: uuid.UUID, alerts: list[NormalizedAlert]) -> Plan:
    lease = await leases.acquire(org)
    assert lease is not None
    plan = leases.plan(org, alerts, SERVERS.get(org))
    assert plan is not None
    return plan


async def _connect(urls: DatabaseUrls) -> psycopg.AsyncConnection[Any]:
    return await psycopg.AsyncConnection.connect(
        libpq_url(urls.app), autocommit=True, prepare_threshold=None
    )


async def _waiting_on(urls: DatabaseUrls, kind: str, task: asyncio.Task[Any]) -> bool:
    """Whether a backend waits on a lock of ``kind`` (bounded: 10 s) while ``task`` runs."""
    with psycopg.connect(owner_dsn(urls), autocommit=True) as watcher:
        for _ in range(500):
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND wait_event = %s",
                (kind,),
            ).fetchone()
            if row is not None and row[0] > 0:
                return True
            if task.done():
                return False
            await asyncio.sleep(0.02)
    return False


async def _stored_org(urls: DatabaseUrls, factory: Factory, first: str = "warm-up") -> uuid.UUID:
    """An organisation that has stored one alert, ``first`` (its servers are cached then)."""
    org = (await factory.org("lean")).org_id
    async with await _connect(urls) as conn:
        await store(conn, [Submission(org, None, (firing(first),))])
    return org


def _integration(urls: DatabaseUrls, org: uuid.UUID) -> uuid.UUID:
    """An integration whose row a test can hold, to keep a transaction that counts its alerts
    from committing."""
    integration = uuid.uuid4()
    with psycopg.connect(owner_dsn(urls), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO integrations (id, org_id, source, name, token_digest, token_sealed, "
            "options, enabled, alerts_received, created_by, created_at) "
            "VALUES (%s, %s, 'alertmanager', 'held', %s, %s, '{}', true, 0, 'test', now())",
            (integration, org, uuid.uuid4().hex, b"sealed"),
        )
    return integration


async def test_the_leaseholders_transactions_with_disjoint_keys_run_at_once(
    database: Database, db_urls: DatabaseUrls, factory: Factory, leases: Leases
) -> None:
    org = await _stored_org(db_urls, factory)
    integration = _integration(db_urls, org)
    first_alerts, second_alerts = [firing("first")], [firing("second")]
    first_plan = await _plan(leases, org, first_alerts)
    second_plan = await _plan(leases, org, second_alerts)
    with psycopg.connect(owner_dsn(db_urls)) as person:
        # Holds the integration's row: the first transaction waits on it before committing.
        person.execute("SELECT 1 FROM integrations WHERE id = %s FOR UPDATE", (integration,))
        async with await _connect(db_urls) as one, await _connect(db_urls) as two:
            first = asyncio.create_task(
                store(
                    one,
                    [Submission(org, integration, tuple(first_alerts))],
                    plans={org: first_plan},
                )
            )
            waited = await _waiting_on(db_urls, "transactionid", first)
            second = asyncio.create_task(
                store(two, [Submission(org, None, tuple(second_alerts))], plans={org: second_plan})
            )
            done, _ = await asyncio.wait({second}, timeout=10)
            first_in_flight = not first.done()
            person.commit()
            await asyncio.wait_for(asyncio.gather(first, second), timeout=10)
    assert waited
    # The second committed while the first was still in flight: the lock is shared.
    assert done == {second}
    assert first_in_flight
    with psycopg.connect(owner_dsn(db_urls)) as conn:
        numbers = conn.execute(
            "SELECT title, number FROM incidents WHERE org_id = %s ORDER BY number", (org,)
        ).fetchall()
    # Numbers were handed out in the order decided, without a repeat.
    assert numbers == [("warm-up", 1), ("first", 2), ("second", 3)]


async def test_a_transaction_without_the_lease_waits_for_the_leaseholders(
    database: Database, db_urls: DatabaseUrls, factory: Factory, leases: Leases
) -> None:
    org = await _stored_org(db_urls, factory)
    integration = _integration(db_urls, org)
    alerts = [firing("leased")]
    plan = await _plan(leases, org, alerts)
    with psycopg.connect(owner_dsn(db_urls)) as person:
        person.execute("SELECT 1 FROM integrations WHERE id = %s FOR UPDATE", (integration,))
        async with await _connect(db_urls) as one, await _connect(db_urls) as two:
            leased = asyncio.create_task(
                store(one, [Submission(org, integration, tuple(alerts))], plans={org: plan})
            )
            waited = await _waiting_on(db_urls, "transactionid", leased)
            alone = asyncio.create_task(store(two, [Submission(org, None, (firing("alone"),))]))
            alone_waited = await _waiting_on(db_urls, "advisory", alone)
            person.commit()
            await asyncio.wait_for(asyncio.gather(leased, alone), timeout=10)
    assert waited
    assert alone_waited


async def test_a_lost_lease_sends_the_transaction_back_before_it_writes(
    database: Database, db_urls: DatabaseUrls, factory: Factory, leases: Leases
) -> None:
    org = await _stored_org(db_urls, factory)
    async with await _connect(db_urls) as conn:
        alerts = [firing("after-loss")]
        plan = await _plan(leases, org, alerts)
        with psycopg.connect(owner_dsn(db_urls), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (plan.lease.pid,))
        with pytest.raises(OverlapRefused):
            await store(conn, [Submission(org, None, tuple(alerts))], plans={org: plan})
    with psycopg.connect(owner_dsn(db_urls)) as owner:
        stored = owner.execute(
            "SELECT count(*) FROM alerts WHERE org_id = %s AND fingerprint = 'after-loss'", (org,)
        ).fetchone()
    assert stored == (0,)


async def test_an_incident_read_under_a_key_another_transaction_holds_is_refused(
    database: Database, db_urls: DatabaseUrls, factory: Factory, leases: Leases
) -> None:
    org = await _stored_org(db_urls, factory, "shared")
    async with await _connect(db_urls) as conn:
        lease = await leases.acquire(org)
        assert lease is not None
        # A claim without the incident's group key ("fp:shared"), which another holds.
        other = lease.claim({"fp:shared"})
        claim = lease.claim({"alert:shared"})
        assert other is not None and claim is not None
        plan = Plan(lease, claim, SERVERS.get(org))
        with pytest.raises(OverlapRefused):
            await store(conn, [Submission(org, None, (firing("shared"),))], plans={org: plan})
        lease.release(other)
        lease.release(claim)
    with psycopg.connect(owner_dsn(db_urls)) as owner:
        count = owner.execute(
            "SELECT count FROM alerts WHERE org_id = %s AND fingerprint = 'shared'", (org,)
        ).fetchone()
    assert count == (1,)  # the refused refire wrote nothing


# ---- writers --------------------------------------------------------------------------------


def _lease_holders(urls: DatabaseUrls, org: uuid.UUID) -> list[int]:
    """The backends holding the organisation's lease."""
    key = OrgLease(org, lease_key(org), 0).check_params()  # the lock's two halves
    with psycopg.connect(owner_dsn(urls), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %(lease_hi)s::oid AND objid = %(lease_lo)s::oid AND objsubid = 1",
            key,
        ).fetchall()
    return [r[0] for r in rows]


async def test_a_writer_whose_lease_connection_ends_takes_the_lease_again(
    database: Database, db_urls: DatabaseUrls, factory: Factory
) -> None:
    org = (await factory.org("lean")).org_id
    writer = IngestWriter(database.urls.app, workers=2)
    await writer.start()
    try:
        holders: list[int] = []
        for i in range(250):  # bounded: the lease is asked for in the background
            await writer.submit(Submission(org, None, (firing(f"before-{i}"),)))
            holders = _lease_holders(db_urls, org)
            if holders:
                break
            await asyncio.sleep(0.02)
        assert len(holders) == 1
        with psycopg.connect(owner_dsn(db_urls), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (holders[0],))
        again: list[int] = []
        for i in range(250):
            outcome = await writer.submit(Submission(org, None, (firing(f"after-{i}"),)))
            assert len(outcome.alert_ids) == 1  # stored, alone or overlapping
            again = _lease_holders(db_urls, org)
            if again and again != holders:
                break
            await asyncio.sleep(0.02)
    finally:
        await writer.stop()
    assert again and again != holders


async def test_a_random_flood_of_firing_and_resolved_alerts_from_two_writers_stays_consistent(
    database: Database, db_urls: DatabaseUrls, factory: Factory
) -> None:
    org = (await factory.org("lean")).org_id
    fingerprints = [f"mixed-{i}" for i in range(60)]
    writers = [IngestWriter(database.urls.app, workers=2) for _ in range(2)]
    for writer in writers:
        await writer.start()
    rng = random.Random(4)
    sent = {fingerprint: 1 for fingerprint in fingerprints}
    try:
        # Every fingerprint fires first, so that each has one alert row and one incident
        # from then on, whatever fires or resolves after (a flap reopens the same incident).
        await writers[0].submit(Submission(org, None, tuple(firing(f) for f in fingerprints)))

        async def sender(writer: IngestWriter) -> None:
            for _ in range(25):
                # Staggered, so that requests also arrive while a transaction is in flight.
                await asyncio.sleep(rng.random() / 200)
                chosen = rng.sample(fingerprints, 10)
                alerts = tuple(
                    replace(firing(f), status=Status.RESOLVED) if rng.random() < 0.2 else firing(f)
                    for f in chosen
                )
                await writer.submit(Submission(org, None, alerts))
                for f in chosen:
                    sent[f] += 1

        await asyncio.gather(*(sender(writer) for writer in writers for _ in range(4)))
        overlapped = sum(writer.transactions["overlapped"] for writer in writers)
    finally:
        for writer in writers:
            await writer.stop()
    with psycopg.connect(owner_dsn(db_urls)) as owner:
        alerts = owner.execute(
            "SELECT fingerprint, count(*), sum(count) FROM alerts WHERE org_id = %s "
            "GROUP BY fingerprint",
            (org,),
        ).fetchall()
        incidents = owner.execute(
            "SELECT count(*), count(DISTINCT number), sum(alert_count) FROM incidents "
            "WHERE org_id = %s",
            (org,),
        ).fetchone()
        miscounted = owner.execute(
            "SELECT count(*) FROM incidents i WHERE org_id = %s AND open_alerts <> "
            "(SELECT count(*) FROM alerts a WHERE a.incident_id = i.id AND a.status = 'firing')",
            (org,),
        ).fetchone()
    assert overlapped > 0  # the leaseholder's transactions did overlap
    assert sorted(alerts) == sorted((f, 1, sent[f]) for f in fingerprints)
    assert incidents == (60, 60, 60)
    assert miscounted == (0,)
