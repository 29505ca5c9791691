from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [line for line in ci if "pip install" in line and "-e" in line]
    assert len(commands) == 2, commands
    for line in commands:
        assert line.strip() in readme, f"{line!r} is in .ci/run but not in README.md"


def test_ci_numpy2_environment_runs_the_readme_python313_command():
    readme = (ROOT / "README.md").read_text()
    run = (ROOT / ".ci" / "run").read_text()
    script = (ROOT / ".ci" / "numpy2").read_text().splitlines()
    assert "bash .ci/numpy2" in run
    commands = [line for line in script if "pip install" in line and "-e" in line]
    assert len(commands) == 1, commands
    assert commands[0].strip() in readme, f"{commands[0]!r} is in .ci/numpy2 but not in README.md"
    # no torch there: on Python 3.13 plain pip would download the multi-GB CUDA build
    assert "torch" not in commands[0]


def _python_blocks(text):
    blocks, inside, current = [], False, []
    for line in text.splitlines():
        if line.strip() == "```python":
            inside, current = True, []
        elif inside and line.strip() == "```":
            inside = False
            blocks.append("\n".join(current))
        elif inside:
            current.append(line)
    return blocks


def test_readme_fifteen_line_example_runs(capsys):
    import pytest

    pytest.importorskip("xgboost")
    readme = (ROOT / "README.md").read_text()
    first = readme.split("```bash")[1]
    assert first.strip().splitlines()[0].endswith("sklhep demo --quick")
    assert "sklhep-demo/report.html" in readme.split("```bash")[0]
    code = _python_blocks(readme)[0]
    assert len(code.splitlines()) <= 15
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    auc = float(out.split("quark/gluon AUC:")[1].split()[0])
    assert "cwola__backend" in out
    assert 0.7 < auc < 0.9, out
