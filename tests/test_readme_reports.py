"""The README's report commands, run as written, from a fresh clone, in smoke mode.

The commands are read from README.md's ``bash`` blocks (every line that runs ``make reports``,
``helpers.reports`` or ``papermill``), so the test follows the README when it changes. Each
runs from the clone's root with the README's relative paths; the clone shares this checkout's
``.venv`` (linked, and made older than it so that ``make`` does not reinstall).
"""

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
VENV = ROOT / ".venv"
LESSONS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.notebooks


def report_commands(readme=README):
    """The README's shell lines that make reports, continuation lines joined, comments dropped."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", readme.read_text(encoding="utf-8"), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if re.search(r"make reports|helpers\.reports|papermill ", line):
                commands.append(" ".join(line.split()))
    return commands


def test_the_readme_shows_the_report_commands():
    commands = report_commands()
    assert "make reports PARAMS=params/smoke.yaml" in commands
    assert "make reports" in commands
    assert any("helpers.reports params/my_csv.yaml" in c for c in commands)
    assert any(c.startswith(".venv/bin/papermill ") for c in commands)


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    if not (VENV / ".installed").is_file():
        pytest.fail("no .venv here: run `make setup` first")
    target = tmp_path_factory.mktemp("fresh") / "svm-in-keras"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True)
    # The working tree as it is now (tests run before a commit too), without ignored files.
    for name in subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
        capture_output=True, text=True, check=True,
    ).stdout.splitlines():
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(VENV)
    # make compares times: sources older than .venv/.installed mean "installed already".
    stamp = (VENV / ".installed").stat().st_mtime - 60
    for path in target.rglob("*"):
        if ".git" not in path.parts and not path.is_symlink():
            os.utime(path, (stamp, stamp))
    # The README's own example of a learner's file, in the place its command names.
    shutil.copy(ROOT / "data" / "four_class.csv", target / "my_table.csv")
    return target


def _run(command, cwd):
    env = {**os.environ, "SVM_TUTORIAL_SMOKE": "1"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"`{command}` failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _check_report_folder(folder, names):
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "Smoke run" in index and "are not results" in index
    for name in names:
        assert f"href='{name}.html'" in index
        assert f"alt='key figure of {name}'" in index and (folder / f"{name}.png").stat().st_size > 1000
        page = (folder / f"{name}.html").read_text(encoding="utf-8")
        assert "<img" in page, f"{name}.html has no figure"
        # Hand-outs: no code, no setup cells, no log noise, no path into a folder that is gone.
        assert "from helpers import" not in page and "Derived values" not in page
        assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page, f"{name}.html shows stderr output"
        assert ".partial" not in page and ".partial" not in index
    assert re.search(r"test accuracy</td><td class='value'>0\.\d+", index)
    assert not folder.with_name(folder.name + ".partial").exists()


def test_make_reports_smoke_from_a_fresh_clone(clone):
    _run("make reports PARAMS=params/smoke.yaml", clone)
    _check_report_folder(clone / "reports", LESSONS)


def test_every_other_report_command_of_the_readme(clone):
    commands = [c for c in report_commands() if c != "make reports PARAMS=params/smoke.yaml"]
    for command in commands:
        _run(command, clone)
        if command.startswith(".venv/bin/papermill"):
            words = shlex.split(command)
            assert (clone / words[2]).is_file()  # the executed notebook
            assert (clone / words[words.index("results_path") + 1]).is_file()
    # The learner's CSV report (the last helpers.reports command) replaced the full set.
    _check_report_folder(clone / "reports", ["04_my_csv"])
