"""The benchmark record: every log in benchmarks/results is linked, every linked log exists."""

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "build", "dist", "__pycache__"}
# A results path as the Markdown files write it: `results/x.log`, `benchmarks/results/archive/x.jsonl`.
NAMED = re.compile(r"(?<![\w.-])results/([\w./-]+?\.(?:jsonl|log|json|csv|txt|png))(?![\w.-])")


def _markdown_texts():
    texts = {}
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]
        for name in files:
            if name.endswith(".md"):
                path = Path(folder, name)
                texts[path.relative_to(ROOT).as_posix()] = path.read_text(encoding="utf-8")
    return texts


def _results_files():
    return sorted(p.relative_to(RESULTS).as_posix() for p in RESULTS.rglob("*") if p.is_file())


def test_every_results_file_is_referenced_by_a_markdown_file():
    texts = "\n".join(_markdown_texts().values())
    files = _results_files()
    assert files, "benchmarks/results holds no file"
    unreferenced = [
        f for f in files
        if not re.search(r"(?<![\w.-])results/" + re.escape(f) + r"(?![\w.-])", texts)
    ]
    assert not unreferenced, (
        "files in benchmarks/results that no .md file links (link them from the history in "
        f"benchmarks/README.md, or git rm them): {unreferenced}"
    )


def test_every_results_file_named_in_the_readmes_exists():
    missing = []
    docs = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md")
                  if "_build" not in p.parts)  # the documentation quotes logs too
    for readme in ("benchmarks/README.md", "README.md", *docs):
        text = (ROOT / readme).read_text(encoding="utf-8")
        for name in sorted(set(NAMED.findall(text))):
            if not (RESULTS / name).is_file():
                missing.append(f"{readme}: results/{name}")
    assert not missing, f"results files named but not in benchmarks/results: {missing}"


def test_the_record_opens_with_the_index_and_the_current_numbers():
    headings = re.findall(r"^## (.+)$", (ROOT / "benchmarks/README.md").read_text(), flags=re.M)
    assert headings[:3] == ["Index", "Current numbers", "History (newest first)"]
