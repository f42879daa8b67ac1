"""The documentation's sources: every public name gets its API page, the pages' Python runs.

The site itself is built by ``make docs`` (``make test``, what CI runs, builds it after
the suite) with warnings as errors, the gallery executed and every internal reference
checked; these checks need no Sphinx.
"""

import importlib.util
import re
from pathlib import Path

import pytest

import sknrnn

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted([DOCS / "getting_started.md", DOCS / "index.md", *(DOCS / "user_guide").glob("*.md")])


def _conf():
    spec = importlib.util.spec_from_file_location("_sknrnn_docs_conf", DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def test_the_api_reference_lists_every_public_name_once(tmp_path):
    conf = _conf()
    sections = conf.api_sections()
    listed = [name for names in sections.values() for name in names]
    assert sorted(listed) == sorted(sknrnn.__all__)
    assert "Other" not in sections, sections.get("Other")  # every name has its section
    assert sections["Data"] == ["__version__"]
    page = tmp_path / "api.rst"
    conf.write_api_page(page)
    text = page.read_text()
    entries = re.findall(r"^   (\w+)$", text, flags=re.M)  # the autosummary entries: one page each
    assert sorted(entries) == sorted(set(listed) - {"__version__"})
    assert f".. py:data:: __version__\n   :value: '{sknrnn.__version__}'" in text


def test_a_name_added_to_all_gets_a_page(tmp_path, monkeypatch):
    conf = _conf()

    def brand_new_tool(X):
        """A function that no section of the reference knows."""

    brand_new_tool.__module__ = "sknrnn._somewhere_new"
    monkeypatch.setattr(sknrnn, "brand_new_tool", brand_new_tool, raising=False)
    monkeypatch.setattr(sknrnn, "__all__", [*sknrnn.__all__, "brand_new_tool"])
    assert conf.api_sections()["Other"] == ["brand_new_tool"]
    conf.write_api_page(tmp_path / "api.rst")
    assert "   brand_new_tool\n" in (tmp_path / "api.rst").read_text()


@pytest.mark.parametrize("page", [p for p in PAGES if "```python" in p.read_text()],
                         ids=lambda p: p.relative_to(DOCS).as_posix())
def test_the_python_blocks_of_a_page_run(page, monkeypatch, tmp_path):
    """```python blocks run, each page's in one namespace; ```py blocks are shown, not run
    (they need a cluster, a model file or the names of the page's prose)."""
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for block in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S):
        exec(compile(block, str(page), "exec"), namespace)
