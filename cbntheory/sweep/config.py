"""Sweep descriptions in TOML: loading, validation with line numbers, grid expansion.

A sweep file names one job kind (see :mod:`cbntheory.sweep.jobs`) and the parameter
sets to run it on, each once per seed::

    [sweep]
    kind = "linear_cost"          # required: a registered job kind
    name = "t1-depths"            # optional label stored with every row (default: file stem)
    seeds = [0, 1, 2]             # optional, default [0]

    [fixed]                       # parameters shared by every job
    spatial_shape = [8]

    [grid]                        # the cartesian product of these lists
    depth = [1, 2, 4, 8]
    target = ["random", "lowrank"]

    [[jobs]]                      # explicit parameter sets (may override [fixed] and seeds)
    target = "identity"
    seeds = [0]

Without ``[grid]`` and ``[[jobs]]`` the file describes the single set ``[fixed]``.
Every error names the file, the line, the table and the key.

Examples
--------
>>> cfg = parse_config('''
... [sweep]
... kind = "linear_cost"
... seeds = [0, 1]
... [fixed]
... target = "identity"
... [grid]
... depth = [1, 2, 3]
... ''')
>>> len(cfg.jobs), sorted({j.params["depth"] for j in cfg.jobs})
(6, [1, 2, 3])
>>> try:
...     parse_config('[sweep]\\nkind = "linear_cost"\\n[grid]\\nxx = [1]\\n', source="s.toml")
... except ConfigError as exc:
...     print(str(exc).split(": ")[0])
s.toml, line 4 ([grid] xx)
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import re
import sys
from typing import Any

from ..errors import ConfigError, ParamError, ValidationError
from .jobs import get_kind, job_key, normalize_params

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the same parser, published as tomli before 3.11
    import tomli as tomllib

#: Keys allowed in the ``[sweep]`` table.
SWEEP_KEYS = ("kind", "name", "seeds", "description")
#: Top-level tables of a sweep file.
TOP_KEYS = ("sweep", "fixed", "grid", "jobs")
#: Largest number of jobs one file may expand to (a typo in a grid should not fill the disk).
MAX_JOBS = 1_000_000


@dataclasses.dataclass(frozen=True)
class Job:
    """One job: a kind, its normalised parameters, a seed, and the key of those inputs."""

    key: str
    kind: str
    params: dict[str, Any]
    seed: int


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """A validated sweep: its jobs in file order, without duplicates.

    Attributes
    ----------
    name : str
    kind : str
    seeds : tuple of int
        Default seeds (``[[jobs]]`` entries may override them).
    jobs : tuple of Job
    config_hash : str
        SHA-256 of the kind and the sorted job keys: equal for files describing the same
        set of jobs, however written.
    source : str
        File name (or ``"<config>"``) used in messages.
    """

    name: str
    kind: str
    seeds: tuple[int, ...]
    jobs: tuple[Job, ...]
    config_hash: str
    source: str = "<config>"


# ------------------------------------------------------------------ line numbers of keys
_BARE = r'[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\''
_DOTTED = rf"(?:{_BARE})(?:\s*\.\s*(?:{_BARE}))*"
_HEADER_RE = re.compile(rf"\s*(\[\[?)\s*({_DOTTED})\s*\]\]?")
_KEY_RE = re.compile(rf"\s*({_DOTTED})\s*=")


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = re.findall(_BARE, dotted)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


def _scan(s: str, depth: int) -> tuple[int, str | None]:
    """Bracket depth after ``s`` (strings and comments skipped); open multi-line string or None."""
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "#":
            break
        if s.startswith('"""', i) or s.startswith("'''", i):
            end = s.find(s[i:i + 3], i + 3)
            if end < 0:
                return depth, s[i:i + 3]
            i = end + 3
            continue
        if ch == '"':
            i += 1
            while i < len(s) and s[i] != '"':
                i += 2 if s[i] == "\\" else 1
        elif ch == "'":
            end = s.find("'", i + 1)
            i = len(s) if end < 0 else end
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return depth, None


def key_lines(text: str) -> dict[tuple, int]:
    """Line (1-based) of every table header and key, by path such as ``("jobs", 1, "depth")``.

    Array-of-tables entries are numbered from 0 in file order.  Keys inside inline
    tables and continuation lines of multi-line values are not indexed (their parent
    key's line is used).
    """
    lines: dict[tuple, int] = {}
    counts: dict[tuple, int] = {}
    table: tuple = ()
    depth, open_string = 0, None
    for lineno, raw in enumerate(text.splitlines(), 1):
        pos = 0
        if open_string is not None:
            end = raw.find(open_string)
            if end < 0:
                continue
            pos, open_string = end + 3, None
        elif depth == 0:
            header = _HEADER_RE.match(raw)
            if header:
                path: tuple = _split_key(header.group(2))
                if header.group(1) == "[[":
                    counts[path] = counts.get(path, -1) + 1
                    path = path + (counts[path],)
                table = path
                lines.setdefault(table, lineno)
                continue
            key = _KEY_RE.match(raw)
            if key:
                lines.setdefault(table + _split_key(key.group(1)), lineno)
                pos = key.end()
        depth, open_string = _scan(raw[pos:], depth)
    return lines


def _where(path: tuple) -> str:
    if not path:
        return ""
    if path[0] == "jobs" and len(path) > 1 and isinstance(path[1], int):
        head, rest = f"[[jobs]] #{path[1] + 1}", path[2:]
    elif len(path) == 1:
        return f"key {path[0]!r}"
    else:
        head, rest = f"[{path[0]}]", path[1:]
    return " ".join([head] + [str(p) for p in rest])


class _Reporter:
    def __init__(self, text: str, source: str) -> None:
        self.lines = key_lines(text)
        self.source = source

    def error(self, path: tuple, message: str) -> ConfigError:
        for n in range(len(path), 0, -1):
            if path[:n] in self.lines:
                line = f", line {self.lines[path[:n]]}"
                break
        else:
            line = ""
        where = _where(path)
        return ConfigError(f"{self.source}{line}{f' ({where})' if where else ''}: {message}")


# ------------------------------------------------------------------ loading
def load_config(path: str | os.PathLike) -> SweepConfig:
    """Read and validate the sweep file at ``path`` (see :func:`parse_config`)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ConfigError(f"sweep file must be a readable TOML file; got {str(path)!r} "
                          f"({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); a sweep file is TOML") \
            from None
    return parse_config(text, source=str(path))


def _seeds(rep: _Reporter, path: tuple, value: Any) -> tuple[int, ...]:
    ok = isinstance(value, list) and value and all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)
    if not ok:
        raise rep.error(path, f"seeds must be a non-empty list of non-negative integers; "
                              f"got {value!r}")
    if len(set(value)) != len(value):
        raise rep.error(path, f"seeds must not repeat; got {value!r}")
    return tuple(value)


def _table(rep: _Reporter, data: dict, key: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise rep.error((key,), f"{key!r} must be a table [{key}]; got {value!r}")
    return value


def parse_config(text: str, source: str = "<config>") -> SweepConfig:
    """Validate a sweep description and expand it into jobs.

    Parameters
    ----------
    text : str
        TOML text in the format of the module docstring.
    source : str
        Name used in error messages (the file name).

    Returns
    -------
    SweepConfig

    Raises
    ------
    ConfigError
        Invalid TOML (the parser's line and column), an unknown table or key, an
        unknown job kind or target (the valid ones are listed), a bad value (the
        parameter's rule), each with the line of the offending key.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    rep = _Reporter(text, source)
    for key in data:
        if key not in TOP_KEYS:
            raise rep.error((key,), f"unknown top-level key {key!r}; a sweep file has the "
                                    "tables [sweep], [fixed], [grid] and [[jobs]]")
    if "sweep" not in data:
        raise rep.error((), "a sweep file needs a [sweep] table with kind = \"...\"")
    sweep = _table(rep, data, "sweep")
    for key in sweep:
        if key not in SWEEP_KEYS:
            raise rep.error(("sweep", key), f"unknown key {key!r} in [sweep]; valid keys: "
                                            f"{', '.join(SWEEP_KEYS)}")
    if "kind" not in sweep:
        raise rep.error(("sweep",), "[sweep] needs kind = \"...\" (a job kind)")
    try:
        kind = get_kind(sweep["kind"]).name
    except ValidationError as exc:
        raise rep.error(("sweep", "kind"), str(exc)) from None
    name = sweep.get("name", os.path.splitext(os.path.basename(source))[0] or "sweep")
    if not isinstance(name, str):
        raise rep.error(("sweep", "name"), f"name must be a string; got {name!r}")
    seeds = _seeds(rep, ("sweep", "seeds"), sweep.get("seeds", [0]))
    fixed, grid = _table(rep, data, "fixed"), _table(rep, data, "grid")
    explicit = data.get("jobs", [])
    if not isinstance(explicit, list) or not all(isinstance(j, dict) for j in explicit):
        raise rep.error(("jobs",), "jobs must be an array of tables [[jobs]]")
    size = 1
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise rep.error(("grid", key), f"grid values must be non-empty lists; got {values!r}")
        if key in fixed:
            raise rep.error(("grid", key), f"{key!r} is set both in [fixed] (line "
                            f"{rep.lines.get(('fixed', key), '?')}) and in [grid]")
        size *= len(values)
    if size * len(seeds) > MAX_JOBS:
        raise rep.error(("grid",), f"the grid has {size} x {len(seeds)} seeds jobs, more "
                                   f"than MAX_JOBS = {MAX_JOBS}; split the sweep")

    # parameter sets with the path each value came from (for error lines)
    sets: list[tuple[dict, dict, tuple[int, ...]]] = []
    base_origin = {k: ("fixed", k) for k in fixed}
    if grid or not explicit:
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            origin = dict(base_origin, **{k: ("grid", k) for k in keys})
            sets.append((dict(fixed, **dict(zip(keys, combo))), origin, seeds))
    for i, entry in enumerate(explicit):
        entry = dict(entry)
        job_seeds = _seeds(rep, ("jobs", i, "seeds"), entry.pop("seeds")) \
            if "seeds" in entry else seeds
        origin = dict(base_origin, **{k: ("jobs", i, k) for k in entry})
        sets.append((dict(fixed, **entry), origin, job_seeds))

    jobs: dict[str, Job] = {}
    for params, origin, job_seeds in sets:
        try:
            normal = normalize_params(kind, params)
        except ParamError as exc:
            raise rep.error(origin.get(exc.key, ("sweep", "kind")), str(exc)) from None
        for seed in job_seeds:
            key = job_key(kind, normal, seed)
            jobs.setdefault(key, Job(key=key, kind=kind, params=normal, seed=seed))
    digest = hashlib.sha256(json.dumps([kind] + sorted(jobs)).encode()).hexdigest()
    return SweepConfig(name=name, kind=kind, seeds=seeds, jobs=tuple(jobs.values()),
                       config_hash=digest, source=source)


def describe(config: SweepConfig) -> str:
    """One line such as ``"t1-depths: 24 linear_cost jobs (8 parameter sets)"``."""
    sets = len({json.dumps(j.params, sort_keys=True) for j in config.jobs})
    return f"{config.name}: {len(config.jobs)} {config.kind} jobs ({sets} parameter sets)"
