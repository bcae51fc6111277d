"""R's default random number generator, reproduced exactly with numpy underneath.

R's defaults since 3.6.0 are Mersenne-Twister for uniforms, Inversion for normals and
Rejection for `sample()`. This module gives the same streams as R for

- ``set.seed(s)``: the seed is scrambled by 50 steps of the linear congruential generator
  ``s = 69069 s + 1`` (mod 2³²); 625 more steps fill R's seed table, whose first entry is the
  Mersenne-Twister position (set to 624, "state used up") and the other 624 entries the
  MT19937 state. numpy's own ``MT19937`` bit generator is loaded with that state, so the raw
  32-bit draws are exactly R's and come at C speed.
- ``runif``: the tempered 32-bit output times 2.3283064365386963e-10, kept inside (0, 1).
- ``rnorm`` by Inversion: ``u = floor(2^27 U1) + U2`` and ``qnorm(u / 2^27)`` — two uniforms
  per normal — with ``qnorm`` by Wichura's algorithm AS 241, as R computes it.
- ``sample.int(n, size)`` without replacement: indices drawn by rejection from
  ``ceiling(log2(n))`` random bits, taken 16 at a time as ``floor(65536 U)``; a drawn index is
  removed by moving the last remaining one into its place.
- ``rbinom(n, size, prob)``: inversion for n·min(p, 1−p) < 30, else BTPE (Kachitvichyanukul &
  Schmeiser 1988); ``rpois(n, lambda)``: table-lookup inversion for λ < 10, else Ahrens &
  Dieter's (1982) PD, with R's ``norm_rand`` and its ``exp_rand`` (Ahrens & Dieter 1972, SA).
  Parameters are recycled over the draws as R recycles them; inversion is vectorised, BTPE
  and PD draw one by one from a buffer of uniforms, and the stream is left where R leaves it.

The generator object carries its own state; nothing here is global.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

#: The largest seed, and minus it the smallest: R's `set.seed` takes a 32-bit integer other
#: than NA_integer_ (−2³¹), so seeds run from −(2³¹ − 1) to 2³¹ − 1.
SEED_MAX = 2**31 - 1
_U32 = 0xFFFFFFFF
_MT_N = 624
_I2_32M1 = 2.328306437080797e-10  # 1 / (2^32 - 1), R's fixup constant
_TO_UNIT = 2.3283064365386963e-10  # 2^-32
_BIG = 134217728.0  # 2^27


def _scrambled_state(seed: int) -> np.ndarray:
    """The 624 MT19937 words R's ``set.seed(seed)`` leaves in its seed table."""
    s = seed & _U32
    for _ in range(50):
        s = (69069 * s + 1) & _U32
    table = np.empty(625, dtype=np.uint32)
    for j in range(625):
        s = (69069 * s + 1) & _U32
        table[j] = s
    return table[1:].copy()


def scrambled_states(seeds: np.ndarray) -> np.ndarray:
    """`_scrambled_state` of many seeds at once, (len(seeds), 624): for batches of streams."""
    s = np.asarray(seeds, dtype=np.int64).astype(np.uint64) & np.uint64(_U32)
    mult, one, mask = np.uint64(69069), np.uint64(1), np.uint64(_U32)
    for _ in range(51):
        s = (mult * s + one) & mask
    table = np.empty((s.shape[0], _MT_N), dtype=np.uint32)
    for j in range(_MT_N):
        s = (mult * s + one) & mask
        table[:, j] = s
    return table


class RRandom:
    """A stream of R's default generator after ``set.seed(seed)`` (`state`: the seed's
    scrambled table when already computed, e.g. by `scrambled_states`)."""

    def __init__(self, seed: int, state: np.ndarray | None = None) -> None:
        self._bitgen = np.random.MT19937(0)
        self.reset(seed, state)

    def reset(self, seed: int, state: np.ndarray | None = None) -> None:
        """Start again as after ``set.seed(seed)`` (cheaper than a new generator, whose bit
        generator is costly to make: for batches of streams)."""
        if not -SEED_MAX <= seed <= SEED_MAX:
            raise ValueError(f"seed must be a 32-bit integer, got {seed}")
        self.seed = seed
        self._bitgen.state = {
            "bit_generator": "MT19937",
            "state": {"key": _scrambled_state(seed) if state is None else state, "pos": _MT_N},
        }

    # -- uniforms ---------------------------------------------------------------------------

    def _raw(self, n: int) -> np.ndarray:
        """n tempered 32-bit Mersenne-Twister outputs, as R draws them."""
        return self._bitgen.random_raw(n).astype(np.float64)

    def runif(self, n: int) -> np.ndarray:
        """``runif(n)``: uniforms on (0, 1)."""
        u = self._raw(n) * _TO_UNIT
        # R's fixup(): keep the value strictly inside (0, 1)
        u[u <= 0.0] = 0.5 * _I2_32M1
        u[1.0 - u <= 0.0] = 1.0 - 0.5 * _I2_32M1
        return u

    # -- normals ----------------------------------------------------------------------------

    def rnorm(self, n: int, mean: float = 0.0, sd: float = 1.0) -> np.ndarray:
        """``rnorm(n, mean, sd)`` by Inversion."""
        return self.rnorm_deferred(n, mean, sd)()

    def rnorm_deferred(
        self, n: int, mean: float = 0.0, sd: float = 1.0
    ) -> Callable[[], np.ndarray]:
        """``rnorm(n, mean, sd)`` in two steps: its uniforms are drawn now (the stream moves on
        as `rnorm` moves it), its normals computed by the function returned, when and in
        whichever thread it is called (the stream's next draws need not wait for them)."""
        return functools.partial(inversion, self.runif(2 * n), mean, sd)

    # -- binomial and Poisson ---------------------------------------------------------------

    def rbinom(self, n: int, size: float | np.ndarray, prob: float | np.ndarray) -> np.ndarray:
        """``rbinom(n, size, prob)`` as R 4.2.2 draws it: `size` and `prob` recycled over the
        n draws (one pair per draw, as R recycles), integers returned.

        A draw with size 0 or prob 0 is 0, with prob 1 it is size, and takes no uniform.
        Otherwise, with p = min(prob, 1 − prob), n·p < 30 draws by inversion (one uniform,
        vectorised here) and n·p ≥ 30 by BTPE (Kachitvichyanukul & Schmeiser 1988; two
        uniforms a trial, one by one here); both count the rarer outcome and return
        size − x when prob > 1/2. R keeps the last (size, prob)'s constants between draws;
        they are the same numbers recomputed, so the stream does not depend on it. Sizes
        from 2³¹ − 1 (where R turns to qbinom) and invalid arguments (R's NA with a warning)
        raise ValueError."""
        return rbinom_draws(self, n, size, prob)

    def rpois(self, n: int, lam: float | np.ndarray) -> np.ndarray:
        """``rpois(n, lambda)`` as R 4.2.2 draws it: `lam` recycled over the n draws,
        integers returned.

        λ = 0 gives 0 without a uniform; 0 < λ < 10 draws by table-lookup inversion (one
        uniform, vectorised here); λ ≥ 10 by Ahrens & Dieter's (1982) algorithm PD, whose
        normals are R's norm_rand (Inversion, two uniforms) and exponentials R's exp_rand
        (Ahrens & Dieter 1972, SA). Negative, infinite or NaN λ (R's NA with a warning) and
        λ > 1e15 raise ValueError."""
        return rpois_draws(self, n, lam)

    # -- sampling ---------------------------------------------------------------------------

    def sample_int(self, n: int, size: int | None = None) -> np.ndarray:
        """``sample.int(n, size)`` without replacement: 1-based indices, in R's order."""
        if size is None:
            size = n
        if not 0 <= size <= n:
            raise ValueError(f"cannot take a sample of {size} from {n} without replacement")
        if n > 10_000_000 and size <= n / 2:
            return self._sample_hashed(n, size)
        picks = self._unif_indices(n, size)
        if size < 512:
            # Remove each drawn index by moving the last remaining one into its place.
            pool = list(range(1, n + 1))
            out: list[int] = []
            take = out.append
            for j, last in zip(picks.tolist(), range(n - 1, n - 1 - size, -1), strict=True):
                take(pool[j])
                pool[j] = pool[last]
            return np.fromiter(out, dtype=np.int64, count=size)
        return _drawn_values(picks, n) + 1

    def _sample_hashed(self, n: int, size: int) -> np.ndarray:
        """R's ``sample2`` (n > 1e7, size ≤ n/2): draw with replacement, skip repeats.

        Attempts are drawn ahead in batches; at the end the stream is rewound to just after the
        last attempt used, as `_unif_indices` does."""
        seen: set[int] = set()
        out: list[int] = []
        bits = math.ceil(math.log2(n))
        per = bits // 16 + 1  # uniforms per attempt
        start = self._bitgen.state
        attempts = 0
        while len(out) < size:
            batch = self._bits_values(bits, 2 * (size - len(out)) + 16).tolist()
            for i, v in enumerate(batch):
                if v < n and v not in seen:
                    seen.add(v)
                    out.append(v)
                    if len(out) == size:
                        attempts += i + 1
                        break
            else:
                attempts += len(batch)
        self._bitgen.state = start
        self._bitgen.random_raw(attempts * per)
        return np.asarray(out, dtype=np.int64) + 1

    def _bits_values(self, bits: int, count: int) -> np.ndarray:
        """``count`` values of R's ``rbits(bits)``, each from ``bits // 16 + 1`` uniforms."""
        per = bits // 16 + 1
        u = np.floor(self.runif(count * per) * 65536.0).astype(np.int64).reshape(count, per)
        v = np.zeros(count, dtype=np.int64)
        for k in range(per):
            v = v * 65536 + u[:, k]
        return v & ((1 << bits) - 1)

    def _unif_indices(self, n: int, size: int) -> np.ndarray:
        """The successive ``R_unif_index(n - i)`` for i = 0..size-1 (0-based positions).

        Attempts are made from a buffer of uniforms drawn ahead; an attempt is accepted when its
        value is below the number of indices still in the pool, which shrinks by one with every
        acceptance. Within a block only attempts whose value lies between the smallest and the
        largest possible pool size are undecided, and they are rare; they are settled one by
        one. At the end the stream is rewound to just after the uniforms actually used.
        """
        out = np.empty(size, dtype=np.int64)
        start = self._bitgen.state
        buf = self.runif(int(size * 1.5) + 64)
        pos = 0  # uniforms used so far
        done = 0
        while done < size:
            remaining = n - done  # pool size for the next draw
            bits = math.ceil(math.log2(remaining)) if remaining > 1 else 0
            per = bits // 16 + 1  # uniforms per attempt
            # Pool sizes that still need this many bits: remaining .. 2^(bits-1) + 1.
            floor_size = (1 << (bits - 1)) + 1 if bits else 1
            can_take = min(size - done, remaining - floor_size + 1)
            block = max(64, min(8192, int(can_take * 1.4) + 16))
            if pos + block * per > buf.shape[0]:
                buf = np.concatenate([buf, self.runif(block * per + buf.shape[0] // 2)])
            u = np.floor(buf[pos : pos + block * per] * 65536.0).astype(np.int64)
            v = np.zeros(block, dtype=np.int64)
            for k in range(per):
                v = v * 65536 + u[k::per]
            v &= (1 << bits) - 1  # rbits(0) still uses a uniform, and yields 0
            accepted, used = _settle(v, remaining, can_take)
            pos += used * per
            out[done : done + len(accepted)] = accepted
            done += len(accepted)
        self._bitgen.state = start
        self._bitgen.random_raw(pos)
        return out


#: Normals computed at a time: the temporaries of a chunk stay in the CPU's cache (a million
#: normals in about half the time of one pass) and memory stays flat.
_CHUNK = 1 << 16


def inversion(u: np.ndarray, mean: float = 0.0, sd: float = 1.0) -> np.ndarray:
    """Normals by R's Inversion from the pairs of uniforms in `u` (flat, even length):
    ``qnorm((floor(2^27 U1) + U2) / 2^27)`` (times sd, plus mean), a chunk at a time (each
    value on its own: the same numbers)."""
    z = np.empty(u.shape[0] // 2)
    for start in range(0, z.shape[0], _CHUNK):
        pairs = u[2 * start : 2 * (start + _CHUNK)]
        q = qnorm((np.floor(_BIG * pairs[0::2]) + pairs[1::2]) / _BIG)
        z[start : start + _CHUNK] = q if mean == 0.0 and sd == 1.0 else mean + sd * q
    return z


def _drawn_values(picks: np.ndarray, n: int) -> np.ndarray:
    """The values R's sampler returns for drawn positions `picks`, without its loop.

    Step i reads position picks[i], then moves the value at position n−1−i (the last one still
    in the pool) into it. So the value at a position is the one written by the latest earlier
    step that picked it, or the position itself if none did; and the value a step writes is
    found the same way at position n−1−i. Those "latest earlier write" links form chains,
    resolved by pointer doubling.
    """
    k = picks.shape[0]
    steps = np.arange(k)
    # Sort steps by (position, step): one plain sort of unique keys beats a stable argsort.
    # (Arrays are dropped as soon as they are used up: for a sample of 10⁶, each is 8 MB.)
    keys = np.sort(picks.astype(np.int64) * k + steps)
    by_pos, order = np.divmod(keys, k)
    del keys
    same = by_pos[1:] == by_pos[:-1]
    prev = np.full(k, -1, dtype=np.int64)  # the previous step that picked the same position
    prev[order[1:][same]] = order[:-1][same]
    final = np.ones(k, dtype=bool)
    final[:-1] = ~same
    del same
    last_write = np.full(n, -1, dtype=np.int64)  # the last step that picked each position
    last_write[by_pos[final]] = order[final]
    del by_pos, order, final
    last_pos = n - 1 - steps
    # Position n−1−i can only have been picked at steps ≤ i; a pick at step i itself is later.
    src = last_write[last_pos]
    del last_write
    src = np.where(src == steps, prev, src)
    root = np.where(src >= 0, src, steps)
    del src
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    written = last_pos[root]
    return np.where(prev >= 0, written[np.maximum(prev, 0)], picks)


def _settle(v: np.ndarray, remaining: int, limit: int) -> tuple[np.ndarray, int]:
    """Walk the attempts ``v``: accept ``v[k]`` when it is below the current pool size, which
    starts at ``remaining`` and drops by one per acceptance; stop after ``limit`` acceptances.
    Returns the accepted values and how many attempts were consumed.

    Values below ``remaining - len(v)`` are accepted whatever happened before them and values
    of at least ``remaining`` are rejected; only the few in between are decided in order."""
    accept = v < remaining - len(v)
    undecided = np.flatnonzero(~accept & (v < remaining))
    if len(undecided):
        before = np.cumsum(accept)  # sure acceptances up to and including each attempt
        extra = 0
        for k in undecided.tolist():
            pool = remaining - (int(before[k]) + extra)  # attempt k is not a sure one
            if v[k] < pool:
                accept[k] = True
                extra += 1
    idx = np.flatnonzero(accept)
    if len(idx) >= limit:
        idx = idx[:limit]
        return v[idx], int(idx[-1]) + 1
    return v[idx], len(v)


# -- qnorm (Wichura, AS 241), vectorized ------------------------------------------------------

_A = (
    3.387132872796366608,
    133.14166789178437745,
    1971.5909503065514427,
    13731.693765509461125,
    45921.953931549871457,
    67265.770927008700853,
    33430.575583588128105,
    2509.0809287301226727,
)
_B = (
    1.0,
    42.313330701600911252,
    687.1870074920579083,
    5394.1960214247511077,
    21213.794301586595867,
    39307.89580009271061,
    28729.085735721942674,
    5226.495278852545925,
)
_C = (
    1.42343711074968357734,
    4.6303378461565452959,
    5.7694972214606914055,
    3.64784832476320460504,
    1.27045825245236838258,
    0.24178072517745061177,
    0.0227238449892691845833,
    7.7454501427834140764e-4,
)
_D = (
    1.0,
    2.05319162663775882187,
    1.6763848301838038494,
    0.68976733498510000455,
    0.14810397642748007459,
    0.0151986665636164571966,
    5.475938084995344946e-4,
    1.05075007164441684324e-9,
)
_E = (
    6.6579046435011037772,
    5.4637849111641143699,
    1.7848265399172913358,
    0.29656057182850489123,
    0.026532189526576123093,
    0.0012426609473880784386,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
_F = (
    1.0,
    0.59983220655588793769,
    0.13692988092273580531,
    0.0148753612908506148525,
    7.868691311456132591e-4,
    1.8463183175100546818e-5,
    1.4215117583164458887e-7,
    2.04426310338993978564e-15,
)


def _poly(coef: tuple[float, ...], r: np.ndarray) -> np.ndarray:
    """coef[7] r^7 + ... + coef[0], evaluated by Horner's rule in R's order."""
    acc = coef[7] * r + coef[6]
    for c in coef[5::-1]:
        acc = acc * r + c
    return acc


def qnorm(p: np.ndarray) -> np.ndarray:
    """Standard normal quantiles of p in (0, 1), computed as R's ``qnorm`` does (AS 241)."""
    p = np.asarray(p, dtype=np.float64)
    q = p - 0.5
    out = np.empty_like(p)
    central = np.abs(q) <= 0.425
    if central.any():
        qc = q[central]
        r = 0.180625 - qc * qc
        out[central] = qc * _poly(_A, r) / _poly(_B, r)
    tail = ~central
    if tail.any():
        qt = q[tail]
        pt = p[tail]
        r = np.where(qt < 0, pt, 1.0 - pt)
        r = np.sqrt(-np.log(r))
        near = r <= 5.0
        val = np.empty_like(r)
        rn = r[near] - 1.6
        val[near] = _poly(_C, rn) / _poly(_D, rn)
        rf = r[~near] - 5.0
        val[~near] = _poly(_E, rf) / _poly(_F, rf)
        val = np.where(qt < 0.0, -val, val)
        out[tail] = val
    return out


# -- rbinom and rpois ----------------------------------------------------------------------------


class Uniforms:
    """R's ``unif_rand()`` for algorithms that take a varying number of uniforms per draw: a
    buffer drawn ahead from the stream, read in order (a block at a time or one by one);
    `close` rewinds the stream to just after the uniforms actually read."""

    def __init__(self, rng: RRandom, ahead: int) -> None:
        self._rng = rng
        self._start = rng._bitgen.state
        self._buf = rng.runif(max(ahead, 64))
        self._list: list[float] | None = None
        self.pos = 0

    def _ensure(self, k: int) -> None:
        if self.pos + k > self._buf.shape[0]:
            more = self._rng.runif(max(k, self._buf.shape[0]))
            self._buf = np.concatenate([self._buf, more])
            self._list = None

    def block(self, k: int) -> np.ndarray:
        """The next k uniforms, as an array."""
        self._ensure(k)
        out = self._buf[self.pos : self.pos + k]
        self.pos += k
        return out

    def next(self) -> float:
        """The next uniform."""
        if self.pos >= self._buf.shape[0]:
            self._ensure(1)
        if self._list is None:
            self._list = self._buf.tolist()
        u = self._list[self.pos]
        self.pos += 1
        return u

    def norm(self) -> float:
        """R's ``norm_rand()`` by Inversion: two uniforms."""
        u = self.next()
        u = math.floor(_BIG * u) + self.next()
        return qnorm_scalar(u / _BIG)

    def exp(self) -> float:
        """R's ``exp_rand()``: Ahrens & Dieter (1972), algorithm SA, for the standard
        exponential. The first uniform's binary digits give the integer part in units of
        ln 2 (each leading doubling that stays ≤ 1 adds ln 2); the rest u is returned as is
        when u ≤ ln 2, else the smallest of i + 1 further uniforms times ln 2, where i is the
        first index with u ≤ Q[i] (Q[k] = Σ_{j ≤ k+1} (ln 2)^j / j!)."""
        a = 0.0
        u = self.next()
        while u <= 0.0 or u >= 1.0:
            u = self.next()
        while True:
            u += u
            if u > 1.0:
                break
            a += _EXP_Q[0]
        u -= 1.0
        if u <= _EXP_Q[0]:
            return a + u
        i = 0
        umin = self.next()
        while True:
            ustar = self.next()
            if umin > ustar:
                umin = ustar
            i += 1
            if not u > _EXP_Q[i]:
                break
        return a + umin * _EXP_Q[0]

    def close(self) -> None:
        """Leave the stream just after the last uniform read."""
        self._rng._bitgen.state = self._start
        self._rng._bitgen.random_raw(self.pos)


def _exp_q() -> tuple[float, ...]:
    """Σ_{j=1..k} (ln 2)^j / j! for k = 1..16, each rounded once to a double (exact sums in
    rational arithmetic from ln 2 to 40 digits); the last is 1 to double precision."""
    from decimal import Decimal, getcontext

    getcontext().prec = 50
    ln2 = Decimal("0.6931471805599453094172321214581765680755001343602552")
    out, term, total = [], Decimal(1), Decimal(0)
    for j in range(1, 17):
        term = term * ln2 / j
        total += term
        out.append(float(total))
    return tuple(out)


_EXP_Q = _exp_q()


def qnorm_scalar(p: float) -> float:
    """`qnorm` of one p in (0, 1) (AS 241, as R computes it), with the math module's
    functions: the same operations in the same order as the vectorised `qnorm`."""
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * _poly1(_A, r) / _poly1(_B, r)
    r = p if q < 0 else 1.0 - p
    r = math.sqrt(-math.log(r))
    if r <= 5.0:
        r -= 1.6
        val = _poly1(_C, r) / _poly1(_D, r)
    else:
        r -= 5.0
        val = _poly1(_E, r) / _poly1(_F, r)
    return -val if q < 0.0 else val


def _poly1(coef: tuple[float, ...], r: float) -> float:
    acc = coef[7] * r + coef[6]
    for c in coef[5::-1]:
        acc = acc * r + c
    return acc


def _recycled(name: str, value: float | np.ndarray, n: int) -> np.ndarray:
    """`value` recycled to n draws as R recycles a parameter vector (refused when empty)."""
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a number or a vector of numbers")
    if arr.shape[0] == 0:
        if n == 0:
            return arr
        raise ValueError(f"{name} must have at least one value")
    if arr.shape[0] == n:
        return arr
    return np.resize(arr, n)


def _pow_di(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """x^n for integers n ≥ 0 by repeated squaring, R's ``R_pow_di``: the result multiplies
    in x^(2^j) for each set bit j of n, lowest bit first."""
    out = np.ones_like(x)
    base = x.copy()
    k = n.astype(np.int64)
    while np.any(k > 0):
        odd = (k & 1) == 1
        out[odd] *= base[odd]
        k >>= 1
        base *= base
    return out


def _pow_di_one(x: float, n: int) -> float:
    """`_pow_di` of one number: the same products in the same order."""
    out = 1.0
    while n > 0:
        if n & 1:
            out *= x
        n >>= 1
        x *= x
    return out


def _runs(small: np.ndarray, big: np.ndarray) -> list[tuple[bool, np.ndarray]]:
    """The draws to make in order, as runs: (True, indices) for consecutive draws of the
    vectorised method, (False, indices) for consecutive draws of the one-by-one method."""
    idx = np.flatnonzero(small | big)
    if idx.shape[0] == 0:
        return []
    kind = small[idx]
    cut = np.flatnonzero(kind[1:] != kind[:-1]) + 1
    return [
        (bool(kind[s]), idx[s:e])
        for s, e in zip(
            np.concatenate([[0], cut]).tolist(),
            np.concatenate([cut, [idx.shape[0]]]).tolist(),
            strict=True,
        )
    ]


#: Below this many draws a run of inversion draws is made one by one (numpy's overhead).
_VECTOR_MIN = 64


def rbinom_draws(
    rng: RRandom, n: int, size: float | np.ndarray, prob: float | np.ndarray
) -> np.ndarray:
    """``rbinom(n, size, prob)`` as R 4.2.2 draws it (see `RRandom.rbinom`)."""
    if n < 0:
        raise ValueError(f"n must be a count (0 or more), got {n}")
    sz = _recycled("size", size, n)
    pr = _recycled("prob", prob, n)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.all(np.isfinite(sz)) or np.any(sz < 0) or np.any(sz != np.floor(sz)):
        raise ValueError("size must be whole numbers 0 or more")
    if np.any(sz >= 2**31 - 1):
        raise ValueError("size must be below 2^31 - 1 (R then draws by qbinom)")
    if not np.all(np.isfinite(pr)) or np.any(pr < 0.0) or np.any(pr > 1.0):
        raise ValueError("prob must be probabilities between 0 and 1")
    out = np.zeros(n, dtype=np.int64)
    nn = sz.astype(np.int64)
    trivial = (nn == 0) | (pr == 0.0) | (pr == 1.0)
    out[(pr == 1.0) & (nn > 0)] = nn[(pr == 1.0) & (nn > 0)]
    p = np.minimum(pr, 1.0 - pr)
    small = ~trivial & (nn * p < 30.0)
    big = ~trivial & ~small
    stream = Uniforms(rng, int(small.sum() + 3 * big.sum()) + 16)
    state = _BtpeState()
    for vectorised, idx in _runs(small, big):
        if vectorised and idx.shape[0] >= _VECTOR_MIN:
            out[idx] = _binom_inversion(stream, nn[idx], pr[idx])
        elif vectorised:
            for i in idx.tolist():
                out[i] = _binom_inversion_one(stream, int(nn[i]), float(pr[i]))
        else:
            for i in idx.tolist():
                out[i] = _btpe_one(stream, state, int(nn[i]), float(pr[i]))
    stream.close()
    return out


def _binom_setup(nn: np.ndarray, pr: np.ndarray) -> tuple[np.ndarray, ...]:
    """Inversion's constants: q^n, r = p/q and g = r (n + 1) with p = min(prob, 1 − prob)."""
    p = np.minimum(pr, 1.0 - pr)
    q = 1.0 - p
    r = p / q
    g = r * (nn + 1).astype(np.float64)
    return _pow_di(q, nn), r, g


def _binom_inversion(stream: Uniforms, nn: np.ndarray, pr: np.ndarray) -> np.ndarray:
    """Binomial draws by inversion for n·min(p, 1−p) < 30, one uniform each, vectorised.

    The published sequential search (Kachitvichyanukul & Schmeiser 1988, as R does it):
    with f₀ = qⁿ, the draw is the first x with u < f_x, walking u ← u − f_x,
    f_{x+1} = f_x (g/(x+1) − r); a walk past x = 110 starts again with a new uniform (so the
    rest of the block is drawn again from there). The result counts successes of the rarer
    outcome: n − x when prob > 1/2."""
    m = nn.shape[0]
    res = np.empty(m, dtype=np.int64)
    qn, r, g = _binom_setup(nn, pr)
    start = 0
    while start < m:
        u = stream.block(m - start).copy()
        ix, failed = _binom_walk(u, qn[start:], r[start:], g[start:])
        if failed.shape[0] == 0:
            res[start:] = ix
            break
        first = int(failed[0])
        res[start : start + first] = ix[:first]
        stream.pos -= m - start - first - 1  # the uniforms after the failed draw are unused
        k = start + first
        res[k] = _binom_inversion_one(stream, int(nn[k]), float(pr[k]), restart=True)
        start = k + 1
    flip = pr > 0.5
    res[flip] = nn[flip] - res[flip]
    return res


def _binom_walk(
    u: np.ndarray, qn: np.ndarray, r: np.ndarray, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The inversion walk of every draw at once: (x, positions whose walk passed 110)."""
    m = u.shape[0]
    ix = np.zeros(m, dtype=np.int64)
    active = np.arange(m)
    f = qn.copy()
    for x in range(112):
        hit = u < f
        if hit.any():
            ix[active[hit]] = x
            keep = ~hit
            active, u, f, r, g = active[keep], u[keep], f[keep], r[keep], g[keep]
        if active.shape[0] == 0 or x == 111:
            break
        u = u - f
        f = f * (g / float(x + 1) - r)
    return ix, np.sort(active)


def _binom_inversion_one(stream: Uniforms, n: int, pp: float, restart: bool = False) -> int:
    """One binomial draw by inversion (see `_binom_inversion`); with `restart` the first
    uniform, already used by a walk that passed 110, is not drawn again."""
    p = min(pp, 1.0 - pp)
    q = 1.0 - p
    r = p / q
    g = r * (n + 1)
    qn = _pow_di_one(q, n)
    while True:
        if restart:
            restart = False
            continue
        ix = 0
        f = qn
        u = stream.next()
        while True:
            if u < f:
                return n - ix if pp > 0.5 else ix
            if ix > 110:
                break
            u -= f
            ix += 1
            f *= g / ix - r


class _BtpeState:
    """BTPE's constants for the last (n, prob), kept between draws as R keeps them."""

    key: tuple[int, float] | None = None
    consts: tuple[float, ...] = ()


def _btpe_one(stream: Uniforms, state: _BtpeState, n: int, pp: float) -> int:
    """One binomial draw for n·min(p, 1−p) ≥ 30 by BTPE (Kachitvichyanukul & Schmeiser
    1988, "Binomial random variate generation", CACM 31, 216–222), with R's constants.

    The hat is a triangle around the mode M = ⌊np + p⌋ (half-width p₁ = ⌊2.195 √(npq) −
    4.6 q⌋ + ½), two parallelograms beside it and exponential tails (rates λ_L, λ_R). Each
    trial takes two uniforms: u·p₄ picks the region, v the point; the triangle accepts at
    once; otherwise x is accepted against f(x)/f(M) — by the explicit product of the
    ratios (g/i − r) when |x − M| ≤ 20 or ≥ npq/2 − 1, else by the squeeze bounds on
    log f(x)/f(M) and, between them, Stirling's formula with its correction terms."""
    if state.key != (n, pp):
        p = min(pp, 1.0 - pp)
        q = 1.0 - p
        np_ = n * p
        ffm = np_ + p
        m = int(ffm)
        npq = np_ * q
        p1 = int(2.195 * math.sqrt(npq) - 4.6 * q) + 0.5
        xm = m + 0.5
        xl = xm - p1
        xr = xm + p1
        c = 0.134 + 20.5 / (15.3 + m)
        al = (ffm - xl) / (ffm - xl * p)
        xll = al * (1.0 + 0.5 * al)
        al = (xr - ffm) / (xr * q)
        xlr = al * (1.0 + 0.5 * al)
        p2 = p1 * (1.0 + c + c)
        p3 = p2 + c / xll
        p4 = p3 + c / xlr
        r = p / q
        g = r * (n + 1)
        state.key = (n, pp)
        state.consts = (p, q, ffm, float(m), npq, p1, xm, xl, xr, c, xll, xlr, p2, p3, p4, r, g)
    p, q, ffm, mf, npq, p1, xm, xl, xr, c, xll, xlr, p2, p3, p4, r, g = state.consts
    m = int(mf)
    nxt = stream.next
    log = math.log
    while True:
        u = nxt() * p4
        v = nxt()
        if u <= p1:  # triangle
            ix = int(xm - p1 * v + u)
            break
        if u <= p2:  # parallelograms
            x = xl + (u - p1) / c
            v = v * c + 1.0 - abs(xm - x) / p1
            if v > 1.0 or v <= 0.0:
                continue
            ix = int(x)
        elif u > p3:  # right tail
            ix = int(xr - log(v) / xlr)
            if ix > n:
                continue
            v = v * (u - p3) * xlr
        else:  # left tail
            ix = int(xl + log(v) / xll)
            if ix < 0:
                continue
            v = v * (u - p2) * xll
        k = abs(ix - m)
        if k <= 20 or k >= npq / 2 - 1:
            f = 1.0
            if m < ix:
                for i in range(m + 1, ix + 1):
                    f *= g / i - r
            elif m > ix:
                for i in range(ix + 1, m + 1):
                    f /= g / i - r
            if v <= f:
                break
        else:
            amaxp = (k / npq) * ((k * (k / 3.0 + 0.625) + 0.1666666666666) / npq + 0.5)
            ynorm = _int32(-k * k) / (2.0 * npq)  # R's product of C ints, wrapped
            alv = log(v)
            if alv < ynorm - amaxp:
                break
            if alv <= ynorm + amaxp:
                x1 = ix + 1.0
                f1 = ffm + 1.0
                z = n + 1.0 - ffm
                w = n - ix + 1.0
                z2, x2, f2, w2 = z * z, x1 * x1, f1 * f1, w * w
                bound = (
                    xm * log(f1 / x1)
                    + (n - m + 0.5) * log(z / w)
                    + (ix - m) * log(w * p / (x1 * q))
                    + _stirling(f1, f2)
                    + _stirling(z, z2)
                    + _stirling(x1, x2)
                    + _stirling(w, w2)
                )
                if alv <= bound:
                    break
    return n - ix if pp > 0.5 else ix


def _int32(v: int) -> int:
    """v wrapped to a 32-bit signed integer, as R's C arithmetic on ints wraps (k² for
    |x − M| > 46340, which only sizes in the hundreds of millions reach)."""
    return (v + 2**31) % 2**32 - 2**31


def _stirling(a: float, a2: float) -> float:
    """The correction term of Stirling's series for log a!, to 1/a⁹, in BTPE's nesting."""
    return (13860.0 - (462.0 - (132.0 - (99.0 - 140.0 / a2) / a2) / a2) / a2) / a / 166320.0


def rpois_draws(rng: RRandom, n: int, lam: float | np.ndarray) -> np.ndarray:
    """``rpois(n, lambda)`` as R 4.2.2 draws it (see `RRandom.rpois`)."""
    if n < 0:
        raise ValueError(f"n must be a count (0 or more), got {n}")
    mu = _recycled("lambda", lam, n)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.all(np.isfinite(mu)) or np.any(mu < 0.0):
        raise ValueError("lambda must be finite and 0 or more")
    if np.any(mu > 1e15):
        raise ValueError("lambda must be at most 1e15 (draws beyond are not whole numbers)")
    out = np.zeros(n, dtype=np.int64)
    small = (mu > 0.0) & (mu < 10.0)
    big = mu >= 10.0
    stream = Uniforms(rng, int(small.sum() + 3 * big.sum()) + 16)
    for vectorised, idx in _runs(small, big):
        if vectorised and idx.shape[0] >= _VECTOR_MIN:
            out[idx] = _pois_inversion(stream, mu[idx])
        elif vectorised:
            for i in idx.tolist():
                out[i] = _pois_inversion_one(stream, float(mu[i]))
        else:
            for i in idx.tolist():
                out[i] = _pois_pd_one(stream, float(mu[i]))
    stream.close()
    return out


def _pois_walk(u: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Table-lookup inversion for every draw at once: the first k ≤ 35 with u ≤ F(k),
    F(0) = e^{−μ}, F(k) = F(k−1) + p_k, p_k = p_{k−1} (μ/k); (k, positions beyond 35)."""
    m = u.shape[0]
    ix = np.zeros(m, dtype=np.int64)
    active = np.arange(m)
    p = np.exp(-mu)
    q = p.copy()
    for k in range(36):
        if k > 0:
            p = p * (mu / float(k))
            q = q + p
        hit = u <= q
        if hit.any():
            ix[active[hit]] = k
            keep = ~hit
            active, u, p, q, mu = active[keep], u[keep], p[keep], q[keep], mu[keep]
        if active.shape[0] == 0:
            break
    return ix, np.sort(active)


def _pois_inversion(stream: Uniforms, mu: np.ndarray) -> np.ndarray:
    """Poisson draws for 0 < μ < 10 by inversion, one uniform each, vectorised.

    R's table lookup (Ahrens & Dieter 1982, case B) keeps the cumulative probabilities
    F(0..35) between draws of the same μ and starts its search at min(table end, ⌊μ⌋) when
    u > 0.458; since F(⌊μ⌋ − 1) < 0.458 for every μ < 10 this finds the same k as a search
    from 0, so the table is not kept here. A u beyond F(35) draws a new uniform (the rest of
    the block is drawn again from there)."""
    m = mu.shape[0]
    res = np.empty(m, dtype=np.int64)
    start = 0
    while start < m:
        u = stream.block(m - start).copy()
        ix, failed = _pois_walk(u, mu[start:])
        if failed.shape[0] == 0:
            res[start:] = ix
            break
        first = int(failed[0])
        res[start : start + first] = ix[:first]
        stream.pos -= m - start - first - 1
        k = start + first
        res[k] = _pois_inversion_one(stream, float(mu[k]), restart=True)
        start = k + 1
    return res


def _pois_inversion_one(stream: Uniforms, mu: float, restart: bool = False) -> int:
    """One Poisson draw for 0 < μ < 10 (see `_pois_inversion`); with `restart` the first
    uniform, already used by a search that passed 35, is not drawn again."""
    p0 = float(np.exp(-np.array([mu]))[0])  # as the vectorised walk computes it
    while True:
        if restart:
            restart = False
            continue
        u = stream.next()
        if u <= p0:
            return 0
        p = q = p0
        for k in range(1, 36):
            p *= mu / k
            q += p
            if u <= q:
                return k


_M_1_SQRT_2PI = 0.398942280401432677939946059934
_FACT = (1.0, 1.0, 2.0, 6.0, 24.0, 120.0, 720.0, 5040.0, 40320.0, 362880.0)
#: Ahrens & Dieter's (1982) coefficients for log(1 + v) − v in step F.
_PD_A = (-0.5, 0.3333333, -0.2500068, 0.2000118, -0.1661269, 0.1421878, -0.1384794, 0.1250060)
_ONE_7 = 0.1428571428571428571
_ONE_12 = 0.0833333333333333333
_ONE_24 = 0.0416666666666666667


def _pois_pd_one(stream: Uniforms, mu: float) -> int:
    """One Poisson draw for μ ≥ 10 by Ahrens & Dieter (1982), "Computer generation of
    Poisson deviates from modified normal distributions", ACM TOMS 8, 163–179 (their
    algorithm PD, with R's constants).

    Step N: g = μ + √μ·z from a standard normal z (R's norm_rand: two uniforms); K = ⌊g⌋
    is accepted at once when K ≥ L = ⌊μ − 1.1484⌋ (step I), or when 6μ²·u ≥ (μ − K)³ for a
    fresh uniform u (step S). Otherwise step Q compares the Poisson probability p_K with
    the discrete normal f_K (both through step F: p_K exactly from factorials below 10,
    else by Stirling with a polynomial for log(1 + v) − v; f_K by a Hermite expansion with
    coefficients c₀..c₃); on rejection, step E draws from a double-exponential hat,
    t = 1.8 ± E (E from R's exp_rand, sign from a uniform), until step H accepts."""
    s = math.sqrt(mu)
    d = 6.0 * mu * mu
    big_l = math.floor(mu - 1.1484)
    u = 0.0
    pois = -1.0
    g = mu + s * stream.norm()
    if g >= 0.0:
        pois = math.floor(g)
        if pois >= big_l:
            return int(pois)
        fk = pois
        difmuk = mu - fk
        u = stream.next()
        if d * u >= difmuk * difmuk * difmuk:
            return int(pois)
    omega = _M_1_SQRT_2PI / s
    b1 = _ONE_24 / mu
    b2 = 0.3 * b1 * b1
    c3 = _ONE_7 * b1 * b2
    c2 = b2 - 15.0 * c3
    c1 = b1 - 6.0 * b2 + 45.0 * c3
    c0 = 1.0 - b1 + 3.0 * b2 - 15.0 * c3
    c = 0.1069 / mu
    quotient = g >= 0.0  # step Q once, then steps E and H
    e = 0.0
    while True:
        if not quotient:
            e = stream.exp()
            u = 2.0 * stream.next() - 1.0
            t = 1.8 + (abs(e) if u >= 0.0 else -abs(e))
            if not t > -0.6744:
                continue
            pois = math.floor(mu + s * t)
            fk = pois
            difmuk = mu - fk
        # step F
        if pois < 10:
            px = -mu
            py = math.pow(mu, pois) / _FACT[int(pois)]
        else:
            dl = _ONE_12 / fk
            dl = dl * (1.0 - 4.8 * dl * dl)
            v = difmuk / fk
            if abs(v) <= 0.25:
                a = _PD_A
                poly = (
                    (((((a[7] * v + a[6]) * v + a[5]) * v + a[4]) * v + a[3]) * v + a[2]) * v + a[1]
                ) * v + a[0]
                px = fk * v * v * poly - dl
            else:
                px = fk * math.log(1.0 + v) - difmuk - dl
            py = _M_1_SQRT_2PI / math.sqrt(fk)
        x = (0.5 - difmuk) / s
        xx = x * x
        fx = -0.5 * xx
        fy = omega * (((c3 * xx + c2) * xx + c1) * xx + c0)
        if quotient:
            quotient = False
            if fy - u * fy <= py * math.exp(px - fx):
                return int(pois)
        elif c * abs(u) <= py * math.exp(px + e) - fy * math.exp(fx + e):
            return int(pois)
