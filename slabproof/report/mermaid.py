"""A counterexample (or witness) as a Mermaid ``sequenceDiagram``, for Markdown.

One participant per writer and per CPU; each step is a note over its actor's
lane (number, step, kernel function); IPIs are arrows from the writer to
every CPU it kicks, acknowledgements dashed arrows back; the violating step
sits in a red ``rect``. This is a report: it renders `results.Trace` data.
"""

from __future__ import annotations

from typing import Sequence

from slabproof.report.html import acknowledged, lanes_of
from slabproof.results import Trace

_CODES = {"#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;", ":": "#58;", "%": "#37;", "&": "#38;",
          "\n": " "}


def _text(s: str) -> str:
    """Mermaid message text: entity codes for the characters its grammar treats specially (one pass)."""
    return "".join(_CODES.get(ch, ch) for ch in s)


def render(trace: Trace, lanes: Sequence[str] | None = None, spec_name: str = "") -> str:
    """The diagram's source (without Markdown fences)."""
    lanes = list(lanes) if lanes else lanes_of(trace)
    kind = "Counterexample" if trace.kind == "counterexample" else "Witness"
    title = f"{kind} for {trace.property}" + (f" ({spec_name})" if spec_name else "")
    out = ["sequenceDiagram", f"    title {_text(title)}"]
    for lane in lanes:
        out.append(f"    participant {lane}")
    for k, st in enumerate(trace.steps):
        name = st.step + (" (skipped)" if st.skipped else "")
        if st.actor.endswith(".reaper"):
            name = "reaper " + name
        detail = st.note if (st.skipped or st.violating) and st.note else st.text
        note = f"{_text(f'{st.index}. {name}')}<br/>{_text(st.function)}<br/>{_text(detail)}"
        if st.violating:
            out.append("    rect rgb(253, 220, 216)")
            out.append(f"    Note over {st.column}: VIOLATION {note}")
            out.append("    end")
        else:
            out.append(f"    Note over {st.column}: {note}")
        for tgt in st.ipi_targets:
            if tgt in lanes:
                out.append(f"    {st.column}->>{tgt}: IPI")
        if st.step == "ipi_handler":
            for wr in acknowledged(trace, k):
                if wr in lanes:
                    out.append(f"    {st.column}-->>{wr}: ack")
    out.append(f"    Note over {lanes[0]},{lanes[-1]}: {_text(trace.conclusion)}")
    return "\n".join(out) + "\n"
