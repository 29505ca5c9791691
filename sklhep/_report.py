"""The demo report: steps that return numbers and figures, written as HTML, Markdown and JSON.

A step of :mod:`sklhep._demo` returns a :class:`StepResult`: a title, a few paragraphs, the numbers
it measured (:class:`Quantity`, each next to the truth it should reproduce) and matplotlib figures.
:func:`write_report` turns the list of steps into ``report.html``, ``report.md``,
``summary.json`` and ``figures/*.png`` in one folder. Everything is written into a temporary folder
first and moved into place only once all of it exists, so a run that fails never leaves a partial
report behind.
"""

from __future__ import annotations

import datetime
import html
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Quantity", "StepResult", "format_number", "write_report"]

REPORT_FILES = ("report.html", "report.md", "summary.json")


@dataclass
class Quantity:
    """One measured number, its uncertainty and the truth it is compared with.

    Parameters
    ----------
    key : str
        Machine-readable name (``"topics.fraction_1"``), the key in ``summary.json``.
    label : str
        What a reader sees in the table.
    value : float
    error : float or None
        One standard deviation, when the step estimates one.
    truth : float or None
        The reference: the hidden truth of the generated sample, an analytic value or a baseline.
    truth_label : str
        Where the reference comes from (``"hidden truth"``, ``"C_A/C_F"``, ``"supervised"``).
    """

    key: str
    label: str
    value: float
    error: float | None = None
    truth: float | None = None
    truth_label: str = ""

    def as_dict(self):
        out = {"label": self.label, "value": _finite_or_none(self.value),
               "error": _finite_or_none(self.error), "truth": _finite_or_none(self.truth),
               "truth_label": self.truth_label}
        if self.truth is not None:
            out["difference"] = _finite_or_none(self.value - self.truth)
        return out


@dataclass
class StepResult:
    """What one step of the demo produced.

    Parameters
    ----------
    key : str
        Short name (``"topics"``).
    title : str
    text : list of str
        Paragraphs (Markdown with ``*emphasis*`` and ``code`` only).
    quantities : list of Quantity
    figures : dict of str to matplotlib Figure
        File stem -> figure; written as ``figures/<stem>.png``.
    available : bool
        False when the step could not run in this installation (its text says why).
    seconds : float
        Wall time of the step.
    """

    key: str
    title: str
    text: list = field(default_factory=list)
    quantities: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    available: bool = True
    seconds: float = 0.0


def _finite_or_none(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def format_number(x, digits=3):
    """``x`` with ``digits`` significant figures (``"-"`` for None, ``"nan"`` for NaN).

    Examples
    --------
    >>> from sklhep._report import format_number
    >>> format_number(0.285714), format_number(1234.5), format_number(None)
    ('0.286', '1.23e+03', '-')
    """
    if x is None:
        return "-"
    x = float(x)
    if not math.isfinite(x):
        return "nan"
    return f"{x:.{digits}g}"


def _value_text(q):
    if q.error is None:
        return format_number(q.value, 4)
    return f"{format_number(q.value, 4)} ± {format_number(q.error, 2)}"


def _rows(steps):
    for step in steps:
        for q in step.quantities:
            diff = "-" if q.truth is None else format_number(q.value - q.truth, 2)
            truth = "-" if q.truth is None else f"{format_number(q.truth, 4)} ({q.truth_label})"
            yield step.key, q.label, _value_text(q), truth, diff


def _markdown(title, intro, steps, meta, figure_paths):
    lines = [f"# {title}", ""]
    lines += [p + "\n" for p in intro]
    lines += ["## Summary", "", "| step | quantity | value | reference | difference |",
              "| --- | --- | --- | --- | --- |"]
    lines += ["| " + " | ".join(r) + " |" for r in _rows(steps)]
    lines.append("")
    for step in steps:
        status = "" if step.available else " (not available)"
        lines += [f"## {step.title}{status}", ""]
        lines += [p + "\n" for p in step.text]
        for stem in step.figures:
            lines += [f"![{stem}]({figure_paths[stem]})", ""]
        if step.available:
            lines += [f"*{step.seconds:.1f} s*", ""]
    lines += ["## Run", ""]
    lines += [f"- {k}: `{v}`" for k, v in meta.items()]
    return "\n".join(lines) + "\n"


def _inline_markdown(text):
    """HTML for the small Markdown subset the steps use: `code` and *emphasis*."""
    out, code, emph = [], False, False
    for part in html.escape(text, quote=False).split("`"):
        if code:
            out.append(f"<code>{part}</code>")
        else:
            pieces = part.split("*")
            buf = []
            for j, piece in enumerate(pieces):
                if j:
                    buf.append("</em>" if emph else "<em>")
                    emph = not emph
                buf.append(piece)
            out.append("".join(buf))
        code = not code
    if emph:
        out.append("</em>")
    return "".join(out)


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.8em; text-align: left; }
th { background: #f4f4f4; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.na { color: #a40; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def _html(title, intro, steps, meta, figure_paths):
    e = html.escape
    parts = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>",
             f"<title>{e(title)}</title><style>{_CSS}</style></head><body>", f"<h1>{e(title)}</h1>"]
    parts += [f"<p>{_inline_markdown(p)}</p>" for p in intro]
    parts += ["<h2>Summary</h2>", "<table><tr><th>step</th><th>quantity</th><th>value</th>"
              "<th>reference</th><th>difference</th></tr>"]
    for row in _rows(steps):
        cells = [f"<td>{e(row[0])}</td>", f"<td>{_inline_markdown(row[1])}</td>"]
        cells += [f"<td class='num'>{e(c)}</td>" for c in row[2:]]
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    for step in steps:
        na = "" if step.available else " <span class='na'>(not available)</span>"
        parts.append(f"<h2>{e(step.title)}{na}</h2>")
        parts += [f"<p>{_inline_markdown(p)}</p>" for p in step.text]
        for stem in step.figures:
            parts.append(f"<img src='{e(figure_paths[stem])}' alt='{e(stem)}'>")
        if step.available:
            parts.append(f"<p><em>{step.seconds:.1f} s</em></p>")
    parts += ["<h2>Run</h2>", "<ul>"]
    parts += [f"<li>{e(str(k))}: <code>{e(str(v))}</code></li>" for k, v in meta.items()]
    parts += ["</ul>", "</body></html>"]
    return "\n".join(parts) + "\n"


def write_report(output, steps, *, title, intro=(), meta=None, dpi=110):
    """Write ``report.html``, ``report.md``, ``summary.json`` and ``figures/`` into ``output``.

    The files are first written to a temporary folder inside ``output`` and moved into place at
    the end; an earlier report in ``output`` is replaced only then.

    Parameters
    ----------
    output : str or path
        The folder (created if needed).
    steps : list of StepResult
    title : str
    intro : sequence of str, default=()
        Paragraphs under the title.
    meta : dict or None, default=None
        Settings of the run (shown at the end and stored in ``summary.json``).
    dpi : int, default=110
        Resolution of the PNG figures.

    Returns
    -------
    path : pathlib.Path
        The path of ``report.html``.

    Examples
    --------
    >>> import tempfile
    >>> from sklhep._report import Quantity, StepResult, write_report
    >>> step = StepResult("toy", "A toy", ["One number."],
    ...                   [Quantity("toy.mean", "mean", 0.02, 0.01, 0.0, "exact")])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = write_report(d, [step], title="Toy report")
    ...     print(path.name, "0.02 ± 0.01" in path.read_text(encoding="utf-8"))
    report.html True
    """
    meta = dict(meta or {})
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    keys = [q.key for s in steps for q in s.quantities]
    if len(set(keys)) != len(keys):
        raise ValueError(f"quantity keys must be unique; got {sorted(keys)}.")
    stems = [stem for s in steps for stem in s.figures]
    if len(set(stems)) != len(stems):
        raise ValueError(f"figure names must be unique; got {sorted(stems)}.")
    tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    try:
        (tmp / "figures").mkdir()
        figure_paths = {}
        for step in steps:
            for stem, fig in step.figures.items():
                rel = f"figures/{stem}.png"
                fig.savefig(tmp / rel, dpi=dpi)
                figure_paths[stem] = rel
        summary = {
            "title": title,
            "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "meta": {k: str(v) for k, v in meta.items()},
            "steps": {s.key: {"title": s.title, "available": s.available,
                              "seconds": round(s.seconds, 2), "figures": list(s.figures)}
                      for s in steps},
            "quantities": {q.key: q.as_dict() for s in steps for q in s.quantities},
        }
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        (tmp / "report.md").write_text(_markdown(title, intro, steps, meta, figure_paths),
                                       encoding="utf-8")
        (tmp / "report.html").write_text(_html(title, intro, steps, meta, figure_paths),
                                         encoding="utf-8")
        # Everything exists: move it into place (figures first, the report last).
        old_figures = out / "figures"
        if old_figures.exists():
            shutil.rmtree(old_figures)
        os.replace(tmp / "figures", old_figures)
        for name in ("summary.json", "report.md", "report.html"):
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / "report.html"
