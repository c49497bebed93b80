"""``cbn cost``: printed figures against closed forms and dense SVDs; clean one-line errors."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import _bruteforce as bf
import numpy as np
import pytest

from cbntheory.cli import main


def _run(capsys, *argv):
    code = main(["cost", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _field(out, name):
    match = re.search(rf"^{re.escape(name)}\s*=\s*(\S+)", out, re.MULTILINE)
    assert match, (name, out)
    return float(match.group(1))


def test_band_limited_example_matches_its_closed_form(capsys):
    # issue 13 (one vocabulary): the example is the target cosine_filter_1d; its old name
    # band-limited still works, with a deprecation note on stderr and the same output
    code, out, err = _run(capsys, "--example", "cosine_filter_1d", "--depth", "8")
    assert code == 0 and err == ""
    old_code, old_out, old_err = _run(capsys, "--example", "band-limited", "--depth", "8")
    assert old_code == 0 and "deprecated" in old_err and "cosine_filter_1d" in old_err
    assert old_out.splitlines()[1:] == out.splitlines()[1:]       # line 0 names the source
    # 1 + cos(2 pi p/16) + 0.5 cos(4 pi p/16) with c = 1/4: multipliers 4, 2, 2, 1, 1
    mult = np.array([4.0, 2.0, 2.0, 1.0, 1.0])
    L = 8
    assert np.isclose(_field(out, "R(A; L)"), L * np.sum(mult ** (2 / L)), rtol=1e-9)
    assert _field(out, "R0") == 5
    assert np.isclose(_field(out, "R1"), 8 * np.log(2), rtol=1e-9)
    assert np.isclose(_field(out, "R2"), 12 * np.log(2) ** 2, rtol=1e-9)
    assert np.isclose(_field(out, "L R0 + R1 + R2/L"),
                      L * 5 + 8 * np.log(2) + 12 * np.log(2) ** 2 / L, rtol=1e-9)
    assert "1 constant, 2 degree-1, 2 degree-2" in out


def test_low_rank_mixer_example_in_json(capsys):
    code, out, _ = _run(capsys, "--example", "low-rank-mixer", "--depth", "3", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["r0"] == 10 and info["cbn_rank_total"] == 10
    assert info["cbn_rank_by_degree"] == {"l1": {"0": 2, "1": 8}, "linf": {"0": 2, "1": 8}}
    rank = np.array(info["cbn_rank"])
    assert rank.shape == (8, 8) and rank[0, 0] == 2 and rank[1, 0] == rank[0, 7] == 2
    assert info["channels"] == {"out": 4, "in": 4} and info["spatial_shape"] == [8, 8]


def test_gaussian_blur_example_has_full_rank_and_negative_r1(capsys):
    code, out, _ = _run(capsys, "--example", "gaussian-blur", "--depth", "4", "--json")
    info = json.loads(out)
    assert code == 0 and info["r0"] == 64 and info["r1"] < 0
    assert info["cbn_rank_by_degree"]["linf"] == {"0": 1, "1": 8, "2": 16, "3": 24, "4": 15}


@pytest.mark.parametrize("shape", [(2, 3, 6), (2, 2, 3, 4)])
@pytest.mark.parametrize("norm", ["operator", "plain"])
def test_kernel_file_against_the_dense_svd(tmp_path, capsys, shape, norm):
    W = np.random.default_rng(0).standard_normal(shape)
    path = tmp_path / "kernel.npy"
    np.save(path, W)
    code, out, err = _run(capsys, str(path), "--depth", "5", "--normalization", norm, "--json")
    assert code == 0 and err == ""
    info = json.loads(out)
    ref = bf.t1_from_dense(W, 5, norm)
    for key in ("value", "r0", "r1", "r2"):
        assert np.isclose(info[key], ref[key], rtol=1e-10), key
    assert np.isclose(info["expansion"], 5 * ref["r0"] + ref["r1"] + ref["r2"] / 5)
    assert info["normalization"] == norm and info["depth"] == 5


def test_text_output_of_a_2d_file_groups_by_both_degrees(tmp_path, capsys):
    p1, p2 = np.meshgrid(np.arange(6), np.arange(6), indexing="ij")
    img = 1.0 + np.cos(2 * np.pi * (p1 + p2) / 6)          # frequencies 0 and +-(1, 1)
    np.save(tmp_path / "k.npy", img[None, None])
    code, out, _ = _run(capsys, str(tmp_path / "k.npy"), "-L", "2")
    assert code == 0
    assert re.search(r"by \|m1\|\+\|m2\|\s*: 1 constant, 2 degree-2", out)
    assert re.search(r"by max\(\|m1\|,\|m2\|\)\s*: 1 constant, 2 degree-1", out)


def _bad_files(tmp_path):
    files = {}
    files["missing"] = (str(tmp_path / "nope.npy"), "no such file")
    np.save(tmp_path / "nan.npy", np.full((1, 1, 4), np.nan))
    files["nan"] = (str(tmp_path / "nan.npy"), "finite")
    np.save(tmp_path / "rank.npy", np.ones((4, 4)))
    files["rank"] = (str(tmp_path / "rank.npy"), "3 or 4 dimensions")
    np.save(tmp_path / "complex.npy", np.ones((1, 1, 4)) * 1j)
    files["complex"] = (str(tmp_path / "complex.npy"), "real")
    np.save(tmp_path / "empty.npy", np.ones((1, 1, 0)))
    files["empty"] = (str(tmp_path / "empty.npy"), "non-empty")
    np.save(tmp_path / "object.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    files["pickle"] = (str(tmp_path / "object.npy"), "readable .npy")
    (tmp_path / "text.npy").write_text("not an array\n")
    files["text"] = (str(tmp_path / "text.npy"), "readable .npy")
    np.savez(tmp_path / "arch.npz", a=np.ones((1, 1, 4)))
    files["npz"] = (str(tmp_path / "arch.npz"), ".npz archive")
    files["directory"] = (str(tmp_path), "KERNEL")
    return files


def test_bad_files_give_one_line_errors(tmp_path, capsys):
    for name, (path, pattern) in _bad_files(tmp_path).items():
        code, out, err = _run(capsys, path, "--depth", "3")
        assert code == 2, name
        assert out == "", name
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("cbn cost: error: "), (name, err)
        assert pattern in err and "Traceback" not in err, (name, err)


@pytest.mark.parametrize("argv,pattern", [
    (["--example", "band-limited", "--depth", "0"], "depth must be >= 1; got 0"),
    (["--depth", "3"], "exactly one of KERNEL.npy or --example NAME; got neither"),
    (["k.npy", "--example", "band-limited", "--depth", "3"], "got both"),
])
def test_bad_arguments_give_one_line_errors(capsys, argv, pattern):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and pattern in err


def test_argparse_errors_exit_with_status_2(capsys):
    for argv in (["--example", "nonsense", "--depth", "2"], ["--example", "band-limited"],
                 ["--example", "band-limited", "--depth", "two"]):
        with pytest.raises(SystemExit) as info:
            main(["cost", *argv])
        assert info.value.code == 2
        assert "Traceback" not in capsys.readouterr().err


def _cbn_executable():
    found = shutil.which("cbn") or shutil.which("cbn", path=str(Path(sys.executable).parent))
    assert found, "the cbn console script is not installed; run pip install -e ."
    return found


def test_installed_entry_point(tmp_path):
    exe = _cbn_executable()
    env = dict(os.environ, PYTHONWARNINGS="error")
    ok = subprocess.run([exe, "cost", "--example", "band-limited", "--depth", "8"],
                        capture_output=True, text=True, timeout=120, env=env, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "R0                  = 5" in ok.stdout
    bad = subprocess.run([exe, "cost", str(tmp_path / "missing.npy"), "--depth", "2"],
                         capture_output=True, text=True, timeout=120, env=env, check=False)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().count("\n") == 0 and "no such file" in bad.stderr


ROOT = Path(__file__).resolve().parents[2]


def test_readme_quick_start_block_and_ci_agree():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```[a-z]*\n(.*?)```", section, re.DOTALL).group(1).strip().splitlines()
    assert len(block) == 2
    assert re.match(r"pip install (\.|\"\.\[[a-z,]+\]\") && cbn report ", block[0])
    ci_lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()
                if ln.strip() and not ln.startswith("#")]
    assert ci_lines[-1] == block[1]


def test_readme_python_snippet_runs():
    text = (ROOT / "README.md").read_text()
    snippets = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert snippets
    for code in snippets:
        exec(compile(code, "README.md", "exec"), {"print": lambda *a, **k: None})  # noqa: S102
