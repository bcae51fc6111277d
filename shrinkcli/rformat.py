"""R's rules for showing numbers and names, ported: `r_round` (R >= 4.0's `round(x, digits)`),
`zapsmall`, `format_r` (`format()` of a numeric vector: `formatReal` picks one layout that shows
every element with `digits` significant digits), the printers lme4 calls (`printCoefmat`, the
named-vector and character-matrix layouts of `print.default`), `cat(..., fill = TRUE)` and how
deparse writes a name in a formula. Pure functions of their arguments; no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import numpy as np

#: `getOption("width")` and `getOption("digits")`.
R_WIDTH = 80
R_DIGITS = 7

_DBL_DIG = 15
_MAX_DIGITS = 308
_LOG10_2 = math.log10(2.0)
# Powers of ten exact in an x87 long double (R's table in format.c); on platforms whose long
# double is a plain double, numpy's longdouble is one too, as R's computation then is.
_KP_MAX = 27
_TEN = np.longdouble(10)
_POW10 = [_TEN**i for i in range(_KP_MAX + 1)]

Number = float | int | None


# --------------------------------------------------------------------------------------------
# round()
# --------------------------------------------------------------------------------------------


def _pow_di(x: float, n: int) -> float:
    """x**n by repeated squaring in doubles, as R's `R_pow_di`."""
    negative = n < 0
    n = abs(n)
    result = 1.0
    while n:
        if n & 1:
            result *= x
        n >>= 1
        if n:
            x *= x
    return 1.0 / result if negative else result


def r_round(x: float, digits: float = 0) -> float:
    """R (>= 4.0.0) `round(x, digits)`: the closer of the two decimal candidates around x,
    ties (in double arithmetic) to the even last digit; non-integer digits are rounded first."""
    if math.isnan(x) or math.isnan(digits):
        return x + digits
    if math.isinf(x) or digits > _MAX_DIGITS + 15 or x == 0.0:
        return x
    if digits < -_MAX_DIGITS:
        return 0.0
    if digits == 0:
        return float(np.rint(x))
    dig = math.floor(digits + 0.5)
    sign = -1.0 if x < 0 else 1.0
    x = abs(x)
    if dig + (math.frexp(x)[1] - 1 + 0.5) * _LOG10_2 > _DBL_DIG:
        return sign * x
    if dig <= _MAX_DIGITS:
        p10 = _pow_di(10.0, dig)
        x10 = p10 * x
        i10 = math.floor(x10)
        down, up = i10 / p10, math.ceil(x10) / p10
    else:  # very small x with very many digits: scale in two steps
        e10 = _pow_di(10.0, dig - _MAX_DIGITS)
        p10 = _pow_di(10.0, _MAX_DIGITS)
        x10 = (p10 * x) * e10
        i10 = math.floor(x10)
        down, up = i10 / p10 / e10, math.ceil(x10) / p10 / e10
    d_up, d_down = up - x, x - down
    return sign * (up if d_up < d_down or (d_up == d_down and i10 % 2 == 1) else down)


def zapsmall(values: Sequence[float], digits: int) -> list[float]:
    """R's `zapsmall(x, digits)`: round to `digits - log10(max |x|)` decimals (R 4.2)."""
    finite = [abs(v) for v in values if not math.isnan(v)]
    if not finite:
        return list(values)
    mx = max(finite)
    dig = max(0.0, digits - math.log10(mx)) if mx > 0 else float(digits)
    return [r_round(v, dig) for v in values]


# --------------------------------------------------------------------------------------------
# format()
# --------------------------------------------------------------------------------------------


def _scientific(r: float, digits: int) -> tuple[int, int, bool]:
    """For r > 0: (kpower, nsig, rounding widens), after `scientific()` in R's format.c.

    r = alpha * 10^kpower with 1 <= alpha < 10 once alpha is rounded to `digits` significant
    digits; nsig counts those digits without trailing zeros; "rounding widens" says that fixed
    notation keeps fewer digits left of the point than the rounded alpha suggests (9996 with 3
    digits is 1e+04 in scientific but 9996 in fixed notation).
    """
    if digits > _DBL_DIG:
        text = f"{r:#.{digits - 1}e}"
        mantissa, exponent = text.split("e")
        significant = mantissa.replace(".", "").rstrip("0")
        return int(exponent), max(1, len(significant)), False
    kp = math.floor(math.log10(r)) - digits + 1
    scaled = np.longdouble(r)
    if abs(kp) <= _KP_MAX:
        if kp > 0:
            scaled /= _POW10[kp]
        elif kp < 0:
            scaled *= _POW10[-kp]
    else:
        scaled /= _TEN ** np.longdouble(kp)
    if scaled < _POW10[digits - 1]:
        scaled *= _TEN
        kp -= 1
    alpha = float(np.rint(scaled))
    nsig = digits
    for _ in range(digits):
        alpha /= 10.0
        if alpha == math.floor(alpha):
            nsig -= 1
        else:
            break
    if nsig == 0 and digits > 0:
        nsig = 1
        kp += 1
    kpower = kp + digits - 1
    rgt = min(max(digits - kpower, 0), _KP_MAX)
    fuzz = np.longdouble(0.5 / float(_POW10[rgt]))
    widens = 0 < kpower <= _KP_MAX and bool(np.longdouble(r) < _POW10[kpower] - fuzz)
    return kpower, nsig, widens


def format_info(
    values: Sequence[Number], digits: int = R_DIGITS, nsmall: int = 0
) -> tuple[int, int, int]:
    """R's `formatReal`: (width, decimals, exponent digits - 1 or 0 for fixed notation) of the
    one layout that shows every finite value with at least `digits` significant digits."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    width = decimals = expo = 0
    if finite:
        neg = 0
        rgt = mxl = mxsl = mxns = -(10**9)
        mnl = 10**9
        for v in finite:
            if v == 0:
                kpower, nsig, widens, negative = 0, 1, False, 0
            else:
                kpower, nsig, widens = _scientific(abs(v), digits)
                negative = int(v < 0)
            left = kpower + 1 - int(widens)
            sleft = negative + (left if left > 0 else 1)
            neg = max(neg, negative)
            rgt = max(rgt, nsig - left)
            mxl, mnl = max(mxl, left), min(mnl, left)
            mxsl = max(mxsl, sleft)
            mxns = max(mxns, nsig)
        if digits == 0:
            rgt = 0
        if mxl < 0:
            mxsl = 1 + neg
        rgt = max(rgt, 0)
        fixed_width = mxsl + rgt + (rgt != 0)
        expo = 2 if mxl > 100 or mnl <= -99 else 1
        decimals = mxns - 1
        width = neg + (decimals > 0) + decimals + 4 + expo
        if fixed_width <= width:  # fixed notation unless it is wider (scipen = 0)
            expo = 0
            rgt = max(rgt, nsmall)
            decimals = rgt
            width = mxsl + rgt + (rgt != 0)
    for value in values:
        if value is None:
            width = max(width, 2)
        elif math.isnan(value):
            width = max(width, 3)
        elif math.isinf(value):
            width = max(width, 3 if value > 0 else 4)
    return width, decimals, expo


def _encode(v: Number, decimals: int, expo: int) -> str:
    if v is None:
        return "NA"
    x = float(v)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    if x == 0:
        x = 0.0  # no "-0"
    if expo:
        return f"{x:#.{decimals}e}" if decimals else f"{x:.0e}"
    return f"{x:.{decimals}f}"


def format_r(values: Iterable[Number], digits: int = R_DIGITS, *, nsmall: int = 0) -> list[str]:
    """R's `format(x, digits = digits, nsmall = nsmall)` of a numeric vector: one common layout
    (fixed or scientific, same decimals), right-justified to a common width; None is NA."""
    vals = list(values)
    width, decimals, expo = format_info(vals, digits, nsmall)
    return [_encode(v, decimals, expo).rjust(width) for v in vals]


# --------------------------------------------------------------------------------------------
# print.default layouts
# --------------------------------------------------------------------------------------------


def named_vector_lines(names: Sequence[str], cells: Sequence[str]) -> list[str]:
    """A named vector as `print()` shows it: names over values, all right-justified to one
    width, each followed by a space, as many per line as fit in 80 characters."""
    width = max(len(s) for s in [*names, *cells])
    per_line = max(1, R_WIDTH // (width + 1))
    lines = []
    for start in range(0, len(cells), per_line):
        chunk = range(start, min(start + per_line, len(cells)))
        lines.append("".join(names[i].rjust(width) + " " for i in chunk))
        lines.append("".join(cells[i].rjust(width) + " " for i in chunk))
    return lines


def matrix_lines(
    rows: Sequence[str], columns: Sequence[str], cells: Sequence[Sequence[str]], *, right: bool
) -> list[str]:
    """A character matrix as `print(quote = FALSE, right = right)` shows it (row names
    left-justified, a space before every column), without wrapping wide matrices."""
    row_width = max((len(r) for r in rows), default=0)
    widths = [max([len(c)] + [len(row[j]) for row in cells]) for j, c in enumerate(columns)]

    def justify(text: str, width: int) -> str:
        return text.rjust(width) if right else text.ljust(width)

    lines = [
        " " * row_width + "".join(" " + justify(c, w) for c, w in zip(columns, widths, strict=True))
    ]
    for name, row in zip(rows, cells, strict=True):
        lines.append(
            name.ljust(row_width)
            + "".join(" " + justify(s, w) for s, w in zip(row, widths, strict=True))
        )
    return lines


def format_coefmat(
    rows: Sequence[str],
    estimates: Sequence[float],
    std_errors: Sequence[float],
    t_values: Sequence[float],
    digits: int = 4,
) -> list[str]:
    """`printCoefmat()` of an Estimate / Std. Error / t value table without p-values."""
    n = len(rows)
    cs = [*estimates, *std_errors]  # column-major, as R's matrix
    dig_tst = max(1, min(5, digits - 1))
    abs_cs = [abs(v) for v in cs if math.isfinite(v)]
    cs_cells = ["" for _ in cs]
    if abs_cs:
        nonzero = [v for v in abs_cs if v != 0]
        digmin = 1 + math.floor(math.log10(min(nonzero))) if nonzero else 1
        cs_cells = format_r([r_round(v, max(1, digits - digmin)) for v in cs], digits)
    t_cells = format_r([r_round(v, dig_tst) for v in t_values], digits)
    # Cells that show 0 for a nonzero number (or the reverse) get fewer digits.
    flip = [
        i
        for i, v in enumerate(cs)
        if not math.isnan(v) and (v == 0) != (_as_number(cs_cells[i]) == 0)
    ]
    if flip:
        for i, s in zip(flip, format_r([cs[i] for i in flip], max(1, digits - 1)), strict=True):
            cs_cells[i] = s
    for i, v in enumerate(cs):
        if math.isnan(v):
            cs_cells[i] = "NaN"
    cells = [
        [cs_cells[i], cs_cells[n + i], "NaN" if math.isnan(t) else t_cells[i]]
        for i, t in enumerate(t_values)
    ]
    return matrix_lines(rows, ["Estimate", "Std. Error", "t value"], cells, right=True)


def _as_number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


# --------------------------------------------------------------------------------------------
# names and cat()
# --------------------------------------------------------------------------------------------

_RESERVED = {
    "if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE",
    "NULL", "Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_", "NA_complex_",
    "in", "...",
}  # fmt: skip
_SYNTACTIC = re.compile(r"^(?:[^\W\d_]|\.(?![0-9]))[\w.]*$|^\.$")


def r_name(name: str) -> str:
    """A column name as R's deparse writes it in a formula: backquoted unless syntactic."""
    if _SYNTACTIC.match(name) and name not in _RESERVED and not re.match(r"^\.\.\d", name):
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def cat_fill(*items: str) -> list[str]:
    """`cat(..., fill = TRUE)`: items joined by spaces, a new line where the next item would
    reach the 80th column (the space before it stays at the end of the line)."""
    lines = [items[0]]
    for item in items[1:]:
        lines[-1] += " "
        if len(lines[-1]) + len(item) >= R_WIDTH:
            lines.append(item)
        else:
            lines[-1] += item
    return lines
