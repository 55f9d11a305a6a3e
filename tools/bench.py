"""`sensorkit bench`: every benchmark side by side in one run; `--write` regenerates docs/benchmarks.md.

    sensorkit bench                                   # all sections, Markdown on stdout
    sensorkit bench crypto size --quick               # some sections, fewer runs
    sensorkit bench all --write docs/benchmarks.md    # + docs/benchmarks.json, docs/benchmarks.png

The sections run one after another in this one process (never in parallel: they would disturb each
other's timings), in REGISTRY order. Each section is a module with one entry point::

    def section(quick=False):          # -> tools.bench.Section
        from tools.bench import Section
        data = ...                     # measure (quick=True: fewer runs, same meaning of every figure)
        return Section(markdown, command="python -m tools.bench_NAME ...", data=data)

- ``markdown``: the section's body (no ``## `` heading -- the registry owns the title; ``###`` is fine),
  with the figures and what they mean.
- ``command``: the exact command that reproduces this section alone, with the options this run used.
- ``data``: a JSON-serialisable dict of the figures (stored in docs/benchmarks.json). Figures for the chart
  go under ``data["chart"]``, each a list of ``[label, value]`` pairs, label saying runtime/suite/peer:
  ``"handshake_ms"`` (median milliseconds of one TLS-PSK handshake, or handshake + attestation) and
  ``"bytes_per_reading"`` (bytes per reading; the label says "on the wire" or "payload only"; the chart
  draws the 40-byte target). The chart reads only these keys, never Markdown.

A module plugs in with one REGISTRY line (key, module, title). A registered module that is not in the tree,
or has no ``section`` function yet, is reported as "not available"; an import error inside a module that
exists is a real failure and propagates.

With ``--write FILE``: sections run now replace theirs; registered sections not run now and ``## `` sections
the registry does not know are carried over verbatim from FILE (and their data from FILE's .json), so
``sensorkit bench tls --write docs/benchmarks.md`` refreshes one section without losing the others.
"""

import collections
import datetime
import importlib
import importlib.util
import json
import os
import platform
import shlex
import subprocess
import sys
import time

from tools.executables import find_executable

Entry = collections.namedtuple("Entry", "key module title")

# Order = order of the sections in docs/benchmarks.md. One line per benchmark module. The title is the
# section's `## ` heading (kept as the streams named theirs, so their existing sections carry over).
REGISTRY = (
    Entry("sensor", "tools.bench_sensor", "Sensor"),
    Entry("psa", "tools.bench_psa", "PSA veneer"),
    Entry("crypto", "tools.bench_crypto", "Crypto"),
    Entry("cbor", "tools.bench_cbor", "CBOR codec (device/cbor.py)"),
    Entry("tls", "tools.bench_tls", "TLS"),
    Entry("attest", "tools.bench_attest", "Attestation and telemetry"),
    Entry("e2e", "tools.bench_e2e", "End to end"),
    Entry("size", "tools.bench_size", "Code size"),
)
KEYS = tuple(e.key for e in REGISTRY)
CHART_KEYS = ("handshake_ms", "bytes_per_reading")
_STUB = "Not available:"


class Section:
    """What a benchmark module's ``section(quick=False)`` returns (see the module docstring)."""

    def __init__(self, markdown, command, data=None):
        if not isinstance(markdown, str) or not markdown.strip():
            raise ValueError("Section.markdown must be non-empty Markdown text")
        for line in _unfenced_lines(markdown):
            if line.startswith("# ") or line.startswith("## "):
                raise ValueError("Section.markdown must not contain a # or ## heading: %r" % line)
        if not isinstance(command, str) or not command.strip():
            raise ValueError("Section.command must be the command that reproduces the section")
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise TypeError("Section.data must be a dict")
        json.dumps(data)  # TypeError now rather than at --write
        chart = data.get("chart", {})
        for key, series in chart.items():
            if key not in CHART_KEYS:
                raise ValueError("unknown chart series %r (have %s)" % (key, ", ".join(CHART_KEYS)))
            for pair in series:
                if len(pair) != 2 or not isinstance(pair[0], str) or not isinstance(pair[1], (int, float)):
                    raise ValueError("chart series %r wants [label, number] pairs, got %r" % (key, pair))
        self.markdown = markdown.strip("\n")
        self.command = command
        self.data = data


class Result:
    """One registry entry after a run: a Section, or why it is not available; seconds it took."""

    def __init__(self, entry, section=None, unavailable=None, seconds=0.0):
        self.entry, self.section, self.unavailable, self.seconds = entry, section, unavailable, seconds


def _unfenced_lines(text):
    fenced = False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            yield line


def entry_point(entry):
    """The module's ``section`` function, or a string saying why it is not available."""
    if importlib.util.find_spec(entry.module) is None:
        return "`%s` is not on this branch yet" % entry.module
    fn = getattr(importlib.import_module(entry.module), "section", None)
    if not callable(fn):
        return "`%s` has no `section(quick=False)` entry point yet" % entry.module
    return fn


def run_entry(entry, quick=False, progress=None):
    fn = entry_point(entry)
    if isinstance(fn, str):
        return Result(entry, unavailable=fn)
    if progress:
        progress("bench: %s (%s)..." % (entry.key, entry.module))
    t0 = time.monotonic()
    section = fn(quick=quick)
    if not isinstance(section, Section):
        raise TypeError("%s.section() returned %r, not a tools.bench.Section" % (entry.module, type(section)))
    return Result(entry, section=section, seconds=time.monotonic() - t0)


def run(keys, quick=False, progress=None):
    """Run the sections `keys` (registry order) one after another; returns [Result]."""
    return [run_entry(e, quick, progress) for e in REGISTRY if e.key in keys]


def _tool_version(name, args):
    exe = find_executable(name)
    if not exe:
        return None
    r = subprocess.run([exe] + args, capture_output=True, text=True, timeout=60)
    return (r.stdout or r.stderr).strip().splitlines()[0] if r.returncode == 0 else None


def machine():
    """The facts the header states: CPUs, load average now, CPU model, runtime versions, date."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        matplotlib_version = importlib.import_module("matplotlib").__version__
    except ImportError:
        matplotlib_version = None
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "cpu": model,
        "os": "%s %s" % (platform.system(), platform.machine()),
        "cpython": platform.python_version(),
        "micropython": _tool_version("micropython", ["-c", "import sys; v = sys.implementation.version; "
                                                     "print('%d.%d.%d' % v[:3], sys.version.split(';')[-1].strip())"]),
        "mpy_cross": _tool_version("mpy-cross", ["--version"]),
        "matplotlib": matplotlib_version,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def split_sections(text):
    """(preamble, [(title, body)]) of a Markdown file, split at ``## `` headings outside code fences."""
    preamble, sections, cur = [], [], None
    fenced = False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            cur = (line[3:].strip(), [])
            sections.append(cur)
        elif cur is None:
            preamble.append(line)
        else:
            cur[1].append(line)
    return "\n".join(preamble), [(t, "\n".join(b).strip("\n")) for t, b in sections]


def chart_series(data_by_key):
    """{series: [(label, value)]} gathered from the sections' data["chart"], registry order."""
    out = {k: [] for k in CHART_KEYS}
    for e in REGISTRY:
        chart = (data_by_key.get(e.key) or {}).get("chart", {})
        for k in CHART_KEYS:
            for label, value in chart.get(k, ()):
                out[k].append(("%s [%s]" % (label, e.key), value))
    return out


def render(results, info, command, quick, old_text="", old_json=None, chart_file=None, full=True):
    """The whole docs/benchmarks.md; returns (markdown, json_dict).

    full=False (stdout): only the sections of `results`, nothing carried over or listed as missing.
    """
    old_json = old_json or {}
    _, old_sections = split_sections(old_text)
    old_bodies = dict(old_sections)
    ran = {r.entry.key: r for r in results}
    mp = info["micropython"] or "not found"
    head = [
        "# Benchmarks",
        "",
        "Generated by `%s` (%s) on %s. Every figure below comes from the command given in its section; "
        "the sections were measured one after another in this one run unless marked *carried over*."
        % (command, "**quick run**: fewer repetitions, same meaning of every figure" if quick else "full run", info["date"]),
        "",
        "Machine: %d CPUs (`nproc`), %s, %s; load average at start %s (1/5/15 min) -- a shared machine, so times "
        "are medians and moved by up to 2x between runs under load (minimum columns, where given, show a quiet run)."
        % (info["nproc"], info["cpu"], info["os"], " / ".join("%.2f" % x for x in info["loadavg"])),
        "",
        "Runtimes: CPython %s; MicroPython `%s` (unix port, the `micropython` command of the test lane); "
        "mpy-cross `%s`." % (info["cpython"], mp, info["mpy_cross"] or "not found"),
        "",
        "Regenerate with `sensorkit bench all --write docs/benchmarks.md` (the chart needs the `bench` extra: "
        "`pip install -e '.[bench]'`); the figures as data are in the `.json` beside this file. A new benchmark "
        "plugs in with one line in `tools/bench.py` (its docstring gives the `section(quick=False)` contract).",
        "",
        "| section | status | module | seconds |",
        "|---|---|---|---|",
    ]
    body, out_json = [], {}
    for e in REGISTRY:
        r = ran.get(e.key)
        if r is not None and r.section is not None:
            s = r.section
            status, secs = "measured in this run", "%.1f" % r.seconds
            mine = "sensorkit bench %s%s" % (e.key, " --quick" if quick else "")
            alone = "" if s.command == mine else " (alone: `%s`)" % s.command
            text = "Command: `%s`%s.\n\n%s" % (mine, alone, s.markdown)
            out_json[e.key] = {"title": e.title, "command": s.command, "measured": info["date"],
                               "quick": quick, "data": s.data}
        elif r is None and not full:
            continue
        else:
            reason = r.unavailable if r is not None else entry_point(e)
            reason = reason if isinstance(reason, str) else None  # None: available, not run now
            old = old_bodies.get(e.title)
            secs = ""
            if old is not None and not old.startswith(_STUB):
                # figures from an earlier run (or a hand-written section whose module has no section() yet)
                status, text = "carried over", old
                if e.key in old_json:
                    out_json[e.key] = old_json[e.key]
                    status = "carried over (measured %s)" % old_json[e.key].get("measured", "?")
                if reason:
                    status += "; not runnable: " + reason
            elif reason:
                status, text = "not available", "%s %s (`sensorkit bench %s`)." % (_STUB, reason, e.key)
            else:
                status, text = "not run", "Not run yet: `sensorkit bench %s --write FILE` adds it." % e.key
        head.append("| %s | %s | `%s` | %s |" % (e.key, status, e.module, secs))
        body += ["## " + e.title, "", text, ""]
    titles = {e.title for e in REGISTRY}
    for title, text in old_sections if full else ():
        if title not in titles and not text.startswith(_STUB):  # a stub under a retired title goes
            head.append("| (unregistered) | carried over | %s | |" % title.replace("|", "/"))
            body += ["## " + title, "", text, ""]
    head.append("")
    if not full:
        pass
    elif chart_file:
        head += ["Chart of the handshake-time and bytes-per-reading comparisons (from the sections' data in "
                 "`%s`): ![benchmarks chart](%s)" % (os.path.basename(chart_file)[:-4] + ".json",
                                                      os.path.basename(chart_file)), ""]
    else:
        head += ["Chart: none -- no section in this file produced handshake-time or bytes-per-reading figures "
                 "(they come from the tls, attest and e2e sections).", ""]
    return "\n".join(head + body).rstrip("\n") + "\n", out_json


def write(path, results, info, command, quick, progress=print):
    """Regenerate `path` (+ .json beside it, + .png when there are chart figures)."""
    stem = path[:-3] if path.endswith(".md") else path
    json_path, png_path = stem + ".json", stem + ".png"
    old_text, old_json = "", {}
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path) as f:
            old_text = f.read()
    if os.path.exists(json_path):
        with open(json_path) as f:
            old_json = json.load(f).get("sections", {})
    # first pass only to learn which data ends up in the file (fresh + carried over)
    _, data = render(results, info, command, quick, old_text, old_json)
    series = chart_series({k: v.get("data") for k, v in data.items()})
    chart_file = None
    if any(series.values()):
        from tools import bench_chart

        bench_chart.write_chart(series, png_path)
        chart_file = png_path
        progress("bench: wrote %s" % png_path)
    text, data = render(results, info, command, quick, old_text, old_json, chart_file)
    with open(path, "w") as f:
        f.write(text)
    with open(json_path, "w") as f:
        json.dump({"generated_by": command, "machine": info, "sections": data}, f, indent=1, sort_keys=True)
        f.write("\n")
    progress("bench: wrote %s and %s" % (path, json_path))


def add_parser(sub):
    p = sub.add_parser("bench", help="run the benchmarks side by side; --write regenerates docs/benchmarks.md")
    p.add_argument("sections", nargs="*", metavar="SECTION",
                   help="all (default) or any of: %s" % " ".join(KEYS))
    p.add_argument("--quick", action="store_true", help="fewer runs (same figures, wider spread)")
    p.add_argument("--write", metavar="FILE", help="regenerate FILE (e.g. docs/benchmarks.md), its .json and .png")
    p.set_defaults(func=main)


def main(args):
    names = args.sections or ["all"]
    bad = [n for n in names if n != "all" and n not in KEYS]
    if bad:
        print("sensorkit bench: unknown section %s (have: all %s)" % (", ".join(bad), " ".join(KEYS)), file=sys.stderr)
        return 2
    keys = KEYS if "all" in names else tuple(n for n in KEYS if n in names)
    command = "sensorkit bench " + " ".join(names) + (" --quick" if args.quick else "")
    if args.write:
        command += " --write " + shlex.quote(args.write)
    info = machine()
    err = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731 -- progress goes to stderr
    results = run(keys, quick=args.quick, progress=err)
    if args.write:
        write(args.write, results, info, command, args.quick, progress=err)
    else:
        text, _ = render(results, info, command, args.quick, full=False)
        print(text, end="")
    missing = [r.entry.key for r in results if r.section is None]
    if missing:
        err("bench: not available: %s" % ", ".join(missing))
    # a section asked for by name that cannot run is an error; `all` just reports it
    return 1 if "all" not in names and missing else 0
