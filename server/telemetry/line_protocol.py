"""Line protocol for a batch of points, byte for byte what influxdb-client's `Point` writes.

Why not `Point` per point: building one costs about 8 µs, more than InfluxDB spends storing
the point, which made it the slowest step of ingest. A point's series key (measurement and
tags, escaped) is the same for every reading of a device, so `Point` builds it once per series
and once per field name here, and only the values are formatted per point, by `Point`'s rules
(tests/server/telemetry/test_line_protocol.py holds the two equal on generated points).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from influxdb_client.client.write.point import Point
from pydantic_core import to_json

from server.telemetry.columns import PointChunks, PointColumns
from server.telemetry.point import FieldValue, TelemetryPoint

# Series keys remembered, at most: a centre's gateways x devices x measurements. Past it the
# memory starts afresh (rebuilding a key costs one Point).
MAX_SERIES = 200_000
# The escapes of a line protocol string field value, as Point's (its table is private).
_ESCAPE_STRING = str.maketrans({'"': r"\"", "\\": r"\\"})
_BOOLEANS: Mapping[object, str] = {False: "false", True: "true"}
_SeriesId = tuple[str, tuple[tuple[str, str], ...]]
_Layout = tuple[tuple[str, str], ...]


class LineProtocolEncoder:
    """Encodes batches of `TelemetryPoint`; remembers series keys and field-name layouts.

    Safe to share between threads: its memory is dicts whose entries never change once
    written (two threads may build the same entry at once, and store the same text).
    """

    def __init__(self) -> None:
        self._series: dict[_SeriesId, str] = {}
        self._field_names: dict[str, str] = {}
        # Field names in the order a device sends them -> in Point's order, with ``name=``.
        self._layouts: dict[tuple[str, ...], _Layout] = {}

    def encode(self, points: Iterable[TelemetryPoint]) -> bytes:
        """The points' lines joined by newlines, UTF-8, nanosecond timestamps; a series kept
        as columns (`PointColumns`, also inside `PointChunks`) is encoded column by column."""
        chunks: Iterable[Iterable[TelemetryPoint]]
        chunks = points.chunks if isinstance(points, PointChunks) else (points,)
        lines: list[str] = []
        for chunk in chunks:
            if isinstance(chunk, PointColumns):
                lines += self._column_lines(chunk)
            else:
                lines += self._lines(chunk)
        return "\n".join(lines).encode()

    def line(self, point: TelemetryPoint) -> str:
        return self._lines((point,))[0]

    def _lines(self, points: Iterable[TelemetryPoint]) -> list[str]:
        """One loop, everything inlined: it runs once per point ingested."""
        lines = []
        layouts = self._layouts
        # The points of one message share one tags mapping: its key is looked up once.
        tags: Mapping[str, str] | None = None
        measurement, key = "", ""
        for point in points:
            if point.tags is not tags or point.measurement != measurement:
                tags, measurement = point.tags, point.measurement
                key = self._key(measurement, tags)
            fields = point.fields
            names = tuple(fields)
            layout = layouts.get(names) or self._layout(names)
            parts = []
            for name, prefix in layout:
                value = fields[name]
                kind = type(value)  # _value's rules, inlined for the common kinds
                if kind is float:
                    text = str(value)
                    parts.append(prefix + (text[:-2] if text.endswith(".0") else text))
                elif kind is int:
                    parts.append(f"{prefix}{value}i")
                elif kind is bool:
                    parts.append(prefix + ("true" if value else "false"))
                else:
                    parts.append(prefix + _value(value))
            lines.append(f"{key}{','.join(parts)} {point.time_ns}")
        return lines

    def _column_lines(self, series: PointColumns) -> list[str]:
        """A series' lines from one template (its key and ``name=`` parts, ``%``-escaped) and
        its columns, each turned to text in one pass by the kind of its values."""
        parts, texts = [], []
        for name in sorted(series.columns):
            values = series.columns[name]
            prefix = (self._field_names.get(name) or self._field_name(name)).replace("%", "%%")
            kinds = set(map(type, values))
            if kinds == {int}:
                parts.append(prefix + "%si")
                texts.append(values)
            elif kinds == {float}:
                parts.append(prefix + "%s")
                texts.append(_float_texts(values))
            elif kinds == {bool}:
                parts.append(prefix + "%s")
                texts.append([_BOOLEANS[value] for value in values])
            else:  # strings, or a column of mixed kinds: value by value
                parts.append(prefix + "%s")
                texts.append([_value(value) for value in values])
        key = self._key(series.measurement, series.tags).replace("%", "%%")
        template = f"{key}{','.join(parts)} %s"
        return [template % row for row in zip(*texts, series.times_ns, strict=True)]

    def _key(self, measurement: str, tags: Mapping[str, str]) -> str:
        key = self._series.get((measurement, tuple(tags.items())))
        return key if key is not None else self._series_key(measurement, tags)

    def _layout(self, names: tuple[str, ...]) -> _Layout:
        """The fields in Point's order (sorted by name), each with its ``name=``."""
        layout = tuple(
            (name, self._field_names.get(name) or self._field_name(name)) for name in sorted(names)
        )
        if len(self._layouts) >= MAX_SERIES:
            self._layouts.clear()
        self._layouts[names] = layout
        return layout

    def _series_key(self, measurement: str, tags: Mapping[str, str]) -> str:
        """``measurement,tag=value,... `` (with its trailing space), escaped by `Point`."""
        probe = Point.from_dict({"measurement": measurement, "tags": tags, "fields": {"_": 0}})
        text: str = probe.to_line_protocol()
        key = text.removesuffix("_=0i")
        if len(self._series) >= MAX_SERIES:
            self._series.clear()
        self._series[(measurement, tuple(tags.items()))] = key
        return key

    def _field_name(self, name: str) -> str:
        """``name=``, escaped by `Point`."""
        line: str = Point.from_dict({"measurement": "m", "fields": {name: 0}}).to_line_protocol()
        prefix = line.removeprefix("m ").removesuffix("0i")
        if len(self._field_names) < MAX_SERIES:
            self._field_names[name] = prefix
        return prefix


def _float_texts(values: Sequence[FieldValue]) -> list[str]:
    """A float column as `Point` writes each value (``str``, a whole one without ``.0``).

    Why not ``str`` per value: CPython's shortest repr costs about 0.3 µs a float here, the
    largest part of encoding a point. pydantic-core's JSON writer (Rust, ryu) finds the same
    shortest digits for the whole column at once; only its notation differs, in exponents and
    below 1e-4 (``1e16``, ``0.00001`` where ``str`` writes ``1e+16``, ``1e-05``), so a column
    with any such value is written value by value. Held equal to `Point` by a property test.
    """
    text = to_json(values).decode()[1:-1]
    if "e" in text or "0.0000" in text:
        return [t[:-2] if t.endswith(".0") else t for t in map(str, values)]
    return (text + ",").replace(".0,", ",")[:-1].split(",")


def _value(value: FieldValue) -> str:
    """A field value by `Point`'s rules: a bool before an int (a bool is an int), an int with
    ``i``, a whole float without ``.0``, a string quoted and escaped."""
    kind = type(value)
    if kind is float:
        text = str(value)
        return text[:-2] if text.endswith(".0") else text
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return f"{value}i"
    if isinstance(value, str):
        return f'"{value.translate(_ESCAPE_STRING)}"'
    # A subclass of a scalar type (pydantic gives exact types; another caller may not).
    return _value(_exact(value))


def _exact(value: FieldValue) -> FieldValue:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    return float(value)
