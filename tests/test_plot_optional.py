"""matplotlib is optional (`pip install 'slabproof[plot]'`): without it `ipis` prints its tables and leaves out
the default ipis.png with a one-line note (exit 0); a plot asked for by name (--png FILE) is bad input (exit 2)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from slabproof.cli import main
from slabproof.report import teach

SMALL = ["ipis", "--cpus", "2", "--memcgs", "5", "--sweep-memcgs", "5"]


@pytest.fixture
def no_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError


def test_plot_available_with_the_test_extra() -> None:
    pytest.importorskip("matplotlib")
    assert teach.plot_unavailable() is None


def test_default_plot_left_out_with_a_note(no_matplotlib: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(SMALL) == 0
    out, err = capsys.readouterr()
    assert "always" in out and "if-prev" in out  # the table is still printed
    assert err.count("\n") == 1 and "ipis.png" in err and "pip install 'slabproof[plot]'" in err, err
    assert not list(tmp_path.iterdir())


def test_named_plot_without_matplotlib_is_bad_input(no_matplotlib: None, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "p.png"
    assert main([*SMALL, "--png", str(png)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "--png" in err and "slabproof[plot]" in err, err
    assert not png.exists()


def test_no_png_needs_no_matplotlib(no_matplotlib: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([*SMALL, "--no-png"]) == 0
    assert capsys.readouterr().err == ""
