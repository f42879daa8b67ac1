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
