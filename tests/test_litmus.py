"""`slabproof litmus`: each ordering question's verdict comes from the explorer, and herd7 (LKMM) agrees."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from slabproof import cli, model
from slabproof.run import litmus

ROOT = Path(__file__).resolve().parents[1]


def herd7() -> str | None:
    local = ROOT.parent / "shared" / "tools" / "herd7" / "herd7"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("herd7")


needs_herd = pytest.mark.skipif(herd7() is None, reason="herd7 not found at ../shared/tools/herd7/herd7 or on PATH")


def test_verdicts_come_from_the_explorer() -> None:
    got = {a.question.name: a.verdict for a in map(litmus.answer, litmus.questions())}
    assert got == {
        "slabproof-memcg-publish+wmb+addr": "Never",
        "slabproof-memcg-publish+nowmb+addr": "Sometimes",
        "slabproof-publish+mb+kick": "Never",
        "slabproof-publish+nomb+kick": "Sometimes",
        "slabproof-tune-init+nowmb+publish": "Sometimes",
        "slabproof-tune-init+wmb+publish": "Never",
    }


def test_a_changed_model_changes_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Relaxed ordering planted back to FIFO: the no-wmb questions come out Never (so nothing is hard-coded)."""
    monkeypatch.setattr(model._Builder, "ordered_before",
                        lambda self, s: [e for e in self.sites if e.writer == s.writer and e.pos < s.pos])
    q = {q.name: q for q in litmus.questions()}
    assert litmus.answer(q["slabproof-memcg-publish+nowmb+addr"]).verdict == "Never"
    assert litmus.answer(q["slabproof-tune-init+nowmb+publish"]).verdict == "Never"


def test_files_state_the_verdict_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["litmus", str(tmp_path / "out")]) == 0
    files = sorted((tmp_path / "out").glob("*.litmus"))
    assert len(files) == len(litmus.questions())
    for f in files:
        lines = f.read_text().splitlines()
        assert lines[0] == f"C {f.stem}"
        first_comment = next(line for line in lines if line.startswith(" * "))
        assert first_comment in (" * slabproof: Never", " * slabproof: Sometimes")
        assert any(line.startswith("exists (") for line in lines)


@needs_herd
def test_herd7_agrees(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["litmus", str(tmp_path), "--herd", herd7()])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert f"{len(litmus.questions())} of {len(litmus.questions())} agree with herd7" in out


@needs_herd
def test_a_disagreement_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(model._Builder, "ordered_before",
                        lambda self, s: [e for e in self.sites if e.writer == s.writer and e.pos < s.pos])
    rc = cli.main(["litmus", str(tmp_path), "--herd", herd7()])
    out = capsys.readouterr().out
    assert rc == 1
    assert "DISAGREE" in out


def test_bad_herd_path_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["litmus", str(tmp_path), "--herd", str(tmp_path / "nope")]) == 2
    assert "--herd" in capsys.readouterr().err
