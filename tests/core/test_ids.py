import threading
from datetime import UTC, datetime, timedelta

from snapscale.core.ids import MAX_ID, IdGenerator, created_at_of


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
