"""Output paths are checked (created or refused) before any computation (issue 14)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from cbntheory.cli import main
from cbntheory.cli._common import output_dir, output_file
from cbntheory.errors import ValidationError


def test_output_file_rules(tmp_path):
    assert output_file(None, "--out") is None
    made = output_file(str(tmp_path / "a" / "b" / "net"), "--out", suffix=".npz")
    assert made == str(tmp_path / "a" / "b" / "net.npz") and (tmp_path / "a" / "b").is_dir()
    with pytest.raises(ValidationError, match="--out must be a file path, not a directory"):
        output_file(str(tmp_path), "--out", suffix=".npz")   # used to write <dir>.npz
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValidationError, match="--out must name a directory"):
        output_file(str(tmp_path / "f" / "net.npz"), "--out")
    with pytest.raises(ValidationError, match="--out-dir must name a directory"):
        output_dir(str(tmp_path / "f"), "--out-dir")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_an_unwritable_directory_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ValidationError, match="writable"):
        output_file(str(locked / "net.npz"), "--out")


def test_fit_refuses_a_bad_out_before_solving(tmp_path, capsys, monkeypatch):
    data = tmp_path / "d.npz"
    np.savez(data, X=np.ones((1, 1, 4)), Y=np.ones((1, 1, 4)))

    def never(*a, **k):  # the solve must not start
        raise AssertionError("solved before checking --out")

    monkeypatch.setattr("cbntheory.cli.fit.minimal_norm", never)
    code = main(["fit", str(data), "--channels", "1,1", "--out", str(tmp_path)])
    assert code == 2 and "--out must be a file path" in capsys.readouterr().err


def test_sweep_refuses_a_bad_scheduler_address(tmp_path, capsys):
    config = Path(__file__).resolve().parents[2] / "examples" / "sweep_linear.toml"
    code = main(["sweep", str(config), "--store", str(tmp_path / "s.sqlite"),
                 "--scheduler", "not an address"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--scheduler must be" in err
    assert not (tmp_path / "s.sqlite").exists()
