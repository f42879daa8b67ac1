"""The README's Python code runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python block"
    namespace = {"__name__": "__readme__"}  # later blocks build on earlier ones
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert "noisyrnnclassifier__noise_type" in capsys.readouterr().out


def test_the_package_says_the_version_of_its_metadata():
    """The package said 0.3.0 while README, benchmarks and _compat.py described 0.4."""
    import tomllib

    import sknrnn

    pyproject = tomllib.loads((README.parent / "pyproject.toml").read_text())
    assert sknrnn.__version__ == pyproject["project"]["version"] == "0.4.0"
