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
