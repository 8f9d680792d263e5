"""Earnings (seeds 003 "Earnings (Task 10)" and "Workers (Task 11)"; migrations 260, 270).

The split checks buy a real order through the public surface: a seller lists an item,
a buyer (referred by a third user) puts 2 of it in the cart and checks out. The
order is paid by the platform's test-mode payment (or, on a target with
payments_real on, by one order_webhook call as the provider). Migration 260's
model, for a $100.00 subtotal: a pool of 4 % split 60/25/15 between seller
(commission), referrer (referral) and buyer (membership), each captured at its
own tier's rate (free 1 %, pro 2.5 %, elite 4 %); missed = total - captured.
Captured earnings are pending for 7 days (the refund hold), then available.
Other checks buy their own orders (a cart of two sellers, a checkout retried
with its idempotency key) or back-date tips.
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
    await _settle(t, order)
    return Order(id=str(order["order_id"]), users=users, checkout=order)


async def _settle(t: Surface, order: dict[str, Any]) -> None:
    """A checked-out order ends up paid: test mode pays at checkout; with payments_real on, the provider's webhook."""
    if order.get("status") == "pending":  # payments_real on: the provider's webhook pays it
        paid = await t.rpc_ok("order_webhook", {"p_order_id": order["order_id"]}, as_="service")
        expect(paid.get("status") == "paid", f"order_webhook on a pending order returned {paid!r}")
    else:
        expect(order.get("status") == "paid", f"checkout returned status {order.get('status')!r}; expected paid")


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


PENDING_SEEDS = "003 Earnings (Task 10): Shows Total Earned, Captured, Pending, Missed"
CHECKOUT_SEEDS = "003 Idempotency on all write paths (checkout, migration 270)"
# One cart of two sellers: seller-a sells 1 x $70.00, seller-b 3 x $10.00 (a $100.00 subtotal).
SELLER_LINES = {"seller-a": (7000, 1), "seller-b": (1000, 3)}
# Tips captured in full, back-dated by this many days (0 = now): only the last 7 days are pending.
HOLD_TIPS = {8: 700, 6: 200, 0: 300}


@check(
    "earnings.recent_earnings_pending",
    title="earnings captured in the last 7 days are pending (the refund hold): a new order's earnings are all "
    "pending, none available yet",
    seeds=PENDING_SEEDS,
)
async def recent_earnings_pending(t: Surface) -> None:
    order = await _shared_order(t)
    for role, user in order.users.items():
        summary = await _summary(t, user)
        got = {k: summary.get(k) for k in ("captured_cents", "pending_cents", "available_cents")}
        captured = got["captured_cents"]
        expect(
            isinstance(captured, int)
            and captured >= expected_event(role)["captured_cents"] > 0
            and got["pending_cents"] == captured
            and got["available_cents"] == 0,
            f"earnings_summary of the {role} minutes after paid order {order.id}: {got}; expected every captured "
            "cent pending (captured in the last 7 days: the refund hold) and 0 available (captured - pending)",
        )


@check(
    "earnings.pending_hold_ends_after_7_days",
    title="captured earnings are pending for 7 days, then available: pending = captured in the last 7 days, "
    "available = captured - pending (events back-dated through SQL)",
    seeds=PENDING_SEEDS,
    needs=("dsn",),
)
async def pending_hold_ends_after_7_days(t: Surface) -> None:
    user = await t.signup("hold")
    async with t.db() as conn:
        for days, cents in HOLD_TIPS.items():
            if days:  # earnings_record_event cannot date an event: the older ones are written back-dated
                await conn.execute(
                    "insert into public.earnings_events (user_id, kind, amount_cents, captured_cents, "
                    "idempotency_key, created_at) values ($1, 'tip', $2, $2, $3, now() - make_interval(days => $4))",
                    user.id,
                    cents,
                    f"acc-{t.run_id}-hold-{days}d",
                    days,
                )
    await t.rpc_ok(
        "earnings_record_event",
        {
            "p_user_id": user.id,
            "p_kind": "tip",
            "p_amount_cents": HOLD_TIPS[0],
            "p_idempotency_key": f"acc-{t.run_id}-hold-now",
        },
        as_="service",
    )
    summary = await _summary(t, user)
    got = {k: summary.get(k) for k in ("captured_cents", "pending_cents", "available_cents")}
    pending = sum(cents for days, cents in HOLD_TIPS.items() if days < 7)
    want = {
        "captured_cents": sum(HOLD_TIPS.values()),
        "pending_cents": pending,
        "available_cents": sum(HOLD_TIPS.values()) - pending,
    }
    tips = ", ".join(
        f"{cents} cents {days} days ago" if days else f"{cents} cents now" for days, cents in HOLD_TIPS.items()
    )
    expect(
        got == want,
        f"earnings_summary of a user with tips captured in full ({tips}): {got}; expected {want} "
        "(pending = captured in the last 7 days, the refund hold; available = captured - pending)",
    )


@check(
    "earnings.commission_per_seller_lines",
    title="in a cart of two sellers, each seller's 60 % commission is on the lines it sold, not on the whole order",
    seeds=SEEDS,
)
async def commission_per_seller_lines(t: Surface) -> None:
    buyer, *sellers = await asyncio.gather(t.signup("two-sellers-buyer"), *(t.signup(tag) for tag in SELLER_LINES))
    by_tag = dict(zip(SELLER_LINES, sellers, strict=True))
    for tag, seller in by_tag.items():
        price, quantity = SELLER_LINES[tag]
        listing = await t.rpc_ok(
            "listing_create", {"p_title": f"Acceptance saddle {t.run_id}", "p_price_cents": price}, as_=seller
        )
        await t.rpc_ok("cart_add", {"p_listing_id": listing["id"], "p_quantity": quantity}, as_=buyer)
    bases = {tag: price * quantity for tag, (price, quantity) in SELLER_LINES.items()}
    cart = ", ".join(f"{tag} {quantity} x {price} cents" for tag, (price, quantity) in SELLER_LINES.items())
    order = await t.rpc_ok("checkout", {"p_idempotency_key": f"acc-{t.run_id}-two-sellers"}, as_=buyer)
    expect(
        isinstance(order, dict) and order.get("subtotal_cents") == sum(bases.values()),
        f"checkout of a cart of two sellers ({cart}) returned {order!r}; expected subtotal {sum(bases.values())}",
    )
    await _settle(t, order)
    got: dict[str, list[tuple[Any, ...]]] = {}
    want: dict[str, list[tuple[Any, ...]]] = {}
    for tag, seller in by_tag.items():
        rows = await t.rpc_ok("earnings_list", {"p_limit": 50}, as_=seller)
        got[tag] = [
            (r.get("kind"), r.get("amount_cents"), r.get("captured_cents"))
            for r in rows
            if str(r.get("order_id")) == str(order["order_id"])
        ]
        share = bases[tag] * SHARES["seller"]
        want[tag] = [("commission", _cents(share * POOL_RATE), _cents(share * RATES["free"]))]
    expect(
        got == want,
        f"order {order['order_id']} of two sellers ({cart}): each seller's events (kind, total, captured) are "
        f"{got}; expected {want}: 60 % of the 4 % pool on the seller's own lines ({bases} cents), captured at "
        "the free tier's 1 %",
    )


@check(
    "earnings.checkout_replay_returns_first_order",
    title="checkout repeated with the same idempotency key returns the first (paid) order with replayed = true "
    "and charges nothing again, even with a new cart",
    seeds=CHECKOUT_SEEDS,
)
async def checkout_replay_returns_first_order(t: Surface) -> None:
    seller, buyer = await asyncio.gather(t.signup("checkout-replay-seller"), t.signup("checkout-replay-buyer"))
    listing = await t.rpc_ok(
        "listing_create", {"p_title": f"Acceptance halter {t.run_id}", "p_price_cents": UNIT_PRICE_CENTS}, as_=seller
    )
    await t.rpc_ok("cart_add", {"p_listing_id": listing["id"], "p_quantity": QUANTITY}, as_=buyer)
    key = f"acc-{t.run_id}-checkout-replay"
    first = await t.rpc_ok("checkout", {"p_idempotency_key": key}, as_=buyer)
    expect(
        isinstance(first, dict) and first.get("replayed") is False and first.get("subtotal_cents") == SUBTOTAL_CENTS,
        f"the first checkout of {QUANTITY} x {UNIT_PRICE_CENTS} cents with key {key!r} returned {first!r}; "
        f"expected a new order (replayed = false) of subtotal {SUBTOTAL_CENTS}",
    )
    await _settle(t, first)
    before = await _summary(t, buyer)
    # A retry of the same checkout once the order is paid: first with the cart it emptied, then with a new line.
    for cart in ("its cart empty", "a new line in its cart"):
        if cart != "its cart empty":
            await t.rpc_ok("cart_add", {"p_listing_id": listing["id"], "p_quantity": 1}, as_=buyer)
        replay = await t.rpc("checkout", {"p_idempotency_key": key}, as_=buyer)
        body = replay.body if replay.ok and isinstance(replay.body, dict) else {}
        expect(
            body.get("order_id") == first["order_id"]
            and body.get("replayed") is True
            and body.get("status") == "paid"
            and body.get("subtotal_cents") == SUBTOTAL_CENTS,
            f"the buyer retried checkout with key {key!r} after order {first['order_id']} was paid, with {cart}: "
            f"{replay.describe()}; expected that order back (paid, subtotal {SUBTOTAL_CENTS}, replayed = true)",
        )
    lines = [(str(r.get("listing_id")), r.get("quantity")) for r in await t.rpc_ok("cart_list", {}, as_=buyer)]
    expect(
        lines == [(str(listing["id"]), 1)],
        f"after a replayed checkout, the buyer's cart holds {lines}; expected the new line untouched "
        f"([({listing['id']!r}, 1)]): a replay charges nothing again",
    )
    after = await _summary(t, buyer)
    keys = ("total_cents", "captured_cents", "events_count")
    expect(
        {k: after.get(k) for k in keys} == {k: before.get(k) for k in keys},
        f"two replayed checkouts of order {first['order_id']} moved the buyer's earnings from "
        f"{ {k: before.get(k) for k in keys} } to { {k: after.get(k) for k in keys} }; a replay records nothing",
    )
