"""The command line's one vocabulary: --version, help on every option with its real
default, --out for file outputs, CLI words in errors, exact check names."""
from __future__ import annotations

import argparse
import re

import numpy as np
import pytest

from cbntheory import settings
from cbntheory._version import __version__
from cbntheory.cli import build_parser, main


def _subparsers():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"cbn (cbntheory) " \
                                                                         f"{__version__}"


def test_every_option_has_help_and_names_its_real_default():
    for name, parser in _subparsers().items():
        for action in parser._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS or \
                    isinstance(action, argparse._HelpAction):
                continue
            assert action.help, (name, action.option_strings)
            assert "settings." not in action.help, (name, action.option_strings)
            if action.default not in (None, False) and not isinstance(action.default, bool):
                shown = re.search(r"default[^)]*", action.help)
                assert shown, (name, action.option_strings, action.help)
                if isinstance(action.default, (int, float, str)):
                    value = (f"{action.default:g}" if isinstance(action.default, float)
                             else str(action.default))
                    assert value in action.help, (name, action.option_strings, action.help)


def test_fit_help_states_the_solver_budgets():
    helps = {a.dest: a.help for a in _subparsers()["fit"]._actions}
    assert str(settings.AL_MAX_ITER) in helps["max_iter"]
    assert f"{settings.RELU_TIME_LIMIT:g} s" in helps["time_limit"]
    assert "600 per restart" not in helps["time_limit"]


@pytest.fixture()
def convex_data(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 1, 3))
    np.savez(tmp_path / "d.npz", X=X, Y=np.abs(X).mean(axis=(1, 2)))
    return tmp_path


def test_convex_out_and_the_deprecated_save_network(capsys, convex_data):
    path = convex_data / "d.npz"
    assert main(["convex", str(path), "--out", str(convex_data / "a.npz"), "--json"]) == 0
    assert (convex_data / "a.npz").exists() and capsys.readouterr().err == ""
    assert main(["convex", str(path), "--save-network", str(convex_data / "b.npz"),
                 "--json"]) == 0
    assert (convex_data / "b.npz").exists()
    assert "--save-network is deprecated; use --out" in capsys.readouterr().err


def test_convex_errors_speak_cli(capsys, convex_data):
    code = main(["convex", str(convex_data / "d.npz"), "--max-patterns", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "--patterns sample" in err and "patterns='sample'" not in err
    assert "Traceback" not in err


def test_check_names_are_exact_and_families_take_a_star(capsys):
    assert main(["check", "T1", "--list"]) == 0
    assert [ln.split()[0] for ln in capsys.readouterr().out.splitlines()] == ["T1"]
    assert main(["check", "T1*", "--list"]) == 0
    assert [ln.split()[0] for ln in capsys.readouterr().out.splitlines()] == \
        ["T1", "T1-data", "T1-kernel"]


def test_fit_announces_its_solve_on_a_terminal_only(capsys, monkeypatch, tmp_path):
    import io
    import sys

    from cbntheory.cli._common import announce

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    announce("fit", "solving")
    assert term.getvalue() == "cbn fit: solving\n"
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    announce("fit", "solving")
    assert sys.stderr.getvalue() == ""                  # pipes and logs stay clean
