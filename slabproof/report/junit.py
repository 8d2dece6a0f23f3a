"""JUnit XML for CI, rendered from the runner's outcomes: the same policy as the exit status.

The document is the common JUnit dialect that GitHub Actions, GitLab, Jenkins
and others read, valid against the usual ``junit-10.xsd``: ``<testsuites>``
holding one ``<testsuite name="slabproof">`` holding, per spec,

* one ``<testcase classname="slabproof.SPEC" name="verdict">``: the gate's
  decision on the spec (`SpecOutcome.status`, set by `runner.decide`). A
  match passes; a mismatch is a ``<failure type="mismatch">``, engines that
  disagree a ``<failure type="disagree">`` (the message is the reason in one
  line, the body the shortest counterexample); an undecided spec (a property
  its expectation mentions decided by no engine) is an
  ``<error type="undecided">``, an interrupted one an
  ``<error type="interrupted">``: never a pass;
* one ``<testcase classname="slabproof.SPEC" name="ENGINE">`` per engine run
  on it: the engine's own result. It fails (``<failure>``) when one of the
  properties it decided contradicts the expectation or another engine; an
  engine whose verdict is UNKNOWN is ``<skipped type="undecided">`` with its
  reason (an ``<error type="unknown">`` with ``strict``, as ``--strict``
  exits 4); an interrupted engine is an ``<error type="interrupted">``.

So failures > 0 exactly when the exit status is 1 or 3 (3: some failure of
type "disagree"), and otherwise errors > 0 exactly when it is 4. Every test
case has a ``<system-out>`` with the spec's path and the coverage: states,
transitions, depth. Nothing here runs an engine or prints.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Sequence

from slabproof.results import INTERRUPTED, Decision, EngineResult, SpecOutcome, Status, Trace, Verdict

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


def _engine_failure(o: SpecOutcome, r: EngineResult) -> tuple[str, str]:
    """(type, message) when a property this engine decided contradicts the expectation or another engine
    (read from the combined verdict's evidence); ("", "") when none does."""
    v = o.combined
    if v is None or o.interrupted:
        return "", ""
    mine = [(p, e) for p in v.properties for e in p.by if e.engine == r.engine]
    for p, e in mine:
        if p.decision == Decision.CONFLICT:
            return "disagree", f"{r.engine}: {p.name} {_said(p.kind, e.holds)} ({e.text}); {o.disagreement}"
    for p, e in mine:
        value = _decision(p.kind, e.holds)
        if p.expected is not None and value != p.expected:
            return "mismatch", f"{r.engine}: {p.name} {_said(p.kind, e.holds)} ({e.text}), expected {p.expected.value}"
        if (p.expected is None and value == Decision.VIOLATED and o.expected_violates is not None
                and o.expected == "violated"):
            return "mismatch", (f"{r.engine}: {p.name} violated ({e.text}), expected only "
                                f"{', '.join(o.expected_violates)}")
    return "", ""


def _decision(kind: str, holds: bool) -> Decision:
    if kind == "always":
        return Decision.HOLDS if holds else Decision.VIOLATED
    return Decision.WITNESSED if holds else Decision.NO_WITNESS


def _said(kind: str, holds: bool) -> str:
    return _decision(kind, holds).value


def _spec_case(o: SpecOutcome) -> tuple[str, str, str]:
    """(element, type, message) of the spec's own test case; ("", "", "") when it passes."""
    if o.status == Status.DISAGREE:
        return "failure", "disagree", o.disagreement or o.mismatch
    if o.status == Status.MISMATCH:
        return "failure", "mismatch", o.mismatch
    if o.status == Status.UNDECIDED:
        return "error", "interrupted" if o.interrupted else "undecided", o.mismatch
    return "", "", ""


def _shortest_cex(results: Sequence[EngineResult]) -> Trace | None:
    cex = sorted((p.trace for r in results for p in r.properties
                  if p.trace is not None and p.trace.kind == "counterexample"), key=lambda t: t.length)
    return cex[0] if cex else None


def _expected_text(o: SpecOutcome) -> str:
    return f"{o.spec}: expected {o.expected}" + (
        f" ({', '.join(o.expected_violates)})" if o.expected_violates else "") + (
        f", witnesses {', '.join(o.expected_witnesses)}" if o.expected_witnesses else "")


def to_junit(outcomes: Sequence[SpecOutcome], suite: str = "slabproof", strict: bool = False) -> str:
    """The JUnit XML document (a string, with an XML declaration) for these outcomes."""
    root = ET.Element("testsuites", name=suite)
    ts = ET.SubElement(root, "testsuite", name=suite)
    tests = failures = errors = skipped = 0
    total = 0.0
    for o in outcomes:
        seconds = sum(r.seconds for r in o.results)
        total += seconds
        tests += 1
        tc = ET.SubElement(ts, "testcase", classname=f"{suite}.{o.name}", name="verdict", time=f"{seconds:.3f}")
        el, kind, message = _spec_case(o)
        if el:
            failures += el == "failure"
            errors += el == "error"
            f = ET.SubElement(tc, el, type=kind, message=message)
            cex = _shortest_cex(o.results) if el == "failure" else None
            f.text = trace_text(cex) if cex is not None else message
        out = ET.SubElement(tc, "system-out")
        how = "; ".join(f"{p.name}: {p.decision.value}" + (f" ({p.how})" if p.by else "")
                        for p in o.combined.properties) if o.combined is not None else ""
        out.text = f"{_expected_text(o)}; status {o.status.value}" + (f"; {how}" if how else "")
        for r in o.results:
            tests += 1
            tc = ET.SubElement(ts, "testcase", classname=f"{suite}.{o.name}", name=r.engine,
                               time=f"{r.seconds:.3f}")
            kind, why = _engine_failure(o, r)
            if r.reason == INTERRUPTED:
                errors += 1
                e = ET.SubElement(tc, "error", type="interrupted",
                                  message=f"{r.engine}: interrupted after {r.states:,} states, depth {r.depth}")
                e.text = _coverage(r)
            elif kind:
                failures += 1
                f = ET.SubElement(tc, "failure", type=kind, message=why)
                cex = _shortest_cex([r])
                f.text = trace_text(cex) if cex is not None else _coverage(r)
            elif r.verdict == Verdict.UNKNOWN:
                message = (f"{r.engine}: unknown ({r.reason or 'undecided'}) after {r.states:,} states, "
                           f"depth {r.depth}; expected {o.expected}")
                if strict:
                    errors += 1
                    e = ET.SubElement(tc, "error", type="unknown", message=message)
                else:
                    skipped += 1
                    e = ET.SubElement(tc, "skipped", type="undecided", message=message)
                e.text = _coverage(r)
            out = ET.SubElement(tc, "system-out")
            out.text = f"{_expected_text(o)}; {_coverage(r)}"
    for node, attrs in ((root, {}), (ts, {"skipped": str(skipped)})):
        node.set("tests", str(tests))
        node.set("failures", str(failures))
        node.set("errors", str(errors))
        for k, v in attrs.items():
            node.set(k, v)
        node.set("time", f"{total:.3f}")
    _clean(root)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
