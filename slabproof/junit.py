"""JUnit XML for CI: one test case per (spec, engine), rendered from the runner's outcomes.

The document is the common JUnit dialect that GitHub Actions, GitLab, Jenkins
and others read: ``<testsuites>`` holding one ``<testsuite name="slabproof">``
holding one ``<testcase classname="slabproof.SPEC" name="ENGINE">`` per engine
run on a spec. A test case

* passes when the engine's verdict is the spec's expected verdict (and, for
  the explicit engine, the expected set of violated properties and witnesses);
* carries a ``<failure type="mismatch">`` when it is not, or when engines
  disagree -- the message is the mismatch in one line, the body the shortest
  counterexample, step by step;
* carries an ``<error type="unknown">`` when the engine could not decide (a
  limit, a time-out, an interrupt): never a pass, so UNKNOWN is not mistaken
  for safe.

Every test case has a ``<system-out>`` with the coverage: states, transitions,
depth. Nothing here runs an engine or prints.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Sequence

from .results import EngineResult, SpecOutcome, Trace, Verdict


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(root: ET.Element) -> None:
    """Replace, in every attribute and text, the characters XML 1.0 cannot hold (odd file names)."""
    for el in root.iter():
        for k, v in el.attrib.items():
            el.set(k, _NOT_XML.sub("\ufffd", v))
        if el.text:
            el.text = _NOT_XML.sub("\ufffd", el.text)


def _coverage(r: EngineResult) -> str:
    parts = [f"verdict {r.verdict.value}"]
    if r.violated:
        parts.append("violates " + ", ".join(r.violated))
    if r.reason:
        parts.append(r.reason)
    parts.append(f"{r.states:,} states, {r.transitions:,} transitions, depth {r.depth}")
    if not r.complete:
        parts.append("incomplete")
    return "; ".join(parts)


def trace_text(t: Trace) -> str:
    """A trace as plain numbered lines (for failure messages)."""
    lines = [f"{t.kind} for {t.property}:"]
    for s in t.steps:
        mark = "!" if s.violating else " "
        if s.skipped:
            lines.append(f"{mark}{s.index:3d}. {s.actor:<12} {s.step + ' (skipped)':<32} {s.note}")
            continue
        note = f" -- {s.note}" if s.note and s.violating else ""
        lines.append(f"{mark}{s.index:3d}. {s.actor:<12} {s.step:<32} {s.text}{note}")
    lines.append(t.conclusion)
    return "\n".join(lines)


def _failure(o: SpecOutcome, r: EngineResult) -> str:
    """Why this engine's result fails its spec, in one line ('' if it does not)."""
    if o.disagreement and r.verdict != Verdict.UNKNOWN:
        return o.disagreement
    if r.verdict == Verdict.UNKNOWN:
        return ""
    exp = "safe" if o.expected == "safe" else "violated"
    if r.verdict.value != exp:
        viol = f" ({', '.join(r.violated)})" if r.violated else ""
        return f"{r.engine} says {r.verdict.value}{viol}, expected {o.expected}"
    if r.engine == "explicit" and not o.matches and not any(x.verdict == Verdict.UNKNOWN for x in o.results):
        return o.mismatch
    return ""


def to_junit(outcomes: Sequence[SpecOutcome], suite: str = "slabproof") -> str:
    """The JUnit XML document (a string, with an XML declaration) for these outcomes."""
    root = ET.Element("testsuites", name=suite)
    ts = ET.SubElement(root, "testsuite", name=suite)
    tests = failures = errors = 0
    total = 0.0
    for o in outcomes:
        for r in o.results:
            tests += 1
            total += r.seconds
            tc = ET.SubElement(ts, "testcase", classname=f"{suite}.{o.name}", name=r.engine, file=o.spec,
                               time=f"{r.seconds:.3f}")
            why = _failure(o, r)
            if r.verdict == Verdict.UNKNOWN:
                errors += 1
                e = ET.SubElement(tc, "error", type="unknown",
                                  message=f"{r.engine}: unknown ({r.reason or 'undecided'}) after {r.states:,} "
                                          f"states, depth {r.depth}; expected {o.expected}")
                e.text = _coverage(r)
            elif why:
                failures += 1
                f = ET.SubElement(tc, "failure", type="mismatch", message=why)
                cex = sorted((p.trace for p in r.properties if p.trace is not None and p.trace.kind == "counterexample"),
                             key=lambda t: t.length)
                f.text = trace_text(cex[0]) if cex else _coverage(r)
            out = ET.SubElement(tc, "system-out")
            out.text = f"{o.spec}: expected {o.expected}" + (
                f" ({', '.join(o.expected_violates)})" if o.expected_violates else "") + f"; {_coverage(r)}"
    for el in (root, ts):
        el.set("tests", str(tests))
        el.set("failures", str(failures))
        el.set("errors", str(errors))
        el.set("skipped", "0")
        el.set("time", f"{total:.3f}")
    _clean(root)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
