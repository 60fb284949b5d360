"""Small server-rendered SVG charts for the operations page (no JavaScript):
a bar or line series over time, its scale and its latest value, wrapped in a
link to the admin list behind the figure. Hand-written: a few dozen lines of
SVG need no charting library, and the page stays one HTML response."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join

WIDTH, HEIGHT, PAD = 200, 60, 2


@dataclass
class Series:
    title: str
    values: Sequence[float | None]  # oldest first; None: no sample
    unit: str = ""
    kind: str = "bar"  # "bar" or "line"
    href: str = ""
    scale: float | None = None  # the top of the chart; default the maximum


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "s":
        if value >= 3600:
            return f"{value / 3600:.1f} h"
        if value >= 60:
            return f"{value / 60:.1f} min"
        return f"{value:.0f} s"
    return f"{value:g}{unit}"


def svg(series: Series) -> str:
    known = [v for v in series.values if v is not None]
    top = series.scale or max(known, default=0) or 1
    n = max(len(series.values), 1)
    step = (WIDTH - 2 * PAD) / n
    inner = HEIGHT - 2 * PAD

    def y(value: float) -> float:
        return HEIGHT - PAD - min(value, top) / top * inner

    if series.kind == "line":
        points = " ".join(
            f"{PAD + (i + 0.5) * step:.1f},{y(v):.1f}"
            for i, v in enumerate(series.values)
            if v is not None
        )
        shapes = format_html(
            '<polyline fill="none" stroke="#417690" stroke-width="1.5" points="{}"/>',
            points,
        )
    else:
        shapes = format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="#79aec8"/>',
            (
                (
                    f"{PAD + i * step:.1f}",
                    f"{y(v):.1f}",
                    f"{max(step - 0.5, 0.5):.1f}",
                    f"{HEIGHT - PAD - y(v):.1f}",
                )
                for i, v in enumerate(series.values)
                if v
            ),
        )
    latest = known[-1] if known else None
    label = (
        f"{series.title}: now {fmt(latest, series.unit)}, top {fmt(top, series.unit)}"
    )
    chart = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="ops-chart" role="img" '
        'width="{}" height="{}" viewBox="0 0 {} {}" aria-label="{}">'
        "<title>{}</title>"
        '<rect x="0" y="0" width="{}" height="{}" fill="#f8f8f8" stroke="#ddd"/>'
        "{}</svg>",
        WIDTH, HEIGHT, WIDTH, HEIGHT, label, label, WIDTH, HEIGHT, shapes,
    )  # fmt: skip
    caption = format_html(
        '<div class="ops-caption">{} <strong>{}</strong> '
        '<span class="ops-scale">(top {})</span></div>',
        series.title,
        fmt(latest, series.unit),
        fmt(top, series.unit),
    )
    if series.href:
        return format_html('<a href="{}">{}{}</a>', series.href, caption, chart)
    return format_html("{}{}", caption, chart)
