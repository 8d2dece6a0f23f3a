"""A counterexample (or witness) as one self-contained HTML page.

`render(trace, ...)` returns the page: a message-sequence chart in inline SVG
-- a lane per writer and per CPU, one row per step, each labelled with its
kernel function, the IPIs drawn as arrows from the writer to every CPU it
kicks and the acknowledgements as dashed arrows back, the violating step in
red -- and, beside it, the state after each step in a table whose rows line up
with the chart's (changed values marked). No network, no external file: the
CSS and a few lines of script (hovering a step highlights its row on both
sides) are inline.

This is a report: it renders `results.Trace` data and never re-runs anything.
"""

from __future__ import annotations

from html import escape
from typing import Sequence

from slabproof.results import Trace, TraceStep

LANE_W = 196  # px between lanes
ROW_H = 56  # px per step; the state table's rows use the same height
HEAD_H = 40  # px of lane headers; the state table's header uses the same height
LEFT = 44  # px for the step numbers
BOX_W = LANE_W - 14
CHARS = 30  # characters that fit a box line at the chosen font size

_CSS = f"""
:root {{ --red: #c62828; --blue: #1565c0; --grey: #777; }}
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 20px; margin: 0 0 4px 0; }}
.sub {{ color: #555; margin: 0 0 12px 0; }}
.verdict {{ border-left: 4px solid var(--red); background: #fdecea; padding: 8px 12px; margin: 8px 0 16px 0; }}
.verdict.witness {{ border-color: var(--blue); background: #e8f0fb; }}
.legend span {{ margin-right: 18px; }}
li.cycle {{ color: #2e7d32; }}
li.cycle::marker {{ content: "\\21BB  " counter(list-item) ". "; }}
.wrap {{ display: flex; align-items: flex-start; gap: 12px; }}
.chart {{ flex: none; }}
.states {{ overflow-x: auto; flex: 1 1 auto; }}
table.state {{ border-collapse: collapse; font-size: 11px; font-family: ui-monospace, Menlo, monospace; }}
table.state th {{ height: {HEAD_H}px; box-sizing: border-box; padding: 0 6px; white-space: nowrap;
  border-bottom: 1px solid #999; text-align: left; vertical-align: bottom; background: #fafafa; }}
table.state td {{ height: {ROW_H}px; box-sizing: border-box; padding: 0 6px; white-space: nowrap;
  border-bottom: 1px solid #eee; }}
table.state td.chg {{ background: #fff3c4; font-weight: 600; }}
table.state tr.viol td {{ background: #fdecea; }}
table.state tr.viol td.chg {{ background: #f8c4c0; }}
.hl rect.box {{ stroke-width: 3; }}
tr.hl td {{ outline: 1px solid var(--blue); }}
svg text {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }}
svg .mono {{ font-family: ui-monospace, Menlo, monospace; }}
footer {{ color: #777; font-size: 12px; margin-top: 16px; }}
"""

_SCRIPT = """
document.querySelectorAll('[data-step]').forEach(function (el) {
  var k = el.getAttribute('data-step');
  el.addEventListener('mouseenter', function () {
    document.querySelectorAll('[data-step="' + k + '"]').forEach(function (x) { x.classList.add('hl'); });
  });
  el.addEventListener('mouseleave', function () {
    document.querySelectorAll('[data-step="' + k + '"]').forEach(function (x) { x.classList.remove('hl'); });
  });
});
document.body.setAttribute('data-ready', 'yes');
"""


def _fit(text: str, n: int = CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def lanes_of(trace: Trace) -> list[str]:
    """Writers first, then CPUs in order: every lane the trace's state or steps mention."""
    names: set[str] = {s.column for s in trace.steps}
    for key in trace.initial:
        if key.startswith("writer_pc["):
            names.add("writer" + key[len("writer_pc["):-1])
        if "[cpu" in key:
            names.add(key[key.index("[cpu") + 1:-1])
    for s in trace.steps:
        names.update(s.ipi_targets)

    def order(n: str) -> tuple[int, int]:
        digits = "".join(ch for ch in n if ch.isdigit())
        return (0 if n.startswith("writer") else 1, int(digits) if digits else 0)

    return sorted(names, key=order)


def acknowledged(trace: Trace, k: int) -> list[str]:
    """The writers whose IPI the `k`-th step (an IPI handler) acknowledged.

    Derived from the trace's data, not from how a state is displayed: the
    IPIs sent before step `k` (each step's `ipi_targets`, sent by the writer
    whose lane it is) that no earlier IPI handler on the same CPU took. One
    handler takes every IPI pending on its CPU (flush_smp_call_function_queue()
    runs the whole queue). Empty for a step that is not an IPI handler.
    """
    st = trace.steps[k]
    if st.step != "ipi_handler":
        return []
    pending: dict[str, list[str]] = {}  # CPU lane -> writers with an IPI pending there, in sending order
    for s in trace.steps[:k]:
        if s.step == "ipi_handler":
            pending.pop(s.column, None)
        elif not s.skipped:
            for target in s.ipi_targets:
                if s.column not in pending.setdefault(target, []):
                    pending[target].append(s.column)
    return pending.get(st.column, [])


def _arrow(x1: float, x2: float, y: float, cls: str, label: str, dashed: bool = False) -> str:
    d = ' stroke-dasharray="5 3"' if dashed else ""
    mid = (x1 + x2) / 2
    return (f'<g class="{cls}"><line x1="{x1:.0f}" y1="{y:.0f}" x2="{x2:.0f}" y2="{y:.0f}" '
            f'marker-end="url(#{cls}-head)"{d}/>'
            f'<text x="{mid:.0f}" y="{y - 3:.0f}" text-anchor="middle" font-size="9">{escape(label)}</text></g>')


def _box(x: float, y: float, st: TraceStep) -> str:
    fill, stroke, dash, weight = "#ffffff", "#555", "", "600"
    if st.skipped:
        fill, stroke, dash = "#f4f4f4", "#aaa", ' stroke-dasharray="4 3"'
    if st.actor.endswith(".ipi") or st.step == "ipi_handler":
        fill, stroke = "#e8f0fb", "#1565c0"
    if st.actor.endswith(".reaper"):
        fill = "#f3ecfa"
    if st.violating:
        fill, stroke, weight = "#fdecea", "#c62828", "700"
    name = st.step + (" (skipped)" if st.skipped else "")
    if st.actor.endswith(".reaper"):
        name = "reaper: " + name
    detail = st.note if (st.skipped or st.violating) and st.note else st.text
    tip = f"{st.index}. {st.actor}: {st.step}{' (skipped)' if st.skipped else ''}\n{st.function}\n{st.text}"
    if st.note:
        tip += f"\n{st.note}"
    bx = x - BOX_W / 2
    red = ' fill="#c62828"' if st.violating else ""
    return (f'<g class="step{" violating" if st.violating else ""}" data-step="{st.index}" id="step-{st.index}">'
            f"<title>{escape(tip)}</title>"
            f'<rect class="box" x="{bx:.0f}" y="{y + 4:.0f}" width="{BOX_W}" height="{ROW_H - 8}" rx="6" '
            f'fill="{fill}" stroke="{stroke}"{dash}/>'
            f'<text x="{x:.0f}" y="{y + 19:.0f}" text-anchor="middle" font-size="11" font-weight="{weight}"'
            f"{red}>{escape(_fit(name))}</text>"
            f'<text x="{x:.0f}" y="{y + 32:.0f}" text-anchor="middle" font-size="9" class="mono" '
            f'fill="#1565c0">{escape(_fit(st.function, CHARS + 1))}</text>'
            f'<text x="{x:.0f}" y="{y + 45:.0f}" text-anchor="middle" font-size="9" fill="#555">'
            f"{escape(_fit(detail, CHARS + 3))}</text></g>")


def svg_chart(trace: Trace, lanes: Sequence[str]) -> str:
    """The message-sequence chart alone (an `<svg>` element)."""
    lanes = list(lanes)
    xs = {lane: LEFT + LANE_W / 2 + i * LANE_W for i, lane in enumerate(lanes)}
    n = len(trace.steps)
    width = LEFT + LANE_W * len(lanes)
    height = HEAD_H + ROW_H * (n + 1) + 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
           f'viewBox="0 0 {width:.0f} {height}" role="img" aria-label="message sequence chart">',
           "<defs>"]
    for cls, col in (("ipi", "#1565c0"), ("ack", "#2e7d32")):
        out.append(f'<marker id="{cls}-head" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">'
                   f'<path d="M0,0 L8,4 L0,8 z" fill="{col}"/></marker>')
    out.append("</defs>")
    out.append('<style>.ipi line { stroke: #1565c0; stroke-width: 1.4; } .ipi text { fill: #1565c0; } '
               '.ack line { stroke: #2e7d32; stroke-width: 1.2; } .ack text { fill: #2e7d32; }</style>')
    # lane headers and lifelines
    for lane, x in xs.items():
        col = "#37474f" if lane.startswith("writer") else "#455a64"
        out.append(f'<rect x="{x - BOX_W / 2:.0f}" y="4" width="{BOX_W}" height="{HEAD_H - 10}" rx="4" fill="{col}"/>'
                   f'<text x="{x:.0f}" y="{HEAD_H / 2 + 3:.0f}" text-anchor="middle" font-size="12" fill="#fff" '
                   f'font-weight="600">{escape(lane)}</text>'
                   f'<line x1="{x:.0f}" y1="{HEAD_H - 6}" x2="{x:.0f}" y2="{height - 4}" stroke="#bbb" '
                   f'stroke-dasharray="3 4"/>')
    # row 0: the initial state
    out.append(f'<text x="{LEFT - 8}" y="{HEAD_H + ROW_H / 2 + 4:.0f}" text-anchor="end" font-size="11" '
               f'fill="#777">0</text><text x="{LEFT + 8}" y="{HEAD_H + ROW_H / 2 + 4:.0f}" font-size="11" '
               f'fill="#777">initial state</text>')
    for k, st in enumerate(trace.steps):
        y = HEAD_H + ROW_H * (k + 1)
        if st.violating:
            out.append(f'<rect x="0" y="{y}" width="{width:.0f}" height="{ROW_H}" fill="#fdecea" opacity="0.6"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y + ROW_H / 2 + 4:.0f}" text-anchor="end" font-size="11" '
                   f'fill="{"#c62828" if st.violating else "#777"}">{st.index}</text>')
        x = xs[st.column]
        # arrows first, so the boxes sit on top of them
        for j, tgt in enumerate(st.ipi_targets):
            if tgt in xs:
                yy = y + 12 + 8 * j if len(st.ipi_targets) > 1 else y + ROW_H / 2
                sign = 1 if xs[tgt] > x else -1
                out.append(_arrow(x + sign * BOX_W / 2, xs[tgt] - sign * 8, yy, "ipi", "IPI"))
        if st.step == "ipi_handler":
            for wr in acknowledged(trace, k):
                if wr in xs:
                    sign = 1 if xs[wr] > x else -1
                    out.append(_arrow(x + sign * BOX_W / 2, xs[wr] - sign * (BOX_W / 2 + 2), y + ROW_H / 2,
                                      "ack", "ack", dashed=True))
        out.append(_box(x, y, st))
    out.append("</svg>")
    return "".join(out)


def state_table(trace: Trace) -> str:
    """The state after each step, one row per step (row 0: the initial state), changed values marked."""
    keys = list(trace.initial)
    for st in trace.steps:
        for k in st.state:
            if k not in keys:
                keys.append(k)
    head = "".join(f"<th>{escape(k)}</th>" for k in keys)
    rows = ['<tr class="initial" data-step="0">' + "".join(f"<td>{escape(trace.initial.get(k, ''))}</td>"
                                                           for k in keys) + "</tr>"]
    prev = trace.initial
    for st in trace.steps:
        cells = []
        for k in keys:
            v = st.state.get(k, "")
            cls = ' class="chg"' if v != prev.get(k, "") else ""
            cells.append(f"<td{cls}>{escape(v)}</td>")
        rows.append(f'<tr class="{"viol" if st.violating else "row"}" data-step="{st.index}" '
                    f'id="state-{st.index}">' + "".join(cells) + "</tr>")
        prev = st.state
    return (f'<table class="state" aria-label="state after each step"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def in_cycle(trace: Trace, index: int) -> bool:
    """Whether 1-based step `index` is in the repeating part of a lasso trace."""
    return trace.loop_start is not None and index > trace.loop_start


def cycle_text(trace: Trace) -> str:
    """One sentence on the lasso's cycle (empty for a trace that is not a lasso)."""
    if trace.loop_start is None:
        return ""
    n = len(trace.steps)
    if trace.loop_start >= n:
        return f"After step {n} the run stays in the last state forever (a cycle of no step)."
    return (f"A lasso: steps {trace.loop_start + 1} to {n} (marked &#8635;, green) form the cycle, which returns "
            f"to the state after step {trace.loop_start} and repeats forever.")


def steps_list(trace: Trace) -> str:
    """Every step in words (what a screen reader or a text search finds)."""
    items = []
    for st in trace.steps:
        what = f"{st.actor}: <b>{escape(st.step)}</b>{' (skipped)' if st.skipped else ''} -- " \
               f"<code>{escape(st.function)}</code>: {escape(st.text)}"
        if st.ipi_targets:
            what += f" -&gt; IPI to {escape(', '.join(st.ipi_targets))}"
        if st.note:
            what += f" <i>({escape(st.note)})</i>"
        cls = ' class="violating"' if st.violating else ""
        if in_cycle(trace, st.index):
            cls = ' class="cycle"'
            what += " <i>(in the cycle that repeats forever)</i>"
        items.append(f'<li value="{st.index}"{cls} data-step="{st.index}">{what}</li>')
    return "<ol class=\"steps\">" + "".join(items) + "</ol>"


def render(trace: Trace, *, spec_name: str, description: str = "", property_doc: str = "",
           lanes: Sequence[str] | None = None, verdict: str = "", generator: str = "slabproof") -> str:
    """The whole page for one trace (see the module docstring)."""
    lanes = list(lanes) if lanes else lanes_of(trace)
    is_cex = trace.kind == "counterexample"
    kind = "Counterexample" if is_cex else "Witness"
    title = f"{kind} for {trace.property} -- {spec_name}"
    prop_line = (f"<b>{'Violated' if is_cex else 'Witnessed'} property:</b> <code>{escape(trace.property)}</code>"
                 + (f" -- {escape(property_doc)}" if property_doc else ""))
    viol = next((s for s in trace.steps if s.violating), None)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(kind)} for <code>{escape(trace.property)}</code></h1>",
        f'<p class="sub">spec <b>{escape(spec_name)}</b>' + (f" -- {escape(description)}" if description else "")
        + (f" -- verdict: <b>{escape(verdict)}</b>" if verdict else "") + "</p>",
        f'<div class="verdict{"" if is_cex else " witness"}"><p>{prop_line}</p>'
        f"<p>{escape(trace.conclusion)}</p>"
        + (f'<p>The violating step is <a href="#step-{viol.index}">step {viol.index}</a> '
           f"({escape(viol.actor)}: {escape(viol.step)}), in red.</p>" if viol else "")
        + f"<p>{trace.length} steps" + (" plus the violating one" if viol else "") + ".</p>"
        + (f'<p class="lasso">{cycle_text(trace)}</p>' if trace.loop_start is not None else "") + "</div>",
        '<p class="legend"><span>boxes: one step of one actor, with its kernel function</span>'
        '<span style="color:#1565c0">&#8594; IPI sent by kick_all_cpus_sync()</span>'
        '<span style="color:#2e7d32">&#8672; acknowledged by the IPI handler</span>'
        '<span style="color:#777">dashed box: step skipped by its condition</span>'
        '<span>yellow cell: changed by that step</span></p>',
        '<div class="wrap"><div class="chart">', svg_chart(trace, lanes), "</div>",
        '<div class="states">', state_table(trace), "</div></div>",
        "<h2>Steps</h2>", steps_list(trace),
        f"<footer>Generated by {escape(generator)} from the model's trace; kernel functions as of v4.11/v4.12.</footer>",
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts)
