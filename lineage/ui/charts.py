"""Small SVG charts drawn on the server: a metric's curve, and parallel coordinates.

Plain string building with escaped text, no plotting library: a curve is a polyline over its
logged steps, a parallel-coordinates plot puts each parameter on a vertical axis and the chosen
metric on the last one, one line per run coloured by that metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

CURVE_W, CURVE_H = 360, 150
PAR_AXIS_GAP, PAR_H = 150, 260
PAD_L, PAD_R, PAD_T, PAD_B = 56, 16, 14, 30


def _number(value: float) -> str:
    """Return a short label for an axis value."""
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.4g}"


def _scale(lo: float, hi: float, a: float, b: float) -> tuple[float, float]:
    """Return (factor, offset) mapping [lo, hi] to [a, b]; a flat range maps to the middle."""
    if hi == lo:
        return 0.0, (a + b) / 2
    factor = (b - a) / (hi - lo)
    return factor, a - lo * factor


def curve_svg(name: str, points: Sequence[tuple[float, float]]) -> str:
    """Return the curve of one metric: ``points`` are (step, value), in logging order."""
    finite = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
    w, h = CURVE_W, CURVE_H
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart curve" role="img" width="{w}" '
        f'height="{h}" viewBox="0 0 {w} {h}"><title>{escape(name)}: '
        f"{len(points)} values</title>"
    ]
    if finite:
        xs = [x for x, _ in finite]
        ys = [y for _, y in finite]
        fx, ox = _scale(min(xs), max(xs), PAD_L, w - PAD_R)
        fy, oy = _scale(min(ys), max(ys), h - PAD_B, PAD_T)
        path = " ".join(f"{x * fx + ox:.1f},{y * fy + oy:.1f}" for x, y in finite)
        parts.append(
            f'<line class="axis" x1="{PAD_L}" y1="{h - PAD_B}" x2="{w - PAD_R}" y2="{h - PAD_B}"/>'
            f'<line class="axis" x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{h - PAD_B}"/>'
            f'<polyline class="series" points="{path}"/>'
            f'<text class="tick" x="{PAD_L - 4}" y="{PAD_T + 8}" text-anchor="end">'
            f"{_number(max(ys))}</text>"
            f'<text class="tick" x="{PAD_L - 4}" y="{h - PAD_B}" text-anchor="end">'
            f"{_number(min(ys))}</text>"
            f'<text class="tick" x="{PAD_L}" y="{h - 10}">{_number(min(xs))}</text>'
            f'<text class="tick" x="{w - PAD_R}" y="{h - 10}" text-anchor="end">'
            f"{_number(max(xs))}</text>"
            f'<text class="tick" x="{(PAD_L + w - PAD_R) / 2:.0f}" y="{h - 10}" '
            f'text-anchor="middle">step</text>'
        )
        for x, y in finite:
            parts.append(
                f'<circle class="point" cx="{x * fx + ox:.1f}" cy="{y * fy + oy:.1f}" r="2.5">'
                f"<title>step {_number(x)}: {_number(y)}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


@dataclass
class Axis:
    """One vertical axis: its name and each run's value (a number, a text, or None)."""

    name: str
    values: list[float | str | None]

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, float) for v in self.values if v is not None)

    def position(self, value: float | str, top: float, bottom: float) -> float:
        """Return the y of ``value`` on this axis between ``top`` and ``bottom``."""
        if self.numeric:
            numbers = [v for v in self.values if isinstance(v, float) and math.isfinite(v)]
            if not isinstance(value, float) or not math.isfinite(value) or not numbers:
                return bottom
            factor, offset = _scale(min(numbers), max(numbers), bottom, top)
            return value * factor + offset
        labels = self.labels()
        factor, offset = _scale(0, max(len(labels) - 1, 0), bottom, top)
        return labels.index(str(value)) * factor + offset

    def labels(self) -> list[str]:
        return sorted({str(v) for v in self.values if v is not None})

    def ticks(self) -> list[tuple[str, float | str]]:
        """Return (label, value) pairs to write along the axis."""
        if self.numeric:
            numbers = [v for v in self.values if isinstance(v, float) and math.isfinite(v)]
            if not numbers:
                return []
            return [(_number(v), v) for v in sorted({min(numbers), max(numbers)})]
        return [(label, label) for label in self.labels()]


def as_value(text: str | float | None) -> float | str | None:
    """Return a number when ``text`` reads as one, else the text itself."""
    if text is None or isinstance(text, float):
        return text
    try:
        return float(text)
    except ValueError:
        return text


def _colour(fraction: float) -> str:
    """Return a colour from blue (low) to red (high) for a value's place in its range."""
    hue = 220 - 220 * min(max(fraction, 0.0), 1.0)
    return f"hsl({hue:.0f}, 70%, 45%)"


def parallel_svg(labels: Sequence[str], axes: Sequence[Axis]) -> str:
    """Return parallel coordinates: one polyline per run (``labels``) across ``axes``.

    The last axis is the chosen metric; each line takes its colour from that metric's value.
    """
    w = PAD_L + PAD_R + max(len(axes) - 1, 1) * PAR_AXIS_GAP + 60
    h = PAR_H
    top, bottom = PAD_T + 16, h - PAD_B
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart parallel" role="img" '
        f'width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
        f"<title>parallel coordinates of {len(labels)} runs</title>"
    ]
    xs = [PAD_L + i * PAR_AXIS_GAP for i in range(len(axes))]
    metric = axes[-1] if axes else None
    metric_numbers = [
        v for v in (metric.values if metric else []) if isinstance(v, float) and math.isfinite(v)
    ]
    lo, hi = (min(metric_numbers), max(metric_numbers)) if metric_numbers else (0.0, 0.0)
    for run_index, label in enumerate(labels):
        points = []
        for x, axis in zip(xs, axes, strict=True):
            value = axis.values[run_index]
            if value is not None:
                points.append(f"{x:.1f},{axis.position(value, top, bottom):.1f}")
        value = metric.values[run_index] if metric else None
        fraction = (value - lo) / (hi - lo) if isinstance(value, float) and hi > lo else 0.5
        parts.append(
            f'<polyline class="run-line" stroke="{_colour(fraction)}" '
            f'points="{" ".join(points)}"><title>{escape(label)}</title></polyline>'
        )
    for x, axis in zip(xs, axes, strict=True):
        css = "axis metric" if axis is metric else "axis"
        parts.append(
            f'<line class="{css}" x1="{x}" y1="{top}" x2="{x}" y2="{bottom}"/>'
            f'<text class="axis-name" x="{x}" y="{PAD_T + 4}" text-anchor="middle">'
            f"{escape(axis.name)}</text>"
        )
        for text, value in axis.ticks():
            y = axis.position(value, top, bottom)
            parts.append(f'<text class="tick" x="{x + 5}" y="{y + 4:.1f}">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)
