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
from typing import Callable, Sequence

from slabproof.report import glossary
from slabproof.results import Trace, TraceStep

LANE_W = 220  # px between lanes
MIN_ROW_H = 60  # px per step at least; a row grows with its wrapped text
LINE_H = 16  # px per line of box text
HEAD_H = 40  # px of lane headers; the pinned state table's header uses the same height
LEFT = 44  # px for the step numbers
BOX_W = LANE_W - 16
CHARS = 24  # characters of 12 px text that surely fit one line of a box (for the row heights)

_CSS = f"""
:root {{ --red: #c62828; --blue: #1565c0; --grey: #666; }}
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; font-size: 15px;
  max-width: 1400px; }}
h1 {{ font-size: 22px; margin: 0 0 4px 0; }}
h2 {{ font-size: 18px; }}
.sub {{ color: #555; margin: 0 0 12px 0; }}
.story {{ font-size: 16px; line-height: 1.5; background: #fffbe6; border-left: 4px solid #f9a825; padding: 8px 12px; }}
.verdict {{ border-left: 4px solid var(--red); background: #fdecea; padding: 8px 12px; margin: 8px 0 16px 0; }}
.verdict.witness {{ border-color: var(--blue); background: #e8f0fb; }}
.legend span {{ margin-right: 18px; display: inline-block; }}
.idle {{ color: var(--grey); }}
.wrap {{ display: flex; flex-wrap: wrap; align-items: flex-start; gap: 12px; }}
.compare {{ display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }}
.compare > section {{ flex: 1 1 760px; min-width: 0; }}
.chart {{ flex: none; max-width: 100%; overflow-x: auto; }}
.states {{ overflow-x: auto; max-width: 100%; }}
table.state {{ border-collapse: collapse; font-size: 12px; font-family: ui-monospace, Menlo, monospace; }}
table.state th {{ box-sizing: border-box; padding: 2px 6px; white-space: nowrap; border-bottom: 1px solid #999;
  text-align: left; vertical-align: bottom; background: #fafafa; }}
table.state td {{ box-sizing: border-box; padding: 2px 6px; white-space: nowrap; border-bottom: 1px solid #eee; }}
table.pinned th {{ height: {HEAD_H}px; }}
li.cycle {{ color: #2e7d32; }}
li.cycle::marker {{ content: "\\21BB  " counter(list-item) ". "; }}
table.state td.chg {{ background: #fff3c4; font-weight: 600; }}
table.state tr.viol td {{ background: #fdecea; }}
table.state tr.viol td.chg {{ background: #f8c4c0; }}
.boxtext {{ font-size: 12px; line-height: {LINE_H}px; text-align: center; overflow-wrap: anywhere;
  padding: 3px 4px; box-sizing: border-box; height: 100%; }}
.boxtext b {{ font-size: 13px; }}
.boxtext .fn {{ color: #1565c0; font-family: ui-monospace, Menlo, monospace; }}
.boxtext .detail {{ color: #444; }}
.violating .boxtext b {{ color: #c62828; }}
.hl rect.box {{ stroke-width: 3; }}
tr.hl td {{ outline: 1px solid var(--blue); }}
svg text {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 12px; }}
a.term {{ color: inherit; text-decoration: underline dotted; }}
dl.glossary dt {{ font-weight: 600; margin-top: 6px; }}
dl.glossary dd {{ margin-left: 20px; }}
footer {{ color: #666; font-size: 12px; margin-top: 16px; }}
"""

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


def _lines(text: str, n: int = CHARS) -> int:
    """Lines `text` takes when wrapped at about `n` characters (an estimate on the safe side)."""
    lines, cur = 1, 0
    for word in text.split():
        w = len(word)
        if cur and cur + 1 + w > n:
            lines, cur = lines + 1, 0
        while w > n:  # a long word breaks anywhere (overflow-wrap: anywhere)
            lines, w = lines + 1, w - n
        cur = cur + (1 if cur else 0) + w
    return lines


def _detail(st: TraceStep) -> str:
    return st.note if (st.skipped or st.violating) and st.note else st.text


def _name(st: TraceStep) -> str:
    name = st.step + (" (skipped)" if st.skipped else "")
    return "reaper: " + name if st.actor.endswith(".reaper") else name


def row_heights(trace: Trace) -> list[int]:
    """The height of each step's row: its box's wrapped text, never cut."""
    out = []
    for st in trace.steps:
        n = _lines(_name(st)) + _lines(st.function) + _lines(_detail(st))
        out.append(max(MIN_ROW_H, n * LINE_H + 18))
    return out


def _arrow(x1: float, x2: float, y: float, cls: str, label: str, dashed: bool = False) -> str:
    d = ' stroke-dasharray="5 3"' if dashed else ""
    mid = (x1 + x2) / 2
    return (f'<g class="{cls}"><line x1="{x1:.0f}" y1="{y:.0f}" x2="{x2:.0f}" y2="{y:.0f}" '
            f'marker-end="url(#{cls}-head)"{d}/>'
            f'<text x="{mid:.0f}" y="{y - 3:.0f}" text-anchor="middle" font-size="12">{escape(label)}</text></g>')


def _box(x: float, y: float, h: int, st: TraceStep, prefix: str = "") -> str:
    fill, stroke, dash = "#ffffff", "#555", ""
    if st.skipped:
        fill, stroke, dash = "#f4f4f4", "#aaa", ' stroke-dasharray="4 3"'
    if st.actor.endswith(".ipi") or st.step == "ipi_handler":
        fill, stroke = "#e8f0fb", "#1565c0"
    if st.actor.endswith(".reaper"):
        fill = "#f3ecfa"
    if st.violating:
        fill, stroke = "#fdecea", "#c62828"
    tip = f"{st.index}. {st.actor}: {st.step}{' (skipped)' if st.skipped else ''}\n{st.function}\n{st.text}"
    if st.note:
        tip += f"\n{st.note}"
    bx = x - BOX_W / 2
    return (f'<g class="step{" violating" if st.violating else ""}" data-step="{st.index}" '
            f'id="{prefix}step-{st.index}">'
            f"<title>{escape(tip)}</title>"
            f'<rect class="box" x="{bx:.0f}" y="{y + 4:.0f}" width="{BOX_W}" height="{h - 8}" rx="6" '
            f'fill="{fill}" stroke="{stroke}"{dash}/>'
            f'<foreignObject x="{bx:.0f}" y="{y + 4:.0f}" width="{BOX_W}" height="{h - 8}">'
            f'<div class="boxtext"><b>{escape(_name(st))}</b><br><span class="fn">{escape(st.function)}</span><br>'
            f'<span class="detail">{escape(_detail(st))}</span></div></foreignObject></g>')


def _blocked(trace: Trace) -> list[tuple[str, int, int]]:
    """(writer lane, first row, last row) of each wait: from a kick that sent IPIs to that writer's next
    csd_lock_wait step (the step that ends the wait)."""
    out = []
    for k, st in enumerate(trace.steps):
        if st.step == "smp_call_function" and st.ipi_targets and not st.skipped:
            end = next((j for j in range(k + 1, len(trace.steps)) if trace.steps[j].column == st.column
                        and trace.steps[j].step == "csd_lock_wait"), None)
            if end is not None:
                out.append((st.column, k, end))
    return out


def svg_chart(trace: Trace, lanes: Sequence[str], prefix: str = "") -> str:
    """The message-sequence chart alone (an `<svg>` element); `prefix` keeps ids apart when a page has two."""
    lanes = list(lanes)
    xs = {lane: LEFT + LANE_W / 2 + i * LANE_W for i, lane in enumerate(lanes)}
    hs = row_heights(trace)
    ys = [HEAD_H + MIN_ROW_H]
    for h in hs:
        ys.append(ys[-1] + h)
    width = LEFT + LANE_W * len(lanes)
    height = ys[-1] + 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
           f'viewBox="0 0 {width:.0f} {height}" role="img" aria-label="message sequence chart">',
           "<defs>"]
    for cls, col in (("ipi", "#1565c0"), ("ack", "#2e7d32")):
        out.append(f'<marker id="{prefix}{cls}-head" markerWidth="8" markerHeight="8" refX="7" refY="4" '
                   f'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="{col}"/></marker>')
    out.append("</defs>")
    out.append('<style>.ipi line { stroke: #1565c0; stroke-width: 1.6; } .ipi text { fill: #1565c0; } '
               '.ack line { stroke: #2e7d32; stroke-width: 1.4; } .ack text { fill: #2e7d32; }</style>')
    for lane, x in xs.items():
        col = "#37474f" if lane.startswith("writer") else "#455a64"
        out.append(f'<rect x="{x - BOX_W / 2:.0f}" y="4" width="{BOX_W}" height="{HEAD_H - 10}" rx="4" fill="{col}"/>'
                   f'<text x="{x:.0f}" y="{HEAD_H / 2 + 4:.0f}" text-anchor="middle" font-size="14" fill="#fff" '
                   f'font-weight="600">{escape(lane)}</text>'
                   f'<line x1="{x:.0f}" y1="{HEAD_H - 6}" x2="{x:.0f}" y2="{height - 4}" stroke="#bbb" '
                   f'stroke-dasharray="3 4"/>')
    out.append(f'<text x="{LEFT - 8}" y="{HEAD_H + MIN_ROW_H / 2 + 4:.0f}" text-anchor="end" font-size="12" '
               f'fill="#666">0</text><text x="{LEFT + 8}" y="{HEAD_H + MIN_ROW_H / 2 + 4:.0f}" font-size="12" '
               f'fill="#666">initial state</text>')
    for lane, k0, k1 in _blocked(trace):
        if lane in xs:
            x, y0, y1 = xs[lane], ys[k0 + 1], ys[k1]
            out.append(f'<g class="blocked"><rect x="{x - 6:.0f}" y="{y0:.0f}" width="12" height="{y1 - y0:.0f}" '
                       f'fill="#ffcc80" stroke="#ef6c00"/><text x="{x + 10:.0f}" y="{(y0 + y1) / 2:.0f}" '
                       f'font-size="12" fill="#e65100">blocked in csd_lock_wait</text></g>')
    for k, st in enumerate(trace.steps):
        y, h = ys[k], hs[k]
        if st.violating:
            out.append(f'<rect x="0" y="{y}" width="{width:.0f}" height="{h}" fill="#fdecea" opacity="0.6"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y + h / 2 + 4:.0f}" text-anchor="end" font-size="12" '
                   f'fill="{"#c62828" if st.violating else "#666"}">{st.index}</text>')
        x = xs[st.column]
        for j, tgt in enumerate(st.ipi_targets):
            if tgt in xs:
                yy = y + 14 + 14 * j if len(st.ipi_targets) > 1 else y + h / 2
                sign = 1 if xs[tgt] > x else -1
                out.append(_arrow(x + sign * BOX_W / 2, xs[tgt] - sign * 8, yy, "ipi", "IPI")
                           .replace("url(#ipi-head)", f"url(#{prefix}ipi-head)"))
        if st.step == "ipi_handler":
            for wr in acknowledged(trace, k):
                if wr in xs:
                    sign = 1 if xs[wr] > x else -1
                    out.append(_arrow(x + sign * BOX_W / 2, xs[wr] - sign * 10, y + h / 2, "ack", "ack",
                                      dashed=True).replace("url(#ack-head)", f"url(#{prefix}ack-head)"))
        out.append(_box(x, y, h, st, prefix))
    out.append("</svg>")
    return "".join(out)


def _keys(trace: Trace) -> list[str]:
    keys = list(trace.initial)
    for st in trace.steps:
        for k in st.state:
            if k not in keys:
                keys.append(k)
    return keys


def state_table(trace: Trace, keys: Sequence[str] | None = None, heights: Sequence[int] | None = None,
                prefix: str = "", css: str = "state") -> str:
    """The state after each step, one row per step (row 0: the initial state), changed values marked.

    `keys` picks the columns (default: every variable); `heights` gives each row's height (the pinned
    table's rows line up with the chart's)."""
    keys = list(keys) if keys is not None else _keys(trace)
    head = "".join(f"<th>{_column(k)}</th>" for k in keys)
    h0 = f' style="height:{MIN_ROW_H}px"' if heights is not None else ""
    rows = [f'<tr class="initial" data-step="0"{h0}>' + "".join(f"<td>{escape(trace.initial.get(k, ''))}</td>"
                                                                for k in keys) + "</tr>"]
    prev = trace.initial
    for i, st in enumerate(trace.steps):
        cells = []
        for k in keys:
            v = st.state.get(k, "")
            cls = ' class="chg"' if v != prev.get(k, "") else ""
            cells.append(f"<td{cls}>{escape(v)}</td>")
        hh = f' style="height:{heights[i]}px"' if heights is not None else ""
        rows.append(f'<tr class="{"viol" if st.violating else "row"}" data-step="{st.index}" '
                    f'id="{prefix}state-{st.index}"{hh}>' + "".join(cells) + "</tr>")
        prev = st.state
    return (f'<table class="{css}" aria-label="state after each step"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _column(key: str) -> str:
    """A state-table header, its variable linked to the glossary."""
    base = key.split("[", 1)[0]
    return glossary.link(base, key)


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


def steps_list(trace: Trace, prefix: str = "") -> str:
    """Every step in words, in full (what a screen reader or a text search finds)."""
    items = []
    for st in trace.steps:
        what = f"{escape(st.actor)}: <b>{glossary.link(st.step)}</b>{' (skipped)' if st.skipped else ''} -- " \
               f"<code>{escape(st.function)}</code>: {escape(st.text)}"
        if st.ipi_targets:
            what += f" -&gt; {glossary.link('IPI')} to {escape(', '.join(st.ipi_targets))}"
        if st.note:
            what += f" <i>({escape(st.note)})</i>"
        cls = ' class="violating"' if st.violating else ""
        if in_cycle(trace, st.index):
            cls = ' class="cycle"'
            what += " <i>(in the cycle that repeats forever)</i>"
        items.append(f'<li value="{st.index}"{cls} data-step="{st.index}" id="{prefix}li-{st.index}">{what}</li>')
    return "<ol class=\"steps\">" + "".join(items) + "</ol>"


# ---------------------------------------------------------------------------
# what matters: the lanes, the pinned columns, the story (all from the trace's data)


def _first(trace: Trace, pred: Callable[[TraceStep], bool], start: int = 0, stop: int | None = None) -> int | None:
    stop = len(trace.steps) if stop is None else stop
    return next((k for k in range(start, stop) if pred(trace.steps[k])), None)


def _before(trace: Trace, k: int) -> dict[str, str]:
    return trace.steps[k - 1].state if k > 0 else trace.initial


def _became(trace: Trace, key: str, value: str, start: int = 0) -> int | None:
    """The first step from `start` after which `key` has `value` (and had not before it)."""
    return _first(trace, lambda st: st.state.get(key) == value and
                  _before(trace, st.index - 1).get(key) != value, start)


def focus(trace: Trace) -> tuple[str, str]:
    """(the CPU the story is about, the array cache it holds): the violating step's CPU and what it touches,
    else the first CPU that holds an array cache when the writer publishes a new one."""
    viol = next((st for st in trace.steps if st.violating), None)
    if viol is not None and viol.column.startswith("cpu"):
        return viol.column, _before(trace, viol.index - 1).get(f"ac[{viol.column}]", "")
    for st in trace.steps:
        if st.step == "publish_cpu_cache":
            before = _before(trace, st.index - 1)
            for key, v in before.items():
                if key.startswith("ac[cpu") and v not in ("-", "NULL") and st.state.get(f"ac_state[{v}]") == "retired":
                    return key[3:-1], v
    return "", ""


def ordered_lanes(trace: Trace, lanes: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the lanes to draw, the idle ones collapsed): writers, the focus CPU, then every other lane with a step
    or an IPI; a CPU with neither is idle throughout."""
    cpu, _ = focus(trace)
    active = {st.column for st in trace.steps} | {t for st in trace.steps for t in st.ipi_targets}
    writers = [lane for lane in lanes if lane.startswith("writer")]
    rest = [lane for lane in lanes if not lane.startswith("writer")]
    first = [cpu] if cpu in rest else []
    shown = writers + first + [lane for lane in rest if lane in active and lane not in first]
    return shown, [lane for lane in rest if lane not in shown]


def pinned_keys(trace: Trace) -> list[str]:
    """The state columns the story depends on: the focus CPU's IRQs and held array cache, that array cache's
    lifecycle state, the writer's prev, and the IPI flags of the CPUs the writer kicks."""
    cpu, ac = focus(trace)
    keys = _keys(trace)
    want = [f"irqs_off[{cpu}]", f"ac[{cpu}]", f"ac_state[{ac}]", "prev[0]"]
    want += [k for k in keys if k.startswith("ipi") and any(k.endswith(f"[{t}]") for st in trace.steps
                                                           for t in st.ipi_targets)]
    return [k for k in dict.fromkeys(want) if k in keys]


def story(trace: Trace) -> str:
    """One or two sentences telling the trace in kernel terms, from its steps and states ("" if none fits)."""
    cpu, ac = focus(trace)
    if not cpu or not ac:
        return ""
    load = _became(trace, f"ac[{cpu}]", ac)
    off = _first(trace, lambda st: st.column == cpu and st.step == "local_irq_save", 0, load)
    pub = _became(trace, f"ac_state[{ac}]", "retired")
    drained = _became(trace, f"ac_state[{ac}]", "drained")
    freed = _became(trace, f"ac_state[{ac}]", "freed")
    if load is None or pub is None:
        return ""
    writer = trace.steps[pub].column
    cache = ac.split("#")[0]
    new = trace.steps[pub].state.get(f"cpu_cache[{cache}]", "a new one")
    s = (f"{cpu} turns IRQs off" + (f" (step {off + 1})" if off is not None else "")
         + f" and loads {cache}'s array cache {ac} (step {load + 1}, cpu_cache_get()). "
         f"While {cpu} still holds it, {writer} replaces {cache}'s array cache by {new} (step {pub + 1}, "
         f"slabinfo_write() -> __do_tune_cpucache())")
    kick = _first(trace, lambda st: st.column == writer and st.step == "smp_call_function", pub)
    if kick is not None and trace.steps[kick].skipped:
        s += f", sends no IPI (step {kick + 1} skipped: {trace.steps[kick].note or 'its condition is false'})"
    elif kick is not None:
        k = trace.steps[kick]
        s += f", sends an IPI to {', '.join(k.ipi_targets)} (step {kick + 1}) and waits in csd_lock_wait()"
        acks = [j for j in range(kick + 1, len(trace.steps)) if trace.steps[j].step == "ipi_handler"
                and writer in acknowledged(trace, j)]
        mine = next((j for j in acks if trace.steps[j].column == cpu), None)
        restore = _first(trace, lambda st: st.column == cpu and st.step == "local_irq_restore", kick)
        if mine is not None and restore is not None and restore < mine:
            s += (f"; {cpu} acknowledges only after its local_irq_restore() (step {restore + 1}, "
                  f"acknowledged at step {mine + 1}), dropping {ac}")
    if drained is not None:
        s += f"; the writer then drains {ac} (step {drained + 1}, free_block())"
    if freed is not None:
        s += f" and frees it (step {freed + 1}, free_percpu())"
    viol = next((st for st in trace.steps if st.violating), None)
    if viol is not None:
        s += f". Then {cpu} touches {ac} (step {viol.index}): {trace.property} is violated."
    else:
        s += ", when nobody holds it any more."
    return s


def _figure(trace: Trace, lanes: Sequence[str], prefix: str = "") -> str:
    shown, idle = ordered_lanes(trace, lanes)
    hs = row_heights(trace)
    pins = pinned_keys(trace)
    idle_line = (f'<p class="idle">{escape(", ".join(idle))}: idle throughout (no step, no IPI), collapsed.</p>'
                 if idle else "")
    pinned = (f'<div class="pins">{state_table(trace, pins, hs, prefix + "pin-", "state pinned")}</div>'
              if pins else "")
    return (idle_line + f'<div class="wrap"><div class="chart">{svg_chart(trace, shown, prefix)}</div>{pinned}</div>'
            f"<details><summary>every state variable, step by step</summary><div class=\"states\">"
            f"{state_table(trace, prefix=prefix)}</div></details>"
            f"<h3>Steps</h3>{steps_list(trace, prefix)}")


def _summary(trace: Trace, property_doc: str, prefix: str = "") -> str:
    is_cex = trace.kind == "counterexample"
    prop_line = (f"<b>{'Violated' if is_cex else 'Witnessed'} property:</b> <code>{glossary.link(trace.property)}"
                 f"</code>" + (f" -- {escape(property_doc)}" if property_doc else ""))
    viol = next((s for s in trace.steps if s.violating), None)
    tale = story(trace)
    return (f'<div class="verdict{"" if is_cex else " witness"}"><p>{prop_line}</p>'
            f"<p>{escape(trace.conclusion)}</p>"
            + (f'<p>The violating step is <a href="#{prefix}step-{viol.index}">step {viol.index}</a> '
               f"({escape(viol.actor)}: {escape(viol.step)}), in red.</p>" if viol else "")
            + f"<p>{trace.length} steps" + (" plus the violating one" if viol else "") + ".</p>"
            + (f'<p class="lasso">{cycle_text(trace)}</p>' if trace.loop_start is not None else "") + "</div>"
            + (f'<p class="story">{escape(tale)}</p>' if tale else ""))


_LEGEND = ('<p class="legend"><span>boxes: one step of one actor, with its kernel function</span>'
           f'<span style="color:#1565c0">&#8594; {glossary.link("IPI")} sent by {glossary.link("kick_all_cpus_sync()")}'
           '</span>'
           f'<span style="color:#2e7d32">&#8672; acknowledged by the {glossary.link("IPI handler")}</span>'
           f'<span style="color:#e65100">orange bar: the writer blocked in {glossary.link("csd_lock_wait")}</span>'
           '<span style="color:#666">dashed box: step skipped by its condition</span>'
           '<span>yellow cell: changed by that step</span></p>')


def render(trace: Trace, *, spec_name: str, description: str = "", property_doc: str = "",
           lanes: Sequence[str] | None = None, verdict: str = "", generator: str = "slabproof",
           compare: tuple[Trace, str, str, Sequence[str] | None] | None = None) -> str:
    """The whole page for one trace (see the module docstring).

    `compare` = (trace, spec name, description, lanes) of a second trace -- the patched run of the same
    scenario -- shown beside the first, each with its own story, chart and pinned columns."""
    lanes = list(lanes) if lanes else lanes_of(trace)
    is_cex = trace.kind == "counterexample"
    kind = "Counterexample" if is_cex else "Witness"
    title = f"{kind} for {trace.property} -- {spec_name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(kind)} for <code>{escape(trace.property)}</code></h1>",
        f'<p class="sub">spec <b>{escape(spec_name)}</b>' + (f" -- {escape(description)}" if description else "")
        + (f" -- verdict: <b>{escape(verdict)}</b>" if verdict else "") + "</p>",
        _LEGEND,
    ]
    first = _summary(trace, property_doc) + _figure(trace, lanes)
    if compare is None:
        parts.append(first)
    else:
        t2, name2, desc2, lanes2 = compare
        k2 = "Counterexample" if t2.kind == "counterexample" else "Witness"
        parts.append(f'<div class="compare"><section><h2>{escape(spec_name)}</h2>{first}</section>'
                     f"<section><h2>{escape(name2)}: {escape(k2.lower())} for <code>{escape(t2.property)}</code>"
                     f'</h2><p class="sub">{escape(desc2)}</p>{_summary(t2, "", "b-")}'
                     f"{_figure(t2, list(lanes2) if lanes2 else lanes_of(t2), 'b-')}</section></div>")
    parts += [
        glossary.html_section(),
        f"<footer>Generated by {escape(generator)} from the model's trace; kernel functions as of v4.11/v4.12."
        "</footer>",
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts)
