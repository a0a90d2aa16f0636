"""sanitize_value on long sequences (a cluster's pods): checked in bulk, column by column,
with the same result as walking them one by one."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime

import pytest

from cockpit.domain import PodInfo
from cockpit.timeline.sanitize import BULK_MIN, sanitize_text, sanitize_value

HOSTILE = [
    "\x1b]52;c;cm0gLXJmIC8=\x07pwned",  # OSC 52: writes the clipboard
    "\x1b[2J\x1b[Hcleared",
    "api\u202egnp.exe",  # bidi override: reads backwards
    "zero\u200bwidth",
    "bell\x07",
    "\x9b31mC1 CSI",
    "bad\udcffbytes",
]
CLEAN = ["api-7d9f8b6c5d-x2x4z", "Running", "", "naïve café", "日本語のポッド", "tab\tand\nnewline",
         "emoji 🚀", "ContainerCreating"]


def pods(count: int, seed: int = 1) -> tuple[PodInfo, ...]:
    rnd = random.Random(seed)
    return tuple(
        PodInfo(f"api-{i:05d}", "api", 8, "2.0.0", rnd.random() < 0.9, rnd.randrange(3),
                rnd.choice(["Running", "Pending"]), rnd.random() * 1000, rnd.choice(CLEAN))
        for i in range(count))


def one_by_one(items: tuple[object, ...]) -> tuple[object, ...]:
    # below BULK_MIN nothing is checked in bulk: the item-wise walk, the reference
    return tuple(sanitize_value(item) for item in items)


def test_a_clean_cluster_is_the_same_object_and_no_copy_of_anything() -> None:
    snapshot = pods(5_000)
    assert sanitize_value(snapshot) is snapshot
    assert sanitize_value(list(snapshot))[17] is snapshot[17]


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("field", ["name", "phase", "reason", "version"])
def test_one_hostile_string_among_thousands_is_neutralised_and_only_its_pod_copied(
        field: str, text: str) -> None:
    snapshot = list(pods(3_000))
    snapshot[1_234] = dataclasses.replace(snapshot[1_234], **{field: text})
    cleaned = sanitize_value(tuple(snapshot))
    assert getattr(cleaned[1_234], field) == sanitize_text(text) != text
    assert all(new is old for i, (new, old) in enumerate(zip(cleaned, snapshot, strict=True))
               if i != 1_234)


def test_strings_numbers_and_nothing_mixed_in_one_column() -> None:
    @dataclasses.dataclass(frozen=True)
    class Row:
        label: str | None
        value: float | str
        at: datetime

    now = datetime(2025, 1, 21, tzinfo=UTC)
    rows = [Row("ok" if i % 3 else None, float(i) if i % 2 else f"v{i}", now)
            for i in range(200)]
    assert sanitize_value(rows) is rows
    rows[150] = Row(None, "\x1b[31mred", now)
    cleaned = sanitize_value(tuple(rows))
    assert cleaned[150].value == "red"
    assert cleaned == one_by_one(tuple(rows))


def test_hostile_text_nested_in_a_long_sequence_of_containers() -> None:
    items = [("name", (f"pod-{i}", {"label": "app"}), i) for i in range(100)]
    items[70] = ("name", ("pod-70", {"label\x1b[8m": "hidden\u2066"}), 70)
    cleaned = sanitize_value(tuple(items))
    assert dict(cleaned[70][1][1]) == {"label": "hidden<U+2066>"}
    assert cleaned[69] is items[69]
    assert cleaned == one_by_one(tuple(items))


def test_bulk_and_one_by_one_agree_on_random_mixtures() -> None:
    rnd = random.Random(13)
    for _ in range(30):
        snapshot = list(pods(rnd.randrange(BULK_MIN, 400), seed=rnd.randrange(1000)))
        for _ in range(rnd.randrange(4)):
            i = rnd.randrange(len(snapshot))
            field = rnd.choice(["name", "deployment", "phase", "reason"])
            snapshot[i] = dataclasses.replace(snapshot[i], **{field: rnd.choice(HOSTILE)})
        frozen = tuple(snapshot)
        cleaned = sanitize_value(frozen)
        assert cleaned == one_by_one(frozen)
        assert (cleaned is frozen) == all(
            sanitize_value(pod) is pod for pod in frozen)
