"""Earnings (seeds 003 "Earnings (Task 10)" and "Workers (Task 11)"; migrations 260, 270).

Each check buys a real order through the public surface: a seller lists an item,
a buyer (referred by a third user) puts 2 of it in the cart and checks out. The
order is paid by the platform's test-mode payment (or, on a target with
payments_real on, by one order_webhook call as the provider). Migration 260's
model, for a $100.00 subtotal: a pool of 4 % split 60/25/15 between seller
(commission), referrer (referral) and buyer (membership), each captured at its
own tier's rate (free 1 %, pro 2.5 %, elite 4 %); missed = total - captured.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from gauntlet.acceptance.registry import check, expect
from gauntlet.acceptance.surface import Surface, User

SEEDS = "003 Acceptance: Earnings (Task 10)"
REPLAY_SEEDS = "003 Acceptance: Workers (Task 11), replay the same webhook 10x"
UNIT_PRICE_CENTS = 5000
QUANTITY = 2  # the seller's base is its line total, price x quantity
SUBTOTAL_CENTS = UNIT_PRICE_CENTS * QUANTITY
POOL_RATE = Decimal("0.04")
SHARES = {"seller": Decimal("0.60"), "referrer": Decimal("0.25"), "buyer": Decimal("0.15")}
KINDS = {"seller": "commission", "referrer": "referral", "buyer": "membership"}
RATES = {"free": Decimal("0.01"), "pro": Decimal("0.025"), "elite": Decimal("0.04")}
# The seller keeps the default (no membership row: free); the others are set through membership_set_tier.
TIERS = {"seller": "free", "referrer": "pro", "buyer": "elite"}


def _cents(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def expected_event(role: str) -> dict[str, int]:
    total = _cents(SUBTOTAL_CENTS * SHARES[role] * POOL_RATE)
    captured = _cents(SUBTOTAL_CENTS * SHARES[role] * RATES[TIERS[role]])
    return {"amount_cents": total, "captured_cents": captured, "missed_cents": total - captured}


@dataclass(frozen=True)
class Order:
    id: str
    users: dict[str, User]  # role -> user
    checkout: dict[str, Any]


async def _paid_order(t: Surface, tag: str) -> Order:
    seller, referrer, buyer = await asyncio.gather(
        t.signup(f"{tag}-seller"), t.signup(f"{tag}-referrer"), t.signup(f"{tag}-buyer")
    )
    users = {"seller": seller, "referrer": referrer, "buyer": buyer}
    for role in ("referrer", "buyer"):
        await t.rpc_ok("membership_set_tier", {"p_user_id": users[role].id, "p_tier": TIERS[role]}, as_="service")
    claimed = await t.rpc_ok("referral_claim", {"p_referrer_id": referrer.id}, as_=buyer)
    expect(claimed is True, f"referral_claim by a fresh buyer returned {claimed!r}; expected true")
    listing = await t.rpc_ok(
        "listing_create", {"p_title": f"Acceptance bridle {t.run_id}", "p_price_cents": UNIT_PRICE_CENTS}, as_=seller
    )
    await t.rpc_ok("cart_add", {"p_listing_id": listing["id"], "p_quantity": QUANTITY}, as_=buyer)
    order = await t.rpc_ok("checkout", {"p_idempotency_key": f"acc-{t.run_id}-{tag}"}, as_=buyer)
    expect(
        isinstance(order, dict) and order.get("subtotal_cents") == SUBTOTAL_CENTS,
        f"checkout of {QUANTITY} x {UNIT_PRICE_CENTS} cents returned {order!r}; expected subtotal {SUBTOTAL_CENTS}",
    )
    if order.get("status") == "pending":  # payments_real on: the provider's webhook pays it
        paid = await t.rpc_ok("order_webhook", {"p_order_id": order["order_id"]}, as_="service")
        expect(paid.get("status") == "paid", f"order_webhook on a pending order returned {paid!r}")
    else:
        expect(order.get("status") == "paid", f"checkout returned status {order.get('status')!r}; expected paid")
    return Order(id=str(order["order_id"]), users=users, checkout=order)


_SHARED: dict[str, asyncio.Task[Order]] = {}


async def _shared_order(t: Surface) -> Order:
    """One paid order per run for the checks that only read it (sign-ups are the costly part)."""
    task = _SHARED.get(t.run_id)
    if task is None:
        task = _SHARED[t.run_id] = asyncio.ensure_future(_paid_order(t, "order"))
    return await asyncio.shield(task)


async def _order_events(t: Surface, order: Order) -> dict[str, list[dict[str, Any]]]:
    """Each beneficiary's earnings events for the order, as it sees them (earnings_list)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for role, user in order.users.items():
        rows = await t.rpc_ok("earnings_list", {"p_limit": 50}, as_=user)
        found[role] = [r for r in rows if str(r.get("order_id")) == order.id]
    return found


async def _summary(t: Surface, user: User) -> dict[str, Any]:
    body = await t.rpc_ok("earnings_summary", {"p_user_id": user.id}, as_="service")
    expect(isinstance(body, dict), f"earnings_summary returned {body!r}")
    return dict(body)


def _one_event(events: dict[str, list[dict[str, Any]]], role: str, order: Order) -> dict[str, Any]:
    rows = events[role]
    expect(
        len(rows) == 1,
        f"order {order.id} ({QUANTITY} x {UNIT_PRICE_CENTS} cents): the {role} has {len(rows)} earnings events "
        f"for it ({rows}); expected exactly one ({KINDS[role]})",
    )
    return rows[0]


@check(
    "earnings.order_splits_60_25_15",
    title="a paid order records one event per role, seller/referrer/buyer, splitting the pool 60/25/15",
    seeds=SEEDS,
)
async def order_splits_60_25_15(t: Surface) -> None:
    order = await _shared_order(t)
    events = await _order_events(t, order)
    amounts: dict[str, int] = {}
    for role in ("seller", "referrer", "buyer"):
        event = _one_event(events, role, order)
        expect(
            event.get("kind") == KINDS[role],
            f"the {role}'s event for order {order.id} is of kind {event.get('kind')!r}; expected {KINDS[role]!r}",
        )
        amounts[role] = int(event.get("amount_cents") or 0)
    want = {role: expected_event(role)["amount_cents"] for role in amounts}
    expect(
        amounts == want,
        f"order {order.id} (subtotal {SUBTOTAL_CENTS} cents, pool 4 %): totals by role {amounts}; the seeds' "
        f"60/25/15 split gives {want}",
    )


@check(
    "earnings.capture_rates_by_tier",
    title="each beneficiary captures its share at its tier's rate: free 1 % (the default), pro 2.5 %, elite 4 %",
    seeds=SEEDS,
)
async def capture_rates_by_tier(t: Surface) -> None:
    order = await _shared_order(t)
    events = await _order_events(t, order)
    for role in ("seller", "referrer", "buyer"):
        event = _one_event(events, role, order)
        tier, want = TIERS[role], expected_event(role)
        rate = Decimal(str(event.get("capture_rate")))
        expect(
            event.get("tier") == tier and rate == RATES[tier],
            f"the {role} ({tier}{' by default' if role == 'seller' else ''}) got an event stamped tier "
            f"{event.get('tier')!r}, rate {event.get('capture_rate')!r}; expected {tier} at {RATES[tier]}",
        )
        expect(
            event.get("captured_cents") == want["captured_cents"],
            f"the {role} ({tier}, {RATES[tier] * 100} %) captured {event.get('captured_cents')} of "
            f"{event.get('amount_cents')} cents on order {order.id}; expected {want['captured_cents']} "
            f"(base x share x {RATES[tier]}, rounded half up)",
        )


@check(
    "earnings.missed_is_total_minus_captured",
    title="'missed' = total - captured, per event, per kind and in the ledger totals, across several writes",
    seeds=SEEDS,
)
async def missed_is_total_minus_captured(t: Surface) -> None:
    order = await _shared_order(t)
    seller = order.users["seller"]
    # A second ledger write for the seller (only this check adds one): an adjustment of 500 cents of which
    # 300 are captured, so its ledger row is updated with a non-zero missed part.
    adjustment = await t.rpc_ok(
        "earnings_record_event",
        {
            "p_user_id": seller.id,
            "p_kind": "adjustment",
            "p_amount_cents": 500,
            "p_captured_cents": 300,
            "p_idempotency_key": f"acc-{order.id}-adjustment",
        },
        as_="service",
    )
    expect(
        isinstance(adjustment, dict) and adjustment.get("created") is True,
        f"earnings_record_event (adjustment) returned {adjustment!r}",
    )
    events = await _order_events(t, order)
    for role in ("seller", "referrer", "buyer"):
        event = _one_event(events, role, order)
        want = expected_event(role)
        got = {k: event.get(k) for k in want}
        expect(got == want, f"the {role}'s event for order {order.id} is {got}; expected {want}")
        summary = await _summary(t, order.users[role])
        extra = (500, 300) if role == "seller" else (0, 0)
        totals = {k: summary.get(k) for k in ("total_cents", "captured_cents", "missed_cents")}
        expected_totals = {
            "total_cents": want["amount_cents"] + extra[0],
            "captured_cents": want["captured_cents"] + extra[1],
            "missed_cents": want["missed_cents"] + extra[0] - extra[1],
        }
        expect(
            totals == expected_totals,
            f"earnings_summary of the {role} ({TIERS[role]}) after order {order.id}"
            f"{' and an adjustment of 500 cents, 300 captured' if extra[0] else ''}: {totals}; "
            f"expected {expected_totals} (missed = total - captured)",
        )
        by_kind = summary.get("by_kind") or {}
        kind = by_kind.get(KINDS[role]) or {}
        expect(
            kind.get("missed_cents") == want["missed_cents"]
            and kind.get("total_cents", 0) - kind.get("captured_cents", 0) == kind.get("missed_cents"),
            f"earnings_summary.by_kind.{KINDS[role]} of the {role} is {kind}; expected missed {want['missed_cents']} "
            "= total - captured",
        )


@check(
    "earnings.webhook_replay_single_write",
    title="the payment webhook delivered 10 more times (concurrently) changes nothing: one event per role, same totals",
    seeds=REPLAY_SEEDS,
)
async def webhook_replay_single_write(t: Surface) -> None:
    order = await _paid_order(t, "replay")
    before = {role: await _summary(t, user) for role, user in order.users.items()}
    answers = await asyncio.gather(
        *(
            t.rpc("order_webhook", {"p_order_id": order.id, "p_event": "payment.succeeded"}, as_="service")
            for _ in range(10)
        )
    )
    for answer in answers:
        expect(
            answer.ok,
            f"a replayed payment.succeeded webhook for paid order {order.id}: {answer.describe()}; a replay must be "
            "acknowledged (2xx) so the provider stops retrying",
        )
    applied = [a.body for a in answers if isinstance(a.body, dict) and a.body.get("applied") is not False]
    expect(
        not applied,
        f"10 replays of the webhook for an already paid order: {len(applied)} answered as applied ({applied[:2]}); "
        "expected applied = false for every replay",
    )
    events = await _order_events(t, order)
    for role, user in order.users.items():
        _one_event(events, role, order)
        after = await _summary(t, user)
        keys = ("total_cents", "captured_cents", "events_count")
        expect(
            {k: after.get(k) for k in keys} == {k: before[role].get(k) for k in keys},
            f"after 10 webhook replays for order {order.id}, the {role}'s ledger moved from "
            f"{ {k: before[role].get(k) for k in keys} } to { {k: after.get(k) for k in keys} }; the seeds promise "
            "a single ledger write",
        )
