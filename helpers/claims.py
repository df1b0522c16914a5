"""A notebook's claims, stated in code and shown as its "What this notebook showed" table.

Every number in a notebook's prose must be one its run printed and checked: ``Claims.check``
records a claim, ``Claims.report`` shows the table and fails if one does not hold, and
``python -m helpers.claims notebooks/`` reads the claims back from saved outputs, running nothing.
"""

import argparse
import html
import json
import operator
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

MIME_TYPE = "application/vnd.svm-in-keras.claims+json"
TITLE = "What this notebook showed"
# threshold: (symbol, test, the sides of the value it bounds); two may not bound the same side.
_TESTS = {
    "at_least": ("≥", operator.ge, {"low"}),
    "above": (">", operator.gt, {"low"}),
    "at_most": ("≤", operator.le, {"high"}),
    "below": ("<", operator.lt, {"high"}),
    "equals": ("=", None, {"low", "high"}),
}


class ClaimsFailed(AssertionError):
    """``report()`` found claims that do not hold; the message lists them."""


@dataclass
class Claim:
    statement: str
    value: float | int | bool
    needs: str  # the applied thresholds in words: "≥ 0.99", "= 0.5 ± 1e-06"
    thresholds: dict  # the applied thresholds by name
    applied: str  # "full", or the smoke thresholds that replaced full ones: "smoke_at_least"
    holds: bool


def fmt(x):
    """Ints (and bools) as they are, other numbers with 4 significant digits, no exponent >= 1e4."""
    return str(x) if isinstance(x, int) else f"{x:.0f}" if 1e4 <= abs(x) < 1e15 else f"{x:.4g}"


def _number(name, x, statement):
    """``x`` (a Python, NumPy or backend scalar) as a finite bool, int or float."""
    a = np.asarray(None if isinstance(x, (str, bytes)) else x)
    if a.ndim or a.dtype.kind not in "biuf" or not np.isfinite(a):
        raise _bad(statement, f"`{name}` must be a finite number. Received {name}={x!r}")
    return a.item()


def _bad(statement, problem):
    return ValueError(f"Claim {statement!r}: {problem}")


def _line(c):
    smoke = "" if c.applied == "full" else f"; {c.applied}"
    return (f"{'✓ holds' if c.holds else '✗ DOES NOT HOLD'}: {c.statement} "
            f"(measured {fmt(c.value)}, needs {c.needs}{smoke})")


class Claims:
    """A notebook's claims: ``check`` records one, ``report`` shows the table and enforces them."""

    def __init__(self, smoke=False, verbose=True):
        self.smoke = bool(smoke)
        self.verbose = verbose  # print a one-line verdict per check
        self.records = {}  # Claim by statement: re-running a cell replaces its claim

    @property
    def failed(self):
        return [c for c in self.records.values() if not c.holds]

    def check(self, statement, value, *, at_least=None, above=None, at_most=None, below=None,
              equals=None, tol=None, smoke_at_least=None, smoke_above=None, smoke_at_most=None,
              smoke_below=None, smoke_tol=None):
        """Record whether ``value`` meets the thresholds (smoke ones in a smoke run) and return it.
        Bounds compare exactly; ``equals`` holds when ``|value - equals| <= tol`` (default 0)."""
        given = dict(locals())  # first: the arguments, of which the thresholds are the keywords
        if not isinstance(statement, str) or not statement.strip():
            raise ValueError(f"`statement` must be a non-empty string. Received {statement!r}")
        given = {k: _number(k, v, statement) for k, v in given.items()
                 if k not in ("self", "statement", "value") and v is not None}
        full = {k: v for k, v in given.items() if not k.startswith("smoke_")}
        loose = {k.removeprefix("smoke_"): v for k, v in given.items() if k.startswith("smoke_")}
        value = _number("value", value, statement)
        tests = [k for k in _TESTS if k in full]
        sides = [side for k in tests for side in _TESTS[k][2]]
        if not tests or len(sides) > len(set(sides)):
            raise _bad(statement, "give one of at_least/above, one of at_most/below, both, or "
                       f"equals alone. Received: {', '.join(tests) or 'no threshold'}")
        if "tol" in full and "equals" not in full:
            raise _bad(statement, "`tol` needs `equals`")
        if "equals" in full and full.setdefault("tol", 0) < 0:
            raise _bad(statement, f"`tol` must be >= 0. Received tol={full['tol']}")
        for k, v in loose.items():  # a smoke threshold replaces its full one, and only loosens it
            if k not in full or ((v > full[k]) if k in ("at_least", "above") else (v < full[k])):
                raise _bad(statement, f"`smoke_{k}` must loosen `{k}`, which it replaces in a "
                           f"smoke run. Received {k}={full.get(k)}, smoke_{k}={v}")
        thr = {**full, **loose} if self.smoke else full
        if "equals" in thr:
            holds = abs(value - thr["equals"]) <= thr["tol"]
            needs = f"= {fmt(thr['equals'])}" + (f" ± {fmt(thr['tol'])}" if thr["tol"] else "")
        else:
            holds = all(_TESTS[k][1](value, thr[k]) for k in tests)
            needs = " and ".join(f"{_TESTS[k][0]} {fmt(thr[k])}" for k in tests)
        applied = ", ".join(f"smoke_{k}" for k in loose) if self.smoke and loose else "full"
        claim = self.records[statement] = Claim(statement, value, needs, thr, applied, bool(holds))
        if self.verbose:
            print(_line(claim))
        return claim.holds

    def _heading(self):
        bad, n, mode = len(self.failed), len(self.records), "smoke" if self.smoke else "full"
        verdict = f"✗ {bad} of {n} claims do NOT hold" if bad else f"{n} of {n} claims hold"
        return f"{TITLE} ({mode} run): {verdict}"

    def text(self):
        """The table as plain text: the heading, then one line per claim."""
        return "\n".join([self._heading()] + [f"  {_line(c)}" for c in self.records.values()])

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The table as HTML and plain text, plus the claims as JSON for the command line."""
        rows = [("claim", "measured", "needs", "thresholds", "verdict")] + [
            (c.statement, fmt(c.value), c.needs, c.applied,
             "✓ holds" if c.holds else "✗ does NOT hold") for c in self.records.values()]
        def tr(row, tag="td"):  # failed claims in red; left-aligned, as JupyterLab right-aligns
            style = "text-align:left" + (";color:#b00020" if row[-1].startswith("✗") else "")
            return "<tr>" + "".join(f'<{tag} style="{style}">{html.escape(x)}</{tag}>'
                                    for x in row) + "</tr>"
        table = (f"<table><caption><b>{html.escape(self._heading())}</b></caption>"
                 f"{tr(rows[0], 'th')}{''.join(map(tr, rows[1:]))}</table>")
        claims = [asdict(c) for c in self.records.values()]
        return {"text/plain": self.text(), "text/html": table,
                MIME_TYPE: {"title": TITLE, "smoke": self.smoke, "claims": claims}}

    def report(self, strict=True):
        """Show the table; raise ClaimsFailed if a claim fails, unless strict=False (own data)."""
        if not self.records:
            raise ValueError("report(): no claims were checked; call claims.check(...) first")
        ipython = sys.modules.get("IPython")  # a notebook kernel has imported it; else plain text
        if ipython and ipython.get_ipython():
            from IPython.display import display
            display(self)  # HTML, plain text and the JSON of MIME_TYPE, via _repr_mimebundle_
        else:
            print(self.text())
        if self.failed and strict:
            raise ClaimsFailed("\n".join([self._heading()] + [_line(c) for c in self.failed]))


def read_claims(path):
    """The claims payload of the last ``report()`` output saved in notebook ``path``, or None."""
    try:
        outputs = [o for c in json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
                   for o in c.get("outputs", [])]
        found = [o["data"][MIME_TYPE] for o in outputs if MIME_TYPE in o.get("data", {})]
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"{path}: not a readable notebook ({err!r})") from None
    return found[-1] if found else None  # nbformat keeps *+json outputs as JSON, not text


def main(argv=None):
    """Check the claims saved in notebooks' outputs, executing nothing. Exit status: 1 if a claim
    does not hold or a notebook has no claims output, 2 for a path that is not a notebook."""
    parser = argparse.ArgumentParser(prog="python -m helpers.claims", description=main.__doc__)
    parser.add_argument("paths", nargs="+", help="notebooks, or folders of notebooks")
    notebooks = []
    for p in map(Path, parser.parse_args(argv).paths):
        is_notebook = p.is_file() and p.suffix == ".ipynb"
        inside = sorted(p.glob("*.ipynb")) if p.is_dir() else [p] if is_notebook else []
        if not inside:  # a bad path: say which and why, exit status 2
            why = ("no such file or folder" if not p.exists() else "not a notebook (.ipynb) file"
                   if p.is_file() else "no .ipynb notebook in this folder")
            parser.exit(2, f"error: {p}: {why}\n")
        notebooks += inside
    bad = 0
    for nb in notebooks:
        try:
            payload = read_claims(nb)
        except ValueError as err:
            parser.exit(2, f"error: {err}\n")
        if not payload or not payload["claims"]:
            print(f"{nb}: ✗ no claims output (run it through claims.report(), save with outputs)")
            bad += 1
            continue
        saved = Claims(smoke=payload["smoke"])
        saved.records = {c["statement"]: Claim(**c) for c in payload["claims"]}
        print(f"{nb}: {saved.text()}")
        bad += bool(saved.failed)
    print(f"{len(notebooks) - bad} of {len(notebooks)} notebooks hold all their claims")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
