"""The table of parameters (sknrnn/_params.py) is the one source of what they are.

The estimators' signatures, constraints and docstrings, the roles that continued
training reads, the defaults filled in for older saves and the documentation's
parameter table (docs/user_guide/estimators.md) all agree with it.
"""

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor
from sknrnn import _compat, _continued, _params

DOCS = Path(__file__).resolve().parents[1] / "docs" / "user_guide"
TABLE_PAGE = DOCS / "estimators.md"  # the table of every parameter
CONTINUED_PAGE = DOCS / "continued_training.md"  # which parameters shape the weights


def _table(only=None):
    return [p for p in _params.PARAMS if p.only is None or p.only == only]


@pytest.mark.parametrize("Estimator, only", [
    (NoisyRNNClassifier, "classifier"), (NoisyRNNRegressor, None),
])
def test_signatures_constraints_and_docs_follow_the_table(Estimator, only):
    params = _table(only)
    signature = inspect.signature(Estimator.__init__).parameters
    assert [name for name in signature if name != "self"] == [p.name for p in params]
    for param in params:
        assert signature[param.name].default == param.default, param.name
    assert Estimator().get_params() == {p.name: p.default for p in params}
    assert set(Estimator._parameter_constraints) == {p.name for p in params}
    for param in params:  # each parameter documented once, with its default
        header = f"    {param.name} : {param.kind}, default={_params._shown(param.default)}\n"
        assert Estimator.__doc__.count(header) == 1, param.name
        assert param.entry() in Estimator.__doc__


def test_continued_training_and_old_saves_read_the_roles_of_the_table():
    assert _continued.FIXED == tuple(p.name for p in _params.PARAMS if p.role == _params.SHAPE)
    assert set(_continued.IN_LOOP) == {p.name for p in _params.PARAMS if p.role == _params.LOOP}
    # a save that lacks every parameter added since 0.1 gets each one's legacy value
    state = {"loss_curve_": [1.0], "max_iter": 5}
    _compat.upgrade_saved_state(state, {"w": np.zeros(1)})
    for name, value in _params.LEGACY.items():
        assert state[name] == value, name
    assert {"noise_increment", "window", "bidirectional", "readout", "input_clip",
            "augment", "module", "standardize"} == set(_params.LEGACY)
    # and was standardized per channel (0.1 to 0.4)
    assert state["_x_offset"] is None and state["standardize_"] == "channel"


def _table_rows():
    text = TABLE_PAGE.read_text()
    table = text[text.index("| parameter | default | meaning |"):]
    rows = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        names_cell, defaults_cell = [c.strip() for c in line.strip("|").split("|")[:2]]
        names = re.findall(r"`(\w+)`", names_cell)
        defaults = [d.strip() for d in defaults_cell.split(",")]
        assert len(names) == len(defaults), line
        rows.extend(zip(names, defaults))
    return rows


def _table_value(text):
    text = text.strip("`")
    if text.startswith('"'):
        return text.strip('"')
    return {"True": True, "False": False, "None": None}.get(text, None if text == "None" else (
        float(text) if re.fullmatch(r"[-+0-9.e]+", text) else text
    ))


def test_the_docs_table_lists_every_parameter_with_its_default():
    rows = _table_rows()
    assert [name for name, _ in rows] == [p.name for p in _params.PARAMS]
    for name, shown in rows:
        assert _table_value(shown) == _params.BY_NAME[name].default, (name, shown)


def test_the_docs_name_the_parameters_that_shape_the_weights():
    text = " ".join(CONTINUED_PAGE.read_text().split())
    match = re.search(r"(`hidden_size`, .*?) shape the fitted weights", text)
    assert set(re.findall(r"`(\w+)`", match.group(1))) == set(_continued.FIXED)


@pytest.mark.parametrize("name, value, message", [
    ("dt", (0.5, 0.1), r"\(dt_min, dt_max\) pair"),
    ("dt", 1e-40, "at least 1.2e-38"),
    ("noise_level", (0.1, 0.2, 0.3), r"\(additive, multiplicative\) pair"),
    ("noise_level", float("inf"), "finite float >= 0"),
    ("device", "cuda:x", "torch device"),
    ("callbacks", [object()], "skorch callbacks"),
    ("module", int, "subclass of sknrnn.NoisyRNN"),
])
def test_what_needs_no_data_is_checked_before_any_data_is_read(name, value, message):
    # X is not even an array: the parameters are refused before it is looked at
    with pytest.raises(ValueError, match=f"'{name}' parameter .*{message}"):
        NoisyRNNClassifier(**{name: value}).fit("not data", None)


def test_the_module_arguments_are_split_by_role():
    est = NoisyRNNClassifier()
    # how the module reads its input, apart from the constants of its equations: a
    # fitted module takes both in place, neither has to be picked out of the other
    assert set(est._reading_arguments()) == set(_params.READING_PARAMS)
    assert not set(est._equation_arguments()) & set(_params.READING_PARAMS)
