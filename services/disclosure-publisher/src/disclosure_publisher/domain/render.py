"""A notice as a self-contained HTML page with an inline SVG trend chart.

People at a hospital would rather look than read JSON: the page has no scripts and no
external assets (it opens from an e-mail attachment or an intranet share alike), and every
value is escaped, since evidence text comes from other systems.
"""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH, HEIGHT, PAD = 560, 180, 30


def trend_svg(points: list[tuple[str, int, str]]) -> str:
    """Monthly settlement counts as a polyline with labelled periods."""
    if not points:
        return "<p>No settlements recorded yet.</p>"
    top = max(count for _, count, _ in points) or 1
    step = (WIDTH - 2 * PAD) / max(1, len(points) - 1)
    coords = [
        (PAD + i * step, HEIGHT - PAD - (count / top) * (HEIGHT - 2 * PAD))
        for i, (_, count, _) in enumerate(points)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    marks = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{escape(p)}: {c} ({escape(a)} 元)'
        f'</title></circle><text x="{x:.1f}" y="{HEIGHT - 8}" font-size="10" '
        f'text-anchor="middle">{escape(p)}</text>'
        for (x, y), (p, c, a) in zip(coords, points, strict=True)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="monthly settlements"><polyline fill="none" stroke="#1f6feb" '
        f'stroke-width="2" points="{line}"/>{marks}</svg>'
    )


def _cell(value: Any) -> str:
    return "—" if value is None else escape(str(value))


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_notice(body: dict[str, Any], trend: list[tuple[str, int, str]]) -> str:
    """The page of one monthly notice."""
    drg = body.get("drg") or {}
    credit = body.get("credit") or {}
    settlements = body.get("settlements") or {}
    summary = _table(
        ["指标 indicator", "值 value"],
        [
            ["结算笔数 settlements", settlements.get("total")],
            ["结算金额 amount (元)", settlements.get("amount")],
            ["DRG 病例 cases", drg.get("cases")],
            ["入组率 grouping rate", drg.get("grouping_rate")],
            ["DRG 组数 groups", drg.get("group_count")],
            ["总权重 total weight", drg.get("total_weight")],
            ["CMI", drg.get("cmi")],
            ["费用消耗指数 cost index", drg.get("cost_index")],
            ["时间消耗指数 time index", drg.get("time_index")],
            ["低风险死亡率 low-risk mortality", drg.get("low_risk_mortality")],
            ["点值 point value", drg.get("point_value")],
            ["信用等级 credit grade", credit.get("grade")],
        ],
    )
    groups = _table(
        [
            "DRG",
            "cases",
            "RW",
            "cost ratio",
            "time ratio",
            "points",
            "payment",
            "fund paid",
            "surplus/deficit",
        ],
        [
            [
                g["drg_code"],
                g["cases"],
                g["weight"],
                g["cost_ratio"],
                g["time_ratio"],
                g["points"],
                g["payment"],
                g["fund_paid"],
                g["surplus"],
            ]
            for g in drg.get("groups", [])
        ],
    )
    violations = _table(
        ["rule", "severity", "settlement", "trace code", "occurred", "respond by"],
        [
            [
                v["rule"],
                v["severity"],
                v["settlement_id"],
                v["drug_trac_codg"],
                v["occurred_at"],
                v["respond_by"],
            ]
            for v in body.get("violations", [])
        ],
    )
    title = f"{body.get('institution_name') or body.get('fixmedins_code')} · {body.get('period')}"
    return (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
        f"<title>亮家底 {escape(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>月告知 Monthly notice — {escape(title)}</h1>"
        f"<p>notice {escape(str(body.get('notice_id')))} · seq {_cell(body.get('seq'))} · "
        f"version {_cell(body.get('version'))} · issued {_cell(body.get('issued_on'))}</p>"
        f"<h2>趋势 Trend</h2>{trend_svg(trend)}<h2>概要 Summary</h2>{summary}"
        f"<h2>DRG 分组 Groups</h2>{groups}"
        f"<h2>疑似违规 Suspected violations</h2>{violations}</body></html>"
    )
