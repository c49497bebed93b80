"""Sweep files: expansion against an independent product, job keys, and every error naming
the file, the line (found here by searching the text) and the key."""
from __future__ import annotations

import itertools

import pytest

from cbntheory.sweep.config import ConfigError, key_lines, load_config, parse_config
from cbntheory.sweep.jobs import job_key, kind_names, normalize_params


def _line_of(text, needle, nth=1):
    """1-based line of the ``nth`` line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[nth - 1]


def _error(text, source="sweep.toml"):
    with pytest.raises(ConfigError) as info:
        parse_config(text, source=source)
    return str(info.value)


GRID = """
[sweep]
kind = "linear_cost"
seeds = [0, 5]

[fixed]
spatial_shape = [6]

[grid]
target = ["random", "lowrank"]
depth = [1, 2, 3]
channels = [[2, 2], [3, 1]]
"""


def test_grid_expands_to_the_cartesian_product_times_seeds():
    cfg = parse_config(GRID)
    expected = {(t, d, tuple(c), s) for t, d, c, s in itertools.product(
        ["random", "lowrank"], [1, 2, 3], [[2, 2], [3, 1]], [0, 5])}
    got = {(j.params["target"], j.params["depth"], tuple(j.params["channels"]), j.seed)
           for j in cfg.jobs}
    assert got == expected and len(cfg.jobs) == len(expected) == 24
    assert all(j.params["spatial_shape"] == [6] for j in cfg.jobs)
    assert len({j.key for j in cfg.jobs}) == 24


def test_job_keys_depend_on_inputs_only():
    a = parse_config(GRID)
    # same jobs written differently: keys reordered, defaults spelled out, shape as an int
    b = parse_config("""
[sweep]
seeds = [5, 0]
kind = "linear_cost"
[grid]
channels = [[3, 1], [2, 2]]
depth = [3, 2, 1]
target = ["lowrank", "random"]
[fixed]
normalization = "operator"
spatial_shape = 6
""")
    assert {j.key for j in a.jobs} == {j.key for j in b.jobs}
    assert a.config_hash == b.config_hash
    p = normalize_params("linear_cost", {"target": "random"})
    assert job_key("linear_cost", p, 0) != job_key("linear_cost", p, 1)
    assert job_key("linear_cost", p, 0) != job_key(
        "linear_cost", normalize_params("linear_cost", {"target": "random", "depth": 3}), 0)


def test_parameters_a_target_ignores_do_not_multiply_jobs():
    cfg = parse_config('[sweep]\nkind = "linear_cost"\n[fixed]\ntarget = "random"\n'
                       '[grid]\nrank = [1, 2, 3]\n')
    assert len(cfg.jobs) == 1


def test_explicit_jobs_override_fixed_and_seeds_and_duplicates_merge():
    cfg = parse_config("""
[sweep]
kind = "echo"
seeds = [0, 1]
[fixed]
x = 1.0
[[jobs]]
x = 2.0
seeds = [7]
[[jobs]]
sleep = 0.0
""")
    got = sorted((j.params["x"], j.seed) for j in cfg.jobs)
    assert got == [(1.0, 0), (1.0, 1), (2.0, 7)]
    # [fixed] alone is one parameter set
    assert len(parse_config('[sweep]\nkind = "echo"\n[fixed]\nx = 3.0\n').jobs) == 1


def test_invalid_toml_gives_the_parser_line():
    text = '[sweep]\nkind = "echo"\nseeds = [0, 1\nname = "x"\n'
    msg = _error(text)
    assert msg.startswith("sweep.toml: invalid TOML") and "line 4" in msg


@pytest.mark.parametrize("bad, needle, words", [
    ('[sweep]\nkind = "echo"\ncolour = "red"\n', "colour", ["unknown key 'colour'", "seeds"]),
    ('[sweep]\nkind = "echo"\n[grids]\nx = [1]\n', "[grids]", ["unknown top-level key"]),
    ('[sweep]\nkind = "echo"\n[grid]\nx = [1.0]\nsleeep = [0.1]\n', "sleeep",
     ["'sleeep' is not a parameter", "sleep", "log"]),
    ('[sweep]\nkind = "lineer_cost"\n', "lineer", ["linear_cost", "echo (testing only)"]),
    ('[sweep]\nkind = "linear_cost"\n[fixed]\ndepth = 2\n[grid]\ntarget = ["random", "ring"]\n',
     "target", ["'random'", "'lowrank'", "'bandlimited'", "'identity'", "'ring'"]),
    ('[sweep]\nkind = "linear_cost"\n[fixed]\ntarget = "random"\n'
     '[grid]\ndepth = [\n  1,\n  0,\n]\n', "depth", ["depth must be >= 1", "got 0"]),
    ('[sweep]\nkind = "echo"\n[grid]\nx = []\n', "x = []", ["non-empty lists"]),
    ('[sweep]\nkind = "echo"\nseeds = [0, -1]\n', "seeds", ["non-negative"]),
    ('[sweep]\nkind = "echo"\n[fixed]\nx = 1.0\n[grid]\nx = [2.0]\n', "x = [2.0]",
     ["both in [fixed] (line 4)"]),
    ('[sweep]\nkind = "linear_cost"\n[fixed]\ntarget = "identity"\nchannels = [2, 3]\n',
     "channels", ["equal"]),
])
def test_errors_name_line_and_key(bad, needle, words):
    msg = _error(bad)
    assert msg.startswith(f"sweep.toml, line {_line_of(bad, needle)} "), msg
    for word in words:
        assert word in msg, (word, msg)


def test_error_in_second_jobs_entry_points_at_that_entry():
    text = ('[sweep]\nkind = "echo"\n\n[[jobs]]\nx = 1.0\n\n[[jobs]]\n# a comment\n'
            'x = "two"\n')
    msg = _error(text)
    assert msg.startswith(f"sweep.toml, line {_line_of(text, 'two')} ([[jobs]] #2 x)"), msg
    assert "x must be a number" in msg


def test_missing_required_parameter_and_missing_sweep_table():
    assert "needs parameter 'target'" in _error('[sweep]\nkind = "linear_cost"\n')
    assert "needs a [sweep] table" in _error('[grid]\nx = [1]\n')
    assert "needs kind" in _error('[sweep]\nseeds = [0]\n')


def test_key_lines_skip_strings_comments_and_multiline_values():
    text = ('a = """\n[not_a_table]\nb = 1\n"""\n'   # lines 1-4: a multi-line string
            "[t]  # comment with = sign\n"            # 5
            "c = [\n  [1, 2],\n  [3],\n]\n"            # 6-9: nested multi-line array
            "d = '[x]'\n"                             # 10
            "[[jobs]]\n"                              # 11
            "e = 1\n"                                 # 12
            "[[jobs]]\n"                              # 13
            '"f.g" = 2\n')                            # 14
    lines = key_lines(text)
    assert lines == {("a",): 1, ("t",): 5, ("t", "c"): 6, ("t", "d"): 10, ("jobs", 0): 11,
                     ("jobs", 0, "e"): 12, ("jobs", 1): 13, ("jobs", 1, "f.g"): 14}


def test_load_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such file|readable"):
        load_config(tmp_path / "missing.toml")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)
    ok = tmp_path / "name_from_file.toml"
    ok.write_text('[sweep]\nkind = "echo"\n')
    assert load_config(ok).name == "name_from_file"


def test_registry_lists_kinds():
    assert {"linear_cost", "echo", "spin"} <= set(kind_names())
    assert "echo" not in kind_names(include_testing=False)


def test_the_installed_package_ships_no_test_kinds(tmp_path):
    """A process that does not call ``register`` knows only the package's kinds, whatever
    its environment holds (the variable of the former door is set here on purpose), so a
    sweep file cannot name ``echo`` (whose ``log`` parameter writes to a file)."""
    import os
    import subprocess
    import sys

    import _sweep_helpers as h

    from cbntheory.sweep.jobs import PACKAGE_KINDS

    env = dict(h.env(), CBNTHEORY_SWEEP_EXTRA_KINDS="_sweep_helpers")
    code = ("from cbntheory.sweep.config import parse_config\n"
            "from cbntheory.sweep.jobs import kind_names\n"
            "print(kind_names())\n"
            "try:\n"
            "    parse_config('[sweep]\\nkind = \"echo\"\\n[fixed]\\nlog = \"x.txt\"\\n')\n"
            "except ValueError as exc:\n"
            "    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(h.REPO)).stdout.splitlines()
    builtin = sorted(k.name for k in PACKAGE_KINDS)
    assert out[0] == repr(builtin)
    assert f"job kind must be one of: {', '.join(builtin)}; got 'echo'" in out[1]
    # and `cbn sweep` itself, as a user runs it, refuses the file
    cfg = h.write(tmp_path / "echo.toml", '[sweep]\nkind = "echo"\n')
    proc = h.start_cli("sweep", cfg, "--store", tmp_path / "s.sqlite", plain=True)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "got 'echo'" in err
    assert not (tmp_path / "s.sqlite").exists()
