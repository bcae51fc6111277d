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
