"""Deterministic, realistic-looking values for API data generators.

Every helper takes the generator's `random.Random`, never the global one, so the same seed and
scale give the same data on every machine and run.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "COLORS",
    "EPOCH_START",
    "company_name",
    "email",
    "epoch_ms",
    "hex_color",
    "iso_ms",
    "moment",
    "parse_sql_datetime",
    "person",
    "sentence",
    "sql_datetime",
    "uuid4",
]

EPOCH_START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_DAYS = 540
MS_PER_S = 1000
SQL_FORMAT = "%Y-%m-%d %H:%M:%S"

FIRST_NAMES = (
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
    "Radia", "Guido", "Katherine", "Tim", "Hedy", "Donald", "Annie", "John", "Sophie", "Niklaus",
    "Joan", "Bjarne", "Shafi", "Leslie", "Mary", "Yukihiro", "Evelyn", "James", "Lynn", "Ward",
)  # fmt: skip
LAST_NAMES = (
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
    "Allen", "Dijkstra", "Perlman", "Rossum", "Johnson", "Berners-Lee", "Lamarr", "Knuth",
    "Easley", "Backus", "Wilson", "Wirth", "Clarke", "Stroustrup", "Goldwasser", "Lamport",
    "Keller", "Matsumoto", "Boyd", "Gosling", "Conway", "Cunningham",
)  # fmt: skip
COMPANY_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell",
    "Cyberdyne", "Soylent", "Aperture", "Massive", "Pied Piper", "Wonka", "Gringotts", "Oscorp",
    "Nakatomi", "Monarch", "Dunder",
)  # fmt: skip
COMPANY_SUFFIXES = ("Inc", "Labs", "GmbH", "Ltd", "Corp", "Systems", "Software", "Group")
WORDS = (
    "fast", "quiet", "robust", "legacy", "modern", "shared", "internal", "public", "beta",
    "stable", "mobile", "web", "backend", "pricing", "checkout", "search", "onboarding",
    "billing", "reporting", "analytics", "rollout", "experiment", "dashboard", "service",
)  # fmt: skip
COLORS = ("red", "blue", "green", "yellow", "purple", "orange", "gray", "teal", "pink")


def uuid4(rng: random.Random) -> str:
    """A version-4 UUID string drawn from the seeded generator (uuid.uuid4 is not seedable)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def person(rng: random.Random) -> tuple[str, str]:
    """A (first, last) name pair."""
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def email(first: str, last: str, domain: str, serial: int) -> str:
    """A plausible, unique work address: the serial keeps two people of the same name apart."""
    local = f"{first}.{last}".lower().replace(" ", "").replace("-", "")
    return f"{local}{serial}@{domain}"


def company_name(rng: random.Random, serial: int) -> str:
    """A company name, unique through its serial number."""
    return f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)} {serial}"


def sentence(rng: random.Random, words: int) -> str:
    """A short lowercase phrase with a capital first letter, for names and descriptions."""
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[:1].upper() + text[1:]


def hex_color(rng: random.Random) -> str:
    """A CSS hex color like `#1a2b3c`."""
    return f"#{rng.getrandbits(24):06x}"


def moment(
    rng: random.Random, after: datetime = EPOCH_START, span_days: int = SPAN_DAYS
) -> datetime:
    """A UTC instant within `span_days` after `after`, to the millisecond."""
    offset_ms = rng.randrange(span_days * 24 * 3600 * MS_PER_S)
    return after + timedelta(milliseconds=offset_ms)


def sql_datetime(value: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS`, as commerce APIs write timestamps."""
    return value.strftime(SQL_FORMAT)


def parse_sql_datetime(value: Any) -> datetime:
    """Parse `YYYY-MM-DD HH:MM:SS` strictly (ValueError otherwise), for `updated_after` filters."""
    return datetime.strptime(str(value), SQL_FORMAT)


def iso_ms(value: datetime) -> str:
    """ISO-8601 with milliseconds and `Z`, e.g. `2024-05-04T20:17:55.387Z`."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def epoch_ms(value: datetime) -> int:
    """Milliseconds since the Unix epoch, as hosting APIs write timestamps."""
    return int(value.timestamp() * MS_PER_S)
