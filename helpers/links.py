"""Point every Colab/Binder link and the Colab clone line at the repository set in pyproject.toml.

The repository address lives in one place, ``[project.urls] Repository`` in pyproject.toml.
After forking, change it there and run ``python -m helpers.links``: it rewrites the badges
and the ``git clone`` line in every notebook and the badges in README.md.
``python -m helpers.links --check`` only reports files that are out of date (exit 1).
"""

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Any github.com/OWNER/NAME inside a Colab, Binder or clone URL.
_GITHUB = re.compile(
    r"(colab\.research\.google\.com/github/|mybinder\.org/v2/gh/|https://github\.com/)"
    r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?(?=/|\.git\b|\s|$|\))"
)


def repository(root=ROOT):
    """``OWNER/NAME`` from pyproject.toml's ``[project.urls] Repository``."""
    pyproject = tomllib.loads((Path(root) / "pyproject.toml").read_text())
    url = pyproject.get("project", {}).get("urls", {}).get("Repository", "")
    match = re.fullmatch(r"https://github\.com/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)/?", url)
    if not match:
        raise ValueError(f"pyproject.toml: [project.urls] Repository must be https://github.com/OWNER/NAME, got {url!r}")
    return match.group(1)


def rewrite(text, repo):
    """Every GitHub repository address in Colab/Binder/clone links replaced by ``repo``."""
    return _GITHUB.sub(lambda m: m.group(1) + repo, text)


def link_files(root=ROOT):
    root = Path(root)
    return [root / "README.md", *sorted((root / "notebooks").glob("*.ipynb"))]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m helpers.links", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only list files whose links are out of date")
    args = parser.parse_args(argv)
    repo = repository()
    stale = []
    for path in link_files():
        text = path.read_text(encoding="utf-8")
        new = rewrite(text, repo)
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    verb = "out of date" if args.check else "rewritten"
    for path in stale:
        print(f"{verb}: {path.relative_to(ROOT)}")
    if not stale:
        print(f"all links point at {repo}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
