"""Rate limits: what is limited, how each count is keyed, and the decision.

Both front ends ask the same questions here, so the API and the site enforce one policy,
and with Redis every replica counts in the same counters (one key per limit, subject and
window), which is what makes a limit hold however many processes serve it. Embedded mode
counts in this process, where the API and the site share one limiter.

Windows are fixed: one counter per key, exact within a window (the N+1th attempt is
refused whatever the timing), at the price of letting up to 2N through across a window
boundary. Sliding approximations are smoother but can let the N+1th log-in attempt in.

Redis down is a policy, not an accident: while Redis cannot be reached, limits keep
applying from counters in this process (so each replica then counts on its own), and
nothing is refused merely because Redis is away. A circuit breaker skips Redis for a few
seconds after a failure, so a hung Redis costs one short timeout per burst of requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import math
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.exceptions import RedisError

from snapscale.core.accounts import repository as account_repository
from snapscale.core.cache import CircuitBreaker
from snapscale.core.errors import DomainError

if TYPE_CHECKING:
    from snapscale.config import Settings
    from snapscale.core.db import UnitOfWork
    from snapscale.core.runtime import Runtime

log = logging.getLogger(__name__)

# Probes and metrics are polled by machines, often all from one address; static files and
# renditions are immutable and cached. None of them is what the limits protect.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
EXEMPT_PREFIXES = ("/static/", "/media/")

# One IPv6 subscriber usually holds a whole /64: keying single addresses would let a
# client take a fresh budget with every address it owns.
IPV6_SUBSCRIBER_PREFIX = 64


# How SNAPSCALE_FORWARDED_ALLOW_IPS names a proxy connecting over a unix socket, and the
# address such a peer has until that proxy names the client.
UNIX_SOCKET_PEER = "unix"


def is_exempt(path: str) -> bool:
    return path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)


@dataclass(frozen=True)
class Limit:
    name: str
    counts: str  # what is counted, in words: "log-in attempts from your address"
    rates: tuple[RateLimitItem, ...]
    # A limit keyed on something the client must not learn about (whether two log-in
    # names are one account) shows in the RateLimit headers only when it refuses.
    discreet: bool = False


@dataclass(frozen=True)
class Hit:
    """One request counted against one limit for one subject (an address, an account)."""

    limit: Limit
    subject: str


@dataclass(frozen=True)
class Policy:
    per_ip: Limit
    per_account: Limit
    log_in_per_ip: Limit
    log_in_per_account: Limit
    registration_per_ip: Limit
    refresh_per_ip: Limit
    uploads_per_account: Limit
    two_factor_per_account: Limit

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        def limit(name: str, counts: str, rate: str, *, discreet: bool = False) -> Limit:
            return Limit(name, counts, tuple(parse_many(rate)), discreet)

        return cls(
            per_ip=limit("ip", "requests from your address", settings.rate_limit_per_ip),
            per_account=limit(
                "account", "requests for your account", settings.rate_limit_per_account
            ),
            log_in_per_ip=limit(
                "login-ip", "log-in attempts from your address", settings.rate_limit_login
            ),
            log_in_per_account=limit(
                "login-account",
                "log-in attempts for this account",
                settings.rate_limit_login_per_account,
                discreet=True,
            ),
            registration_per_ip=limit(
                "register-ip", "sign-ups from your address", settings.rate_limit_register
            ),
            refresh_per_ip=limit(
                "refresh-ip", "token refreshes from your address", settings.rate_limit_refresh
            ),
            uploads_per_account=limit(
                "uploads", "photo uploads for your account", settings.rate_limit_uploads
            ),
            two_factor_per_account=limit(
                "two-factor",
                "sign-in code attempts for this account",
                settings.rate_limit_two_factor,
            ),
        )

    def for_request(self, *, client: str | None, account_id: int | None) -> list[Hit]:
        """Every request: per client address, and per account when one is signed in."""
        hits = per_address(self.per_ip, client)
        if account_id is not None:
            hits.append(Hit(self.per_account, str(account_id)))
        return hits

    def for_log_in(self, *, client: str | None, login: str, account_id: int | None) -> list[Hit]:
        """Per address, and per account from anywhere, so that an attack on one account
        spread over many addresses is throttled too. ``account_id`` is the account the
        name resolves to (see ``log_in_account``): its username and email share one
        budget. A name that matches no account gets a budget of its own, counted the
        same way, so a refusal does not tell whether the account exists."""
        subject = account_key(account_id) if account_id is not None else login_key(login)
        return [*per_address(self.log_in_per_ip, client), Hit(self.log_in_per_account, subject)]

    def for_password_check(self, *, client: str | None, account_id: int) -> list[Hit]:
        """A password change checks the current password: a guess at it, from a holder of
        the account's token, counts as a log-in attempt."""
        return [
            *per_address(self.log_in_per_ip, client),
            Hit(self.log_in_per_account, account_key(account_id)),
        ]

    def for_registration(self, *, client: str | None) -> list[Hit]:
        return per_address(self.registration_per_ip, client)

    def for_email_change(self, *, client: str | None) -> list[Hit]:
        """Sign-up and an email change both answer whether an email is in use: they draw
        on one budget per address, so neither is a faster way to ask."""
        limit = replace(self.registration_per_ip, counts="email changes from your address")
        return per_address(limit, client)

    def for_refresh(self, *, client: str | None) -> list[Hit]:
        return per_address(self.refresh_per_ip, client)

    def for_upload(self, *, account_id: int) -> list[Hit]:
        return [Hit(self.uploads_per_account, str(account_id))]

    def for_second_factor(self, *, account_id: int) -> list[Hit]:
        """Per account, whatever the address and front end: six digits are only safe
        while guessing them is slow."""
        return [Hit(self.two_factor_per_account, str(account_id))]


_unknown_client_noted = False


def per_address(limit: Limit, client: str | None) -> list[Hit]:
    """The hit for the client's address, if it has one. A server on a unix socket knows no
    address (unless a trusted proxy names it): counting every such request as one client
    would soon refuse everybody, so per-address limits are skipped, and it is logged."""
    global _unknown_client_noted
    if client and client != UNIX_SOCKET_PEER:
        return [Hit(limit, client_key(client))]
    if not _unknown_client_noted:
        _unknown_client_noted = True
        log.warning(
            "rate limits: a request came with no client address (a unix socket?); "
            "per-address limits do not apply until a trusted proxy names the client "
            "(SNAPSCALE_FORWARDED_ALLOW_IPS=unix)"
        )
    return []


def client_key(client: str) -> str:
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client  # a name rather than an address (a test client's, say)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.ip_network(f"{address}/{IPV6_SUBSCRIBER_PREFIX}", strict=False)
        return str(network)
    return str(address)


def login_key(login: str) -> str:
    """A log-in name that matches no account, case-folded; hashed, so no email address
    is written into Redis keys."""
    return hashlib.sha256(login.strip().casefold().encode()).hexdigest()[:32]


def account_key(account_id: int) -> str:
    return f"account-{account_id}"


async def log_in_account(uow: UnitOfWork, *, login: str) -> int | None:
    """The id of the account a log-in names, by username or email in any case, or None.
    Looked up before the attempt is counted, so that every spelling of one account draws
    on one budget."""
    if not login.isprintable():  # as in authenticate: such a name matches nobody
        return None
    user = await account_repository.get_user_by_login(uow.session, login)
    return user.id if user is not None else None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    counts: str

    def headers(self) -> dict[str, str]:
        """RateLimit-Limit, -Remaining and -Reset (seconds), as in the IETF httpapi
        rate-limit headers draft (version 06), and Retry-After on a refusal."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_seconds)
        return headers

    @property
    def wait(self) -> str:
        return describe_wait(self.reset_seconds)

    @property
    def detail(self) -> str:
        return f"Too many {self.counts}: try again in {self.wait}."


def strictest(*decisions: Decision | None) -> Decision | None:
    """The decision to report: a refusal before any allowance (the one that lasts
    longest, as every refusal must have lifted), else the allowance with least left."""
    present = [decision for decision in decisions if decision is not None]
    refused = [decision for decision in present if not decision.allowed]
    if refused:
        return max(refused, key=lambda decision: decision.reset_seconds)
    if not present:
        return None
    return min(present, key=lambda decision: (decision.remaining, -decision.reset_seconds))


def describe_wait(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} minutes"
    hours = round(seconds / 3600)
    return f"about {hours} hour{'' if hours == 1 else 's'}"


class RateLimited(DomainError):
    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.detail)
        self.decision = decision


class RateLimiter:
    def __init__(self, policy: Policy, *, shared: RedisStorage | None) -> None:
        self.policy = policy
        self._shared = FixedWindowRateLimiter(shared) if shared is not None else None
        self._local = FixedWindowRateLimiter(MemoryStorage())
        self._breaker = CircuitBreaker("rate_limits")

    async def check(self, hits: Sequence[Hit]) -> Decision | None:
        """Count every hit, and decide: refused if any of its limits is used up (None when
        there was nothing to count, or nothing to show)."""
        if not hits:
            return None
        if self._shared is not None and not self._breaker.is_open:
            try:
                decision = await _count(self._shared, hits)
            except (RedisError, OSError) as exc:
                if not self._breaker.is_open:
                    log.warning("rate limits: Redis unreachable, counting in-process: %s", exc)
                self._breaker.record_failure()
            else:
                self._breaker.record_success()
                return decision
        return await _count(self._local, hits)


async def _count(counter: FixedWindowRateLimiter, hits: Sequence[Hit]) -> Decision | None:
    counted = [(hit, rate) for hit in hits for rate in hit.limit.rates]
    outcomes = await asyncio.gather(
        *(_count_one(counter, hit, rate) for hit, rate in counted), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    decisions = cast(list[Decision], outcomes)
    return strictest(
        *(
            decision
            for (hit, _), decision in zip(counted, decisions, strict=True)
            if not (hit.limit.discreet and decision.allowed)
        )
    )


async def _count_one(counter: FixedWindowRateLimiter, hit: Hit, rate: RateLimitItem) -> Decision:
    allowed = await counter.hit(rate, hit.limit.name, hit.subject)
    stats = await counter.get_window_stats(rate, hit.limit.name, hit.subject)
    window = rate.get_expiry()
    reset = min(window, max(1, math.ceil(stats.reset_time - time.time())))
    return Decision(allowed, rate.amount, stats.remaining, reset, hit.limit.counts)


# One limiter per runtime: an embedded process's API and site share their runtime, and
# so count together.
_limiters: weakref.WeakKeyDictionary[Runtime, RateLimiter] = weakref.WeakKeyDictionary()
_limiters_lock = threading.Lock()


def limiter_for(runtime: Runtime) -> RateLimiter | None:
    """The runtime's limiter, or None when rate limits are turned off."""
    if not runtime.settings.rate_limits_enabled:
        return None
    with _limiters_lock:
        limiter = _limiters.get(runtime)
        if limiter is None:
            policy = Policy.from_settings(runtime.settings)
            limiter = RateLimiter(policy, shared=_shared_storage(runtime))
            _limiters[runtime] = limiter
        return limiter


def _shared_storage(runtime: Runtime) -> RedisStorage | None:
    if runtime.redis is None:
        return None
    settings = runtime.settings
    assert settings.redis_url is not None
    scheme, _, rest = settings.redis_url.partition("://")
    uri = f"async+redis+unix://{rest}" if scheme == "unix" else f"async+{settings.redis_url}"
    pool: Any = runtime.redis.connection_pool
    return RedisStorage(
        uri,
        implementation="redispy",
        key_prefix=f"{settings.redis_prefix}ratelimit",
        # The runtime's own pool: its short timeouts, no retries and no extra connections.
        connection_pool=pool,
    )
