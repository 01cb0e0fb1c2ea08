import multiprocessing
import threading
from datetime import UTC, datetime, timedelta

import pytest

from snapscale.core import ids
from snapscale.core.ids import MAX_ID, IdGenerator, created_at_of
from snapscale.core.runtime import Runtime


def test_ids_are_unique_and_increasing_across_threads():
    generate = IdGenerator(node_id=7)
    batches: list[list[int]] = []

    def worker() -> None:
        batch = [generate() for _ in range(20_000)]
        batches.append(batch)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    everything = [i for batch in batches for i in batch]
    assert len(set(everything)) == len(everything)
    for batch in batches:
        assert batch == sorted(batch)
    assert all(0 < i <= MAX_ID for i in everything)  # fits a signed 64-bit column


def test_ids_carry_their_creation_time_and_node():
    generate = IdGenerator(node_id=1023)
    snowflake = generate()
    assert abs(created_at_of(snowflake) - datetime.now(UTC)) < timedelta(seconds=2)
    assert (snowflake >> 12) & 1023 == 1023


def test_different_nodes_never_collide_in_the_same_millisecond():
    a, b = IdGenerator(node_id=1), IdGenerator(node_id=2)
    assert not {a() for _ in range(5000)} & {b() for _ in range(5000)}


def test_a_forked_worker_makes_ids_on_a_node_of_its_own(monkeypatch):
    # gunicorn and Celery fork their workers from a parent that already imported the
    # generator: sharing its node, two workers could make the same id in one millisecond.
    ids.configure_node(1023)
    monkeypatch.setattr(ids.secrets, "randbelow", lambda _: 7)  # the child's "random" draw
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child_node = pool.apply(_node_after_fork, (0,))
    assert (ids.node_id(), child_node) == (1023, 7)


def _node_after_fork(_: int) -> int:
    return ids.node_id()


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)  # claimed from Redis
async def test_processes_sharing_redis_claim_different_nodes(settings):
    claimed = []
    for _ in range(3):
        runtime = Runtime(settings)
        claimed.append(ids.node_id())
        await runtime.aclose()
    assert len(set(claimed)) == 3
