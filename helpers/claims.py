"""A notebook's claims, stated in code and shown as its "What this notebook showed" table.

Every number in a notebook's prose must be one its run printed and checked: ``Claims.check``
records a claim, ``Claims.report`` shows the table and fails if one does not hold, and
``python -m helpers.claims notebooks/`` reads the claims back from saved outputs, running nothing.

Each claim names the *basis* of its threshold, fixed before the run:

- ``theory``: the threshold follows from a statement (an identity, a bound, a tolerance of the solver);
- ``noise``: it rests on a standard error or on seeds. Give the per-seed values (``value=[...]``) or
  a standard error (``se=``): the claim then holds only if the whole interval value ± 2 SE meets
  the bounds, and the table shows that interval. ``equals`` with ``se`` and no ``tol`` claims
  "no measurable difference": the interval contains the value compared with;
- ``target``: it is a target set by an issue, met or missed as measured.

Write the basis as ``"noise"`` or, better, with its reason: ``"theory: C = 1/(2λnK) makes the
objectives equal"``. A check without one is recorded, and fails the report and the command line.
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
BASES = ("theory", "noise", "target")
SE_WIDTH = 2  # a claim about a noisy value holds only beyond two standard errors


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
    basis: str | None = None  # "theory", "noise" or "target", with its reason after a colon
    se: float | None = None  # the value's standard error, for claims about noisy values
    n_samples: int | None = None  # how many per-seed values the value is the mean of

    @property
    def interval(self):
        """(low, high): value ± 2 SE, or None for a claim without a standard error."""
        if self.se is None:
            return None
        return (self.value - SE_WIDTH * self.se, self.value + SE_WIDTH * self.se)

    def measured(self):
        """The value as the table shows it: with its ± 2 SE interval and seeds where it has one."""
        if self.se is None:
            return fmt(self.value)
        seeds = f", {self.n_samples} values" if self.n_samples else ""
        low, high = self.interval
        return f"{fmt(self.value)} ± {fmt(SE_WIDTH * self.se)} [{fmt(low)}, {fmt(high)}]{seeds}"


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


def _basis(statement, basis):
    """``basis`` checked: one of BASES, optionally followed by ': reason'; None stays None."""
    if basis is None:
        return None
    kind = basis.split(":", 1)[0].strip() if isinstance(basis, str) else None
    if kind not in BASES or (":" in basis and not basis.split(":", 1)[1].strip()):
        raise _bad(statement, f"`basis` must be one of {', '.join(BASES)}, optionally followed by "
                   f"': <reason>'. Received basis={basis!r}")
    return basis.strip()


def _samples(statement, value, se):
    """(mean, standard error, count) of per-seed values, or (value, se, None) for a scalar."""
    if isinstance(value, (list, tuple, np.ndarray)):
        if se is not None:
            raise _bad(statement, "give per-seed values or `se`, not both")
        values = np.asarray(value, dtype=float)
        if values.ndim != 1 or len(values) < 2 or not np.all(np.isfinite(values)):
            raise _bad(statement, "per-seed values must be at least two finite numbers. "
                       f"Received {value!r}")
        return values.mean().item(), values.std(ddof=1).item() / np.sqrt(len(values)), len(values)
    value = _number("value", value, statement)
    if se is not None and not _number("se", se, statement) >= 0:
        raise _bad(statement, f"`se` must be >= 0. Received se={se!r}")
    return value, None if se is None else float(se), None


def _line(c):
    smoke = "" if c.applied == "full" else f"; {c.applied}"
    basis = f"; basis: {c.basis}" if c.basis else "; ✗ NO BASIS"
    return (f"{'✓ holds' if c.holds else '✗ DOES NOT HOLD'}: {c.statement} "
            f"(measured {c.measured()}, needs {c.needs}{smoke}{basis})")


class Claims:
    """A notebook's claims: ``check`` records one, ``report`` shows the table and enforces them."""

    def __init__(self, smoke=False, verbose=True):
        self.smoke = bool(smoke)
        self.verbose = verbose  # print a one-line verdict per check
        self.records = {}  # Claim by statement: re-running a cell replaces its claim

    @property
    def failed(self):
        return [c for c in self.records.values() if not c.holds]

    @property
    def without_basis(self):
        return [c for c in self.records.values() if not c.basis]

    def check(self, statement, value, *, basis=None, se=None, at_least=None, above=None,
              at_most=None, below=None, equals=None, tol=None, smoke_at_least=None,
              smoke_above=None, smoke_at_most=None, smoke_below=None, smoke_tol=None):
        """Record whether ``value`` meets the thresholds (smoke ones in a smoke run) and return it.

        Bounds compare exactly; ``equals`` holds when ``|value - equals| <= tol`` (default 0).
        ``basis`` says where the threshold comes from (see the module docstring). ``value`` may be
        per-seed values (their mean is the value), or ``se`` its standard error: then every point
        of value ± 2 SE must meet the bounds; ``equals`` without ``tol`` holds when that interval
        contains ``equals`` (no measurable difference), with ``tol`` when it lies within ± tol."""
        given = dict(locals())  # first: the arguments, of which the thresholds are the keywords
        if not isinstance(statement, str) or not statement.strip():
            raise ValueError(f"`statement` must be a non-empty string. Received {statement!r}")
        given = {k: _number(k, v, statement) for k, v in given.items()
                 if k not in ("self", "statement", "value", "basis", "se") and v is not None}
        full = {k: v for k, v in given.items() if not k.startswith("smoke_")}
        loose = {k.removeprefix("smoke_"): v for k, v in given.items() if k.startswith("smoke_")}
        basis = _basis(statement, basis)
        value, se, n_samples = _samples(statement, value, se)
        low = high = value  # the ends of the value's interval: value ± 2 SE, or the value
        if se is not None:
            low, high = value - SE_WIDTH * se, value + SE_WIDTH * se
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
        tol_given = "tol" in given or (self.smoke and "smoke_tol" in given)
        if "equals" in thr and se is not None and not tol_given:
            holds = low <= thr["equals"] <= high  # no measurable difference
            needs = f"{fmt(thr['equals'])} within ± {SE_WIDTH} SE"
        elif "equals" in thr:
            holds = thr["equals"] - thr["tol"] <= low and high <= thr["equals"] + thr["tol"]
            needs = f"= {fmt(thr['equals'])}" + (f" ± {fmt(thr['tol'])}" if thr["tol"] else "")
        else:  # the bounds hold for the whole interval: its low end for a floor, high for a ceiling
            holds = all(_TESTS[k][1](low if "low" in _TESTS[k][2] else high, thr[k]) for k in tests)
            needs = " and ".join(f"{_TESTS[k][0]} {fmt(thr[k])}" for k in tests)
        if se is not None and "equals" not in thr:
            needs += f" (all of ± {SE_WIDTH} SE)"
        applied = ", ".join(f"smoke_{k}" for k in loose) if self.smoke and loose else "full"
        claim = self.records[statement] = Claim(statement, value, needs, thr, applied, bool(holds),
                                                basis, se, n_samples)
        if self.verbose:
            print(_line(claim))
        return claim.holds

    def _heading(self):
        bad, n, mode = len(self.failed), len(self.records), "smoke" if self.smoke else "full"
        verdict = f"✗ {bad} of {n} claims do NOT hold" if bad else f"{n} of {n} claims hold"
        if self.without_basis:
            verdict += f"; ✗ {len(self.without_basis)} without a basis"
        return f"{TITLE} ({mode} run): {verdict}"

    def text(self):
        """The table as plain text: the heading, then one line per claim."""
        return "\n".join([self._heading()] + [f"  {_line(c)}" for c in self.records.values()])

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The table as HTML and plain text, plus the claims as JSON for the command line."""
        rows = [("claim", "measured", "needs", "basis", "thresholds", "verdict")] + [
            (c.statement, c.measured(), c.needs, c.basis or "✗ none", c.applied,
             "✓ holds" if c.holds and c.basis else "✗ does NOT hold" if not c.holds
             else "✗ no basis") for c in self.records.values()]
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
        """Show the table; raise ClaimsFailed if a claim fails or has no basis, unless
        strict=False (own data)."""
        if not self.records:
            raise ValueError("report(): no claims were checked; call claims.check(...) first")
        ipython = sys.modules.get("IPython")  # a notebook kernel has imported it; else plain text
        if ipython and ipython.get_ipython():
            from IPython.display import display
            display(self)  # HTML, plain text and the JSON of MIME_TYPE, via _repr_mimebundle_
        else:
            print(self.text())
        bad = [c for c in self.records.values() if not c.holds or not c.basis]
        if bad and strict:
            raise ClaimsFailed("\n".join([self._heading()] + [_line(c) for c in bad]))


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
    """Check the claims saved in notebooks' outputs, executing nothing, and print each with the
    basis of its threshold. Exit status: 1 if a claim does not hold or has no basis, or a notebook
    has no claims output; 2 for a path that is not a notebook."""
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
        bad += bool(saved.failed or saved.without_basis)
    print(f"{len(notebooks) - bad} of {len(notebooks)} notebooks hold all their claims, "
          "each with a basis")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
