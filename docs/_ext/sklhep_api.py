"""The ``sklhep-api`` directive: the API reference, generated from the public names.

Every name in ``sklhep.__all__`` and in the ``__all__`` of each public module (the submodules
``sklhep`` loads lazily and the modules its lazy names come from) is listed once, under the
shortest public path. An object that a user-guide page already documents with an ``auto*``
directive gets its one-line summary and a link to that page (documenting it twice would
duplicate its index entry and its citations); every other object is documented here in full with
autodoc. A new public name or module appears here without editing any page.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

EXTRA_MODULES = ("cli",)


def public_modules():
    """``sklhep`` then its public submodules, sorted."""
    import sklhep

    names = set(getattr(sklhep, "_SUBMODULES", ()))
    names |= {path.split(".")[1] for path in getattr(sklhep, "_LAZY", {}).values()}
    names |= set(EXTRA_MODULES)
    return ["sklhep"] + [f"sklhep.{n}" for n in sorted(names)]


def public_objects():
    """(module name, [(qualified name, object)]) in order, each object once."""
    seen, out = set(), []
    for modname in public_modules():
        module = importlib.import_module(modname)
        entries = []
        for name in getattr(module, "__all__", []):
            if name.startswith("__"):
                continue
            obj = getattr(module, name)
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            entries.append((f"{modname}.{name}", obj))
        out.append((modname, entries))
    return out


_AUTO = re.compile(r"^\.\. auto(?:class|function|data|exception)::\s+(\S+)")
_MODULE = re.compile(r"^\.\. (?:py:)?(?:currentmodule|module)::\s+(\S+)")


def _resolve(qualname):
    parts = qualname.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def documented_elsewhere(srcdir, this_doc):
    """id(object) -> the name a user-guide page documents it under."""
    found = {}
    for path in sorted(Path(srcdir).glob("*.rst")):
        if path.stem == this_doc:
            continue
        current = None
        for line in path.read_text(encoding="utf-8").splitlines():
            module = _MODULE.match(line)
            if module:
                current = module.group(1)
                continue
            auto = _AUTO.match(line)
            if not auto:
                continue
            name = auto.group(1)
            if current and not name.startswith("sklhep"):
                name = f"{current}.{name}"
            obj = _resolve(name)
            if obj is not None:
                found.setdefault(id(obj), name)
    return found


def _summary(obj):
    if not (inspect.isclass(obj) or inspect.ismodule(obj) or callable(obj)):
        return ""  # a constant: its type's docstring says nothing about it
    doc = inspect.getdoc(obj) or ""
    return doc.split("\n\n")[0].replace("\n", " ").strip()


def _directive(qualname, obj):
    if inspect.isclass(obj):
        return [f".. autoclass:: {qualname}", "   :members:", ""]
    if callable(obj):
        return [f".. autofunction:: {qualname}", ""]
    return [f".. py:data:: {qualname}", f"   :value: {obj!r}", ""]


class SklhepAPI(SphinxDirective):
    has_content = False

    def run(self):
        elsewhere = documented_elsewhere(self.env.srcdir, self.env.docname)
        lines = []
        for modname, entries in public_objects():
            if not entries:
                continue
            lines += [f"``{modname}``", "-" * (len(modname) + 4), "",
                      _summary(importlib.import_module(modname)), ""]
            linked = [(q, o) for q, o in entries if id(o) in elsewhere]
            for qualname, obj in linked:
                lines += [f"- :py:obj:`{qualname} <{elsewhere[id(obj)]}>` -- {_summary(obj)}"]
            if linked:
                lines.append("")
            for qualname, obj in entries:
                if id(obj) not in elsewhere:
                    lines += _directive(qualname, obj)
        container = nodes.section()
        container.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source="sklhep-api"), container)
        return container.children


def setup(app):
    app.add_directive("sklhep-api", SklhepAPI)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
