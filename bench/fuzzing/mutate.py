"""Mutators: bytes and JSON trees in, damaged copies out, reproducible from a seeded RNG.

Bytes get what breaks binary parsers (flipped bits, boundary integers, cut, duplicated or
spliced ranges, tokens that mean something to the parser). JSON trees get what breaks schema
validation (wrong types, missing and unknown keys, huge numbers, NaN, nested junk, boundary
date-times) while staying JSON, so the input gets past the first ``json.loads`` and reaches
the code behind it. Raw JSON that ``json.dumps`` cannot write (10,000 nested arrays, a
5,000-digit integer) is spliced in as text through placeholders.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Sequence
from typing import Any

INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0xA5, 0x5A, 0x10, 0x11, 0x12, 0x81, 0x82)
INTERESTING_U16 = (0, 1, 2, 5, 6, 7, 8, 15, 0x7F, 0x80, 0xFF, 0x100, 511, 512, 513, 0x7FFF, 0xFFFF)
JSON_TOKENS = (b'"', b"{", b"}", b"[", b"]", b",", b":", b"null", b"NaN", b"-", b"\\", b"\x00")

_RAW_MARK = "@@raw{}@@"
# JSON text json.dumps would not write, or would choke on while writing.
RAW_JSON = (
    "[" * 10_000 + "]" * 10_000,  # past every recursion limit
    "[" * 150 + "]" * 150,
    '{"a":' * 300 + "0" + "}" * 300,
    "1" * 5_000,  # past Python's int-digit limit
    "1e400",
    "-1e400",
    "1e-400",
    "-0",
    "0.0000000000000000000000000001",
    "123456789012345678901234567890",
    '"\\ud800"',  # a lone surrogate
    '"\\u0000"',
    '{"v":1,"v":2}',
)

INTERESTING_JSON: tuple[object, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1,
    2,
    9,
    10,
    100,
    101,
    255,
    256,
    0xFFFF,
    0x10000,
    2**31 - 1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**100,
    -(10**100),
    0.5,
    -0.0,
    99.5,
    100.0000001,
    1e308,
    -1e308,
    5e-324,
    float("nan"),
    float("inf"),
    float("-inf"),
    "",
    " ",
    "0",
    "1",
    "true",
    "null",
    "emergency",
    "online",
    "offline",
    "fall",
    "\x00",
    "\u202e",
    "\U0001f600",
    "x" * 201,
    "é" * 200,
    "2024-03-01T12:30:05Z",
    "2024-03-01T12:30:05",
    "2024-03-01",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:30:00+00:45",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:30:00-00:45",
    "2024-02-30T00:00:00Z",
    "2024-01-01T00:00:00+23:59",
    "2024-01-01T00:00:00-23:59",
    "2024-01-01T00:00:00+24:00",
    "2024-01-01T24:00:00Z",
    "1700000000",
    1_700_000_000,
    "0123456789abcdef0123456789abcdef",
    "0123456789ABCDEF0123456789ABCDEF",
    "server",
    "gw-7\n",
    [],
    {},
    [1, 2, 3],
    [[0.0, 0.0, 1.0]],
    {"a": {"b": {"c": []}}},
)


class ByteMutator:
    """Damages byte strings: 1 to ``max_ops`` random edits per call."""

    def __init__(self, rng: random.Random, tokens: Sequence[bytes] = (), max_ops: int = 4) -> None:
        self._rng = rng
        self._tokens = tuple(tokens) or (b"\xa5\x5a",)
        self._max_ops = max_ops
        self._ops: tuple[Callable[[bytearray], None], ...] = (
            self._flip_bit,
            self._flip_bit,
            self._set_byte,
            self._set_u16,
            self._insert_random,
            self._delete_range,
            self._duplicate_range,
            self._truncate,
            self._insert_token,
        )

    def mutate(self, data: bytes) -> bytes:
        buf = bytearray(data)
        for _ in range(self._rng.randint(1, self._max_ops)):
            self._rng.choice(self._ops)(buf)
        return bytes(buf)

    def random_bytes(self, max_size: int) -> bytes:
        return self._rng.randbytes(self._rng.randint(0, max_size))

    def _pos(self, buf: bytearray) -> int:
        return self._rng.randint(0, len(buf))

    def _flip_bit(self, buf: bytearray) -> None:
        if buf:
            buf[self._rng.randrange(len(buf))] ^= 1 << self._rng.randrange(8)

    def _set_byte(self, buf: bytearray) -> None:
        if buf:
            value = self._rng.choice((*INTERESTING_BYTES, self._rng.randrange(256)))
            buf[self._rng.randrange(len(buf))] = value

    def _set_u16(self, buf: bytearray) -> None:
        if len(buf) >= 2:
            at = self._rng.randrange(len(buf) - 1)
            buf[at : at + 2] = self._rng.choice(INTERESTING_U16).to_bytes(2, "little")

    def _insert_random(self, buf: bytearray) -> None:
        at = self._pos(buf)
        buf[at:at] = self._rng.randbytes(self._rng.randint(1, 16))

    def _delete_range(self, buf: bytearray) -> None:
        at = self._pos(buf)
        del buf[at : at + self._rng.randint(1, 16)]

    def _duplicate_range(self, buf: bytearray) -> None:
        at = self._pos(buf)
        piece = buf[at : at + self._rng.randint(1, 32)]
        to = self._pos(buf)
        buf[to:to] = piece

    def _truncate(self, buf: bytearray) -> None:
        del buf[self._pos(buf) :]

    def _insert_token(self, buf: bytearray) -> None:
        at = self._pos(buf)
        buf[at:at] = self._rng.choice(self._tokens)


Slot = tuple[Any, Any]  # (container, key or index) of one value in a JSON tree


class JsonMutator:
    """Damages parsed JSON trees in place and writes them back as (possibly odd) JSON text.

    ``vocabulary`` is the keys and scalars of the valid examples: splicing them elsewhere makes
    inputs that are almost right, which is where validation bugs live.
    """

    def __init__(self, rng: random.Random, keys: Sequence[str], scalars: Sequence[object]) -> None:
        self._rng = rng
        self._keys = tuple(keys)
        self._scalars = tuple(scalars)
        self._raws: list[str] = []  # raw JSON texts spliced in by the current mutate() call
        self._ops: tuple[Callable[[Any, Any], None], ...] = (
            self._replace_interesting,
            self._replace_interesting,
            self._replace_vocabulary,
            self._delete,
            self._add_key,
            self._change_type,
            self._replace_raw,
            self._nest,
        )

    def mutate(self, tree: Any, max_ops: int = 3) -> str:
        """Apply 1 to ``max_ops`` edits to ``tree`` (changed in place) and serialise it."""
        self._raws = []
        holder = [tree]
        for _ in range(self._rng.randint(1, max_ops)):
            slots = _slots(holder)
            container, key = self._rng.choice(slots)
            self._rng.choice(self._ops)(container, key)
        text = json.dumps(holder[0], allow_nan=True, ensure_ascii=self._rng.random() < 0.5)
        for i, raw in enumerate(self._raws):
            text = text.replace(json.dumps(_RAW_MARK.format(i)), raw)
        return text

    def random_value(self, depth: int = 0) -> object:
        """A random JSON value: scalars from the vocabulary or the interesting list, or
        containers of them."""
        roll = self._rng.random()
        if depth < 3 and roll < 0.15:
            return [self.random_value(depth + 1) for _ in range(self._rng.randint(0, 4))]
        if depth < 3 and roll < 0.3:
            return {
                self._rng.choice(self._keys): self.random_value(depth + 1)
                for _ in range(self._rng.randint(0, 4))
            }
        if roll < 0.6:
            return self._rng.choice(self._scalars)
        return self._interesting()

    def _interesting(self) -> object:
        # A fresh copy: a shared list edited in one input would leak into the next one.
        return copy.deepcopy(self._rng.choice(INTERESTING_JSON))

    def _replace_interesting(self, container: Any, key: Any) -> None:
        container[key] = self._interesting()

    def _replace_vocabulary(self, container: Any, key: Any) -> None:
        container[key] = self.random_value()

    def _delete(self, container: Any, key: Any) -> None:
        if isinstance(container, dict) or (isinstance(container, list) and len(container) > 1):
            del container[key]

    def _add_key(self, container: Any, key: Any) -> None:
        target = container[key]
        if isinstance(target, dict):
            target[self._rng.choice((*self._keys, "extra"))] = self.random_value()
        elif isinstance(target, list):
            target.insert(self._rng.randint(0, len(target)), self.random_value())

    def _change_type(self, container: Any, key: Any) -> None:
        value = container[key]
        options: list[object] = [[value], {"value": value}, str(value)]
        if isinstance(value, bool):
            options.append(int(value))
        elif isinstance(value, int):
            options += [float(value), -value, value + 1, value - 1, value * 2**32, bool(value)]
        elif isinstance(value, float):
            options += [int(value) if value == value and abs(value) < 1e300 else 0, -value]
        elif isinstance(value, str):
            options += [value.upper(), value + value, value[:-1], value + "\n", len(value)]
        container[key] = self._rng.choice(options)

    def _replace_raw(self, container: Any, key: Any) -> None:
        self._raws.append(self._rng.choice(RAW_JSON))
        container[key] = _RAW_MARK.format(len(self._raws) - 1)

    def _nest(self, container: Any, key: Any) -> None:
        value = container[key]
        for _ in range(self._rng.randint(1, 40)):
            value = [value] if self._rng.random() < 0.5 else {"x": value}
        container[key] = value


def _slots(holder: list[Any], limit: int = 300) -> list[Slot]:
    """Every (container, key) of the tree in ``holder[0]``, breadth first, at most ``limit``
    (nested junk from earlier edits can be deep; the walk is iterative and bounded)."""
    slots: list[Slot] = [(holder, 0)]
    i = 0
    while i < len(slots) and len(slots) < limit:
        container, key = slots[i]
        value = container[key]
        if isinstance(value, dict):
            slots += [(value, k) for k in value]
        elif isinstance(value, list):
            slots += [(value, j) for j in range(len(value))]
        i += 1
    return slots[:limit]
