from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [line for line in ci if "pip install" in line and "-e" in line]
    assert len(commands) == 2, commands
    for line in commands:
        assert line.strip() in readme, f"{line!r} is in .ci/run but not in README.md"
