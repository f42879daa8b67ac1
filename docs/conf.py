"""Sphinx configuration of sknrnn's documentation (``make docs``).

The site is built with warnings as errors (``sphinx-build -W``) and ``nitpicky``:
every cross-reference to a sknrnn name, a page or a section must resolve, so a
broken internal link fails the build (``sphinx-build -b linkcheck`` would need
the network; the internal links are all checked by the html build itself).

The API reference (``api.rst``) is written here, at each build, from
``sknrnn.__all__``: a name added to ``__all__`` gets its page without an edit here.
The gallery runs ``examples/plot_*.py`` with ``SKNRNN_EXAMPLES_FAST=1`` (their
small setting, seconds each); ``SKNRNN_EXAMPLES_FAST=0 make docs`` runs them in full.
"""

import os
import sys
import types
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import sknrnn  # noqa: E402

project = "sknrnn"
author = "the sknrnn developers"
copyright = "the sknrnn developers"
release = sknrnn.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_templates", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5", "auto_examples/*.json",
                    "**.ipynb_checkpoints"]
templates_path = ["_templates"]

# Internal links: every reference must resolve. Names of other libraries (numpy,
# scikit-learn, torch, ...) are not linked (no intersphinx: it needs the network).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|sklearn|torch|skorch|joblib|pandas|matplotlib|dask|distributed"
               r"|skops|onnx|onnxruntime|skl2onnx)(\..*)?"),
    (r"py:.*", r"(array-like|ndarray|DataFrame|Axes|Figure|Generator|RandomState|tuple"
               r"|callable|dict|list|float|int|str|bool|None|optional|object|default.*)"),
]

autosummary_generate = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"
# a method without a docstring of its own (NoisyRNN.forward) shows none, not torch's
autodoc_inherit_docstrings = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()
# numpydoc drops a section it does not know (with a Python warning, which -W does not
# see): an error instead, so that no docstring loses a part of itself on its page
warnings.filterwarnings("error", message="Unknown section", category=UserWarning)

myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = f"sknrnn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []
html_show_sourcelink = False

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # only plot_*.py run; the others (scaling_out.py: it starts a Dask cluster) are shown as code
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "capture_repr": (),
    "matplotlib_animations": False,
    "min_reported_time": 1,
    # the "Examples using ..." list of each API page
    "doc_module": ("sknrnn",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sknrnn": None},
}


# -- API reference, from sknrnn.__all__ -------------------------------------------

# The sections of the reference by the module that defines a name; a name whose
# module is not listed goes to "Other" (it still gets its page).
SECTIONS = [
    ("Estimators", ["sknrnn._classes"]),
    ("The torch module", ["sknrnn._sde"]),
    ("Input helpers", ["sknrnn._validation", "sknrnn._formats"]),
    ("Robustness", ["sknrnn.robustness"]),
    ("Perturbations", ["sknrnn.perturbations"]),
    ("Diagnostics", ["sknrnn.diagnostics"]),
    ("Export", ["sknrnn._onnx", "sknrnn.onnx"]),
]


# What the Data section says of each value (the values have no docstrings).
DATA_DOCS = {"__version__": "The version of the package (as in ``pyproject.toml``)."}


def _section_of(name):
    obj = getattr(sknrnn, name)
    if isinstance(obj, types.ModuleType):
        return "Modules"
    if not callable(obj):  # a value (__version__): a py:data entry, no page of its own
        return "Data"
    module = getattr(obj, "__module__", None)
    for title, modules in SECTIONS:
        if module in modules:
            return title
    return "Other"


def api_sections():
    """``{section title: [names]}`` covering every name of ``sknrnn.__all__``."""
    order = [title for title, _ in SECTIONS] + ["Modules", "Data", "Other"]
    sections = {title: [] for title in order}
    for name in sknrnn.__all__:
        sections[_section_of(name)].append(name)
    return {title: names for title, names in sections.items() if names}


def write_api_page(path=DOCS / "api.rst"):
    lines = [
        ".. This file is written by docs/conf.py from sknrnn.__all__ at each build; do not edit.",
        "",
        "API reference",
        "=============",
        "",
        ".. currentmodule:: sknrnn",
        "",
        "Every public name of sknrnn (``sknrnn.__all__``): each function, class and module",
        "on a page of its own, each value under *Data*.",
        "",
    ]
    for title, names in api_sections().items():
        if title == "Data":
            lines += [title, "-" * len(title), ""]
            for name in names:
                about = DATA_DOCS.get(name, "A value of the package.")
                lines += [f".. py:data:: {name}", f"   :value: {getattr(sknrnn, name)!r}", "",
                          f"   {about}", ""]
            continue
        lines += [title, "-" * len(title), "", ".. autosummary::", "   :toctree: generated",
                  "   :nosignatures:", ""]
        lines += [f"   {name}" for name in names] + [""]
    text = "\n".join(lines)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)



def _resolve_public_name(app, env, node, contnode):
    """``:func:`stability_margin``` inside ``sknrnn.diagnostics`` -> ``sknrnn.stability_margin``.

    The public names are documented where users import them, at the top of the
    package (``sknrnn.stability_margin``); the modules' docstrings name them
    unqualified. Only names of ``sknrnn.__all__`` are resolved this way: any other
    missing target still fails the build.
    """
    if node.get("refdomain") != "py":
        return None
    name = node["reftarget"].rsplit(".", 1)[-1]
    if name not in sknrnn.__all__ or node["reftarget"] == f"sknrnn.{name}":
        return None
    return env.get_domain("py").resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], f"sknrnn.{name}", node, contnode
    )


def setup(app):
    # the gallery's small setting (the examples read it), unless the caller chose
    os.environ.setdefault("SKNRNN_EXAMPLES_FAST", "1")
    write_api_page()
    app.connect("missing-reference", _resolve_public_name)
