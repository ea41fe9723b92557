"""lineage.toml: validation with file and line, topological order, params, code hash."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lineage.errors import InvalidPipeline, UsageError
from lineage.pipeline import load_pipeline, params_hash
from tests.helpers import invoke

GOOD = """
[steps.load]
key = "table"
time = "retrieval_time"
command = "python steps/load.py --table {table}"
code = ["steps/load.py"]

[steps.process]
key = "logic"
after = ["load"]
command = "python steps/process.py --logic {logic} --fill {fill}"
params = { fill = { type = "string", default = "mean" }, k = 3 }

[steps.train]
key = "algorithm"
after = ["process"]
command = "python steps/train.py {algorithm} --C {C} --deep {deep}"
params = { C = { type = "float", default = 1.0 }, deep = { type = "bool", default = false } }
"""


def write(root: Path, text: str) -> Path:
    path = root / "lineage.toml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_valid_pipeline_orders_steps_and_types_params(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "load.py").write_text("print('v1')\n")
    pipeline = load_pipeline(tmp_path)
    assert pipeline is not None
    assert pipeline.order == ["load", "process", "train"]
    assert pipeline.roots() == ["load"]
    assert pipeline.ancestors("train") == ["load", "process", "train"]
    assert pipeline.keys() == {"table": ["load"], "logic": ["process"], "algorithm": ["train"]}
    train = pipeline.step("train")
    assert train.resolve_params({"C": "0.5"}) == {"C": 0.5, "deep": False}
    assert train.resolve_params({"deep": "yes"}) == {"C": 1.0, "deep": True}
    assert pipeline.step("process").resolve_params({}) == {"fill": "mean", "k": 3}
    with pytest.raises(UsageError, match="parameter C of step 'train' must be a float, not 'x'"):
        train.resolve_params({"C": "x"})
    with pytest.raises(UsageError, match="has no parameter 'gamma'"):
        train.resolve_params({"gamma": "1"})
    # Values are shell-quoted into the command.
    command = train.render_command("Logistic Regression; rm -rf /", {"C": 0.5, "deep": True})
    assert command == "python steps/train.py 'Logistic Regression; rm -rf /' --C 0.5 --deep true"
    assert params_hash({"C": 1.0}) == params_hash({"C": 1.0})
    assert params_hash({"C": 1.0}) != params_hash({"C": 2.0})


def test_code_hash_follows_the_code_files(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    (tmp_path / "steps").mkdir()
    code = tmp_path / "steps" / "load.py"
    code.write_text("print('v1')\n")
    pipeline = load_pipeline(tmp_path)
    assert pipeline is not None
    first = pipeline.code_hash("load")
    assert first is not None and first.startswith("xxh128:")
    assert pipeline.code_hash("load") == first
    assert pipeline.code_hash("process") is None  # no code files declared
    code.write_text("print('v2')\n")
    assert pipeline.code_hash("load") != first
    code.write_text("print('v1')\n")
    assert pipeline.code_hash("load") == first


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[steps.load\nkey = 'x'\n", r"lineage\.toml: .*line 1.*fix the TOML syntax"),
        (
            "[steps.a]\nkey = 'k'\nafter = ['nope']\n",
            r"lineage\.toml:3: step 'a' comes after 'nope', which is not a step \(steps: a\)",
        ),
        (
            "[steps.a]\nkey = 'k'\nafter = ['b']\n\n[steps.b]\nkey = 'j'\nafter = ['a']\n",
            r"lineage\.toml:3: the steps form a cycle: a -> b -> a",
        ),
        ("[steps.a]\ncommand = 'x'\n", r"lineage\.toml:1: step 'a' needs a key"),
        (
            "[steps.a]\nkey = 'k'\nparams = { C = { type = 'complex' } }\n",
            r"lineage\.toml:3: step 'a': parameter 'C' has type 'complex'; use one of string, int",
        ),
        (
            "[steps.a]\nkey = 'k'\nparams = { C = { type = 'int', default = 'many' } }\n",
            r"lineage\.toml:3: step 'a': default 'many' of parameter 'C' is not a int",
        ),
        (
            "[steps.a]\nkey = 'k'\ncommand = 'run {missing}'\n",
            r"lineage\.toml:3: step 'a': command uses \{missing\}, which is neither its key",
        ),
        (
            "[steps.a]\nkey = 'k'\ncolour = 'red'\n",
            r"lineage\.toml:3: step 'a' has an unknown field 'colour'",
        ),
    ],
)
def test_invalid_pipeline_names_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, text)
    with pytest.raises(InvalidPipeline, match=message):
        load_pipeline(tmp_path)


def test_cli_reports_invalid_pipeline_in_one_line(project: Path) -> None:
    write(project, "[steps.a]\nkey = 'k'\nafter = ['b']\n\n[steps.b]\nkey = 'j'\nafter = ['a']\n")
    result = invoke("resolve", "--k", "x")
    assert result.exit_code == 2
    assert result.stderr == "Error: lineage.toml:3: the steps form a cycle: a -> b -> a\n"
