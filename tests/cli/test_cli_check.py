"""Tests of ``cbn check`` and of the check catalogue (cbntheory.checks).

The command runs fast checks here (T1, T3-construction); exit statuses are exercised
with fake check modules injected into the catalogue, so a violated exact statement, a
violated conjectural one and a check that raises are all seen through the real CLI.
"""
from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from cbntheory import checks as proofs
from cbntheory.checks.verdicts import summarize
from cbntheory.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_catalogue_modules_exist_and_scripts_are_wrappers():
    modules = {p.stem for p in (ROOT / "cbntheory" / "proofs").glob("*.py")
               if not p.stem.startswith("_")}
    catalogue = {e.module for e in proofs.CHECKS}
    assert modules <= catalogue, f"uncatalogued check modules: {modules - catalogue}"
    for stem in modules:
        text = (ROOT / "proofs_checks" / f"{stem}.py").read_text()
        assert f"from cbntheory.checks.{stem} import main" in text
    labels = [e.label for e in proofs.CHECKS]
    assert len(labels) == len(set(labels))


def test_list_and_single_check(capsys):
    assert main(["check", "--list"]) == 0
    out = capsys.readouterr().out
    for label in ("T1", "T2", "T3-construction", "GLSS2018"):
        assert label in out
    assert main(["check", "T3-construction"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:2] == ["T3-construction", "exact"]
    assert "holds" in lines[0] and "margin" in lines[0]
    assert lines[-1].startswith("1 checks: 1 holds")


def test_prefix_selects_family_and_json(capsys):
    assert {e.label for e in proofs.find("t1")} >= {"T1"}
    assert all(e.label == "T1" or e.label.startswith("T1-") for e in proofs.find("T1"))
    assert main(["check", "t1_linear_cost", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["label"] for d in data] == ["T1"]
    assert data[0]["verdict"] == "holds" and data[0]["kind"] == "exact"
    assert len(data[0]["rows"]) > 10 and {"lhs", "rhs", "margin"} <= set(data[0]["rows"][0])


def test_unknown_name_lists_valid_names(capsys):
    assert main(["check", "T99"]) == 2
    err = capsys.readouterr().err
    assert "T99" in err and "T1" in err and "GLSS2018" in err


def _fake(monkeypatch, module: str, label: str, kind: str, main_fn) -> None:
    fake = types.ModuleType(f"cbntheory.checks.{module}")
    fake.main = main_fn  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, f"cbntheory.checks.{module}", fake)
    entry = proofs.CheckEntry(module, label, kind, "fake")
    monkeypatch.setattr(proofs, "CHECKS", proofs.CHECKS + (entry,))
    monkeypatch.setattr(proofs, "_module_available",
                        lambda name, real=proofs._module_available: name == module or real(name))


def test_exit_status_on_violated_exact(monkeypatch, capsys):
    row = {"case": "x", "lhs": 2.0, "rhs": 1.0, "margin": -1.0, "verdict": "violated"}
    _fake(monkeypatch, "fake_exact", "FAKE-E", "exact",
          lambda quick=True: summarize("FAKE-E", "fake", "exact", [row]))
    assert main(["check", "FAKE-E", "T3-construction"]) == 1
    out = capsys.readouterr().out
    assert "violated" in out and "FAILED: FAKE-E" in out
    assert "T3-construction" in out                 # the other check still ran


def test_violated_conjecture_does_not_fail_the_exit_status(monkeypatch, capsys):
    row = {"case": "x", "lhs": 5.0, "rhs": 6.0, "margin": -1.0, "verdict": "violated"}
    _fake(monkeypatch, "fake_conj", "FAKE-C", "conjectural",
          lambda quick=True: summarize("FAKE-C", "fake", "conjectural", [row]))
    assert main(["check", "FAKE-C"]) == 0
    assert "violated" in capsys.readouterr().out


def test_a_check_that_raises_is_reported_not_lost(monkeypatch, capsys):
    def boom(quick=True):
        raise RuntimeError("solver exploded")

    _fake(monkeypatch, "fake_boom", "FAKE-B", "exact", boom)
    assert main(["check", "FAKE-B", "t3_construction"]) == 1
    out = capsys.readouterr().out
    assert "error" in out and "solver exploded" in out and "holds" in out
    assert main(["check", "FAKE-B", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data[0]["verdict"] == "error" and "solver exploded" in data[0]["error"]


@pytest.mark.parametrize("full", [False, True])
def test_quick_flag_reaches_main(monkeypatch, capsys, full):
    seen = []

    def record(quick=True):
        seen.append(quick)
        return summarize("FAKE-Q", "fake", "exact",
                         [{"case": "x", "lhs": 0.0, "rhs": 0.0, "margin": 0.0,
                           "verdict": "holds"}])

    _fake(monkeypatch, "fake_quick", "FAKE-Q", "exact", record)
    assert main(["check", "FAKE-Q"] + (["--full"] if full else [])) == 0
    assert seen == [not full]


def test_console_entry_point_runs_as_a_process():
    proc = subprocess.run([sys.executable, "-m", "cbntheory.cli", "check", "T3-construction"],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "T3-construction" in proc.stdout and "holds" in proc.stdout


def test_every_catalogued_check_is_in_the_package():
    assert not hasattr(proofs, "SCRIPTS_DIR")         # the package never reads the source tree
    assert [e.label for e in proofs.available()] == [e.label for e in proofs.CHECKS]


def test_check_runs_from_a_copy_of_the_package_alone(tmp_path):
    import shutil

    shutil.copytree(ROOT / "cbntheory", tmp_path / "cbntheory",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    listing = subprocess.run([sys.executable, "-m", "cbntheory.cli", "check", "--list"],
                             capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert listing.returncode == 0, listing.stderr
    assert len(listing.stdout.strip().splitlines()) == len(proofs.CHECKS)
    proc = subprocess.run([sys.executable, "-m", "cbntheory.cli", "check", "T3-construction"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert proc.returncode == 0 and "holds" in proc.stdout, proc.stderr
