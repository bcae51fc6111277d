/* shrink's engine in the browser: R's default generator, the post's create_data(), lme4's fit of
 * y ~ x + (x | cluster) (or (x || cluster), (1 | cluster)) by REML or ML, and the report's
 * measures of shrinkage. The same mathematics as the Python package (shrinkcli.rrng,
 * shrinkcli.simulate, shrinkcli.lmm, shrinkcli.report.metrics), so that the same settings give
 * the same data to 1e-12 and the same fit to the optimizer's precision.
 *
 *   shrinkEngine.simulate({obs_per_cluster, n_cluster, intercept, beta, sigma, sd_int,
 *                          sd_slope, cor, balanced, seed})
 *     -> {y, x, cluster, truth: {cluster, true_intercept, true_slope}}
 *   shrinkEngine.fit({y, x, cluster}, {method: "reml" | "ml", random: "intercept-slope" |
 *                    "uncorrelated" | "intercept"})
 *     -> {criterion, theta, beta, se, sigma, singular, clusters: [{cluster, n, ols_intercept,
 *         ols_slope, mixed_intercept, mixed_slope, shrinkage}], ...}
 *   shrinkEngine.measure(fit, truth, x) -> estimates, mean shrinkage and the RMSE of the
 *     by-cluster and mixed cluster estimates against the truth
 *
 * A plain script (no modules), so that it runs from file:// with no server.
 */
(function (root) {
  "use strict";

  /** An error for the user, worded as shrink's ShrinkError: `message` may be followed by a
   *  hint, a (field, value) setting that would help; `core` is the message without it. */
  function ShrinkError(message, field, hint) {
    var err = new Error(hint ? message + "; or set " + hint[0] + ": " + hint[1] : message);
    err.name = "ShrinkError";
    err.core = message;
    if (field) err.field = field;
    if (hint) err.hint = hint;
    return err;
  }

  // ===== R's default generator: Mersenne-Twister, Inversion, Rejection sampling ==============
  //
  // set.seed(s) scrambles s by 50 steps of s = 69069 s + 1 (mod 2^32); 625 more steps fill the
  // seed table, whose first entry is the twister's position (set to 624: "used up") and the
  // other 624 the MT19937 state. All 32-bit arithmetic is exact: Math.imul and >>> 0.

  var MT_N = 624;
  var MT_M = 397;
  var UPPER = 0x80000000;
  var LOWER = 0x7fffffff;
  var MATRIX_A = 0x9908b0df;
  var TO_UNIT = 2.3283064365386963e-10; // 2^-32
  var I2_32M1 = 2.328306437080797e-10; // 1 / (2^32 - 1), R's fixup constant
  var BIG = 134217728; // 2^27
  var SEED_MAX = 2147483647;

  function lcg(s) {
    return (Math.imul(69069, s) + 1) >>> 0;
  }

  function RRandom(seed) {
    if (!Number.isInteger(seed) || seed < -SEED_MAX - 1 || seed > SEED_MAX) {
      throw ShrinkError("seed: must be a 32-bit integer (got " + seed + ")", "seed");
    }
    var s = seed >>> 0;
    var j;
    for (j = 0; j < 50; j++) s = lcg(s);
    s = lcg(s); // the table's first entry: the position, which R sets to 624
    this.mt = new Uint32Array(MT_N);
    for (j = 0; j < MT_N; j++) {
      s = lcg(s);
      this.mt[j] = s;
    }
    this.mti = MT_N;
  }

  /** The next tempered 32-bit output of the twister (as R's MT_genrand). */
  RRandom.prototype.nextRaw = function () {
    var mt = this.mt;
    var y, kk;
    if (this.mti >= MT_N) {
      for (kk = 0; kk < MT_N - MT_M; kk++) {
        y = (mt[kk] & UPPER) | (mt[kk + 1] & LOWER);
        mt[kk] = mt[kk + MT_M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      for (; kk < MT_N - 1; kk++) {
        y = (mt[kk] & UPPER) | (mt[kk + 1] & LOWER);
        mt[kk] = mt[kk + MT_M - MT_N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      y = (mt[MT_N - 1] & UPPER) | (mt[0] & LOWER);
      mt[MT_N - 1] = mt[MT_M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      this.mti = 0;
    }
    y = mt[this.mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  };

  /** unif_rand(): a uniform on (0, 1), kept inside the interval as R's fixup() does. */
  RRandom.prototype.unifRand = function () {
    var u = this.nextRaw() * TO_UNIT;
    if (u <= 0) return 0.5 * I2_32M1;
    if (1 - u <= 0) return 1 - 0.5 * I2_32M1;
    return u;
  };

  /** runif(n). */
  RRandom.prototype.runif = function (n) {
    var out = new Float64Array(n);
    for (var i = 0; i < n; i++) out[i] = this.unifRand();
    return out;
  };

  /** rnorm(n, mean, sd) by Inversion: u = floor(2^27 U1) + U2, qnorm(u / 2^27). */
  RRandom.prototype.rnorm = function (n, mean, sd) {
    var m = mean === undefined ? 0 : mean;
    var s = sd === undefined ? 1 : sd;
    var plain = m === 0 && s === 1;
    var out = new Float64Array(n);
    for (var i = 0; i < n; i++) {
      var u = Math.floor(BIG * this.unifRand()) + this.unifRand();
      var z = qnorm(u / BIG);
      out[i] = plain ? z : m + s * z;
    }
    return out;
  };

  /** R's rbits(bits): floor(bits / 16) + 1 uniforms, 16 bits each, masked to `bits` bits
   *  (`modulus` = 2^bits; bits <= 31, so every value is exact). */
  RRandom.prototype.rbits = function (bits, modulus) {
    var v = Math.floor(this.unifRand() * 65536);
    if (bits >= 16) v = 65536 * v + Math.floor(this.unifRand() * 65536);
    return v % modulus;
  };

  function ceilLog2(n) {
    var bits = 0;
    while (Math.pow(2, bits) < n) bits++;
    return bits;
  }

  /** R_unif_index(dn): rejection sampling from ceiling(log2(dn)) random bits. */
  RRandom.prototype.unifIndex = function (dn) {
    if (dn <= 0) return 0;
    var bits = ceilLog2(dn);
    return this.unifIndexBits(dn, bits, Math.pow(2, bits));
  };

  RRandom.prototype.unifIndexBits = function (dn, bits, modulus) {
    var v;
    do {
      v = this.rbits(bits, modulus);
    } while (dn <= v);
    return v;
  };

  /** sample.int(n, size) without replacement: 1-based indices in R's order. */
  RRandom.prototype.sampleInt = function (n, size) {
    if (size === undefined) size = n;
    if (!(Number.isInteger(n) && Number.isInteger(size) && size >= 0 && size <= n &&
          n <= SEED_MAX)) {
      throw ShrinkError("cannot take a sample of " + size + " from " + n + " without replacement");
    }
    var out = new Int32Array(size);
    var i;
    var bits = ceilLog2(n);
    var modulus = Math.pow(2, bits);
    if (n > 1e7 && size <= n / 2) {
      // R's sample2: draw with replacement, skip repeats
      var seen = new Set();
      for (i = 0; i < size; ) {
        var v = this.unifIndexBits(n, bits, modulus);
        if (!seen.has(v)) {
          seen.add(v);
          out[i++] = v + 1;
        }
      }
      return out;
    }
    // R's SampleNoReplace: a drawn index is replaced by the last one still in the pool
    var pool = new Int32Array(n);
    for (i = 0; i < n; i++) pool[i] = i;
    var left = n;
    for (i = 0; i < size; i++) {
      while (bits > 0 && modulus / 2 >= left) {
        bits--;
        modulus /= 2;
      }
      var j = this.unifIndexBits(left, bits, modulus);
      out[i] = pool[j] + 1;
      pool[j] = pool[--left];
    }
    return out;
  };

  // qnorm by Wichura's algorithm AS 241 (Applied Statistics 37, 1988), as R computes it:
  // a rational function of q = p - 0.5 in the centre, of r = sqrt(-log(min(p, 1 - p))) in the
  // tails (one for r <= 5, one beyond), each polynomial evaluated by Horner's rule from its
  // highest coefficient.
  var QA = [3.387132872796366608, 133.14166789178437745, 1971.5909503065514427,
    13731.693765509461125, 45921.953931549871457, 67265.770927008700853,
    33430.575583588128105, 2509.0809287301226727];
  var QB = [1, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077,
    21213.794301586595867, 39307.89580009271061, 28729.085735721942674,
    5226.495278852545925];
  var QC = [1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055,
    3.64784832476320460504, 1.27045825245236838258, 0.24178072517745061177,
    0.0227238449892691845833, 7.7454501427834140764e-4];
  var QD = [1, 2.05319162663775882187, 1.6763848301838038494, 0.68976733498510000455,
    0.14810397642748007459, 0.0151986665636164571966, 5.475938084995344946e-4,
    1.05075007164441684324e-9];
  var QE = [6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358,
    0.29656057182850489123, 0.026532189526576123093, 0.0012426609473880784386,
    2.71155556874348757815e-5, 2.01033439929228813265e-7];
  var QF = [1, 0.59983220655588793769, 0.13692988092273580531, 0.0148753612908506148525,
    7.868691311456132591e-4, 1.8463183175100546818e-5, 1.4215117583164458887e-7,
    2.04426310338993978564e-15];

  function horner(c, r) {
    var acc = c[7] * r + c[6];
    for (var k = 5; k >= 0; k--) acc = acc * r + c[k];
    return acc;
  }

  /** The standard normal quantile of p in (0, 1). */
  function qnorm(p) {
    var q = p - 0.5;
    if (Math.abs(q) <= 0.425) {
      var rc = 0.180625 - q * q;
      return (q * horner(QA, rc)) / horner(QB, rc);
    }
    var r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
    var val;
    if (r <= 5) {
      r -= 1.6;
      val = horner(QC, r) / horner(QD, r);
    } else {
      r -= 5;
      val = horner(QE, r) / horner(QF, r);
    }
    return q < 0 ? -val : val;
  }

  // ===== create_data() ==========================================================================

  var DATA_KEYS = ["obs_per_cluster", "n_cluster", "intercept", "beta", "sigma", "sd_int",
    "sd_slope", "cor", "balanced", "seed"];
  var DEFAULTS = {obs_per_cluster: 10, n_cluster: 100, intercept: 1, beta: 0.5, sigma: 1,
    sd_int: 0.5, sd_slope: 0.25, cor: 0, balanced: 1, seed: 888};
  var ALLOWED = {
    obs_per_cluster: "an integer ≥ 1",
    n_cluster: "an integer ≥ 2",
    intercept: "a number",
    beta: "a number",
    sigma: "a number > 0",
    sd_int: "a number ≥ 0",
    sd_slope: "a number ≥ 0",
    cor: "a number between -1 and 1",
    balanced: "a fraction 0 < balanced ≤ 1, or true (= 1)",
    seed: "an integer between -2147483647 and 2147483647"
  };
  var MAX_ROWS = 2147483647;

  /** The scenario's data-generating arguments with their defaults, checked as the scenario
   *  schema checks them; an error names the key and what is allowed. */
  function scenarioParameters(params) {
    var p = {};
    var given = params || {};
    DATA_KEYS.forEach(function (k) {
      var v = given[k] === undefined || given[k] === null ? DEFAULTS[k] : given[k];
      if (k === "balanced" && v === true) v = 1;
      var ok = typeof v === "number" && isFinite(v);
      if (ok) {
        if (k === "obs_per_cluster") ok = Number.isInteger(v) && v >= 1;
        else if (k === "n_cluster") ok = Number.isInteger(v) && v >= 2;
        else if (k === "seed") ok = Number.isInteger(v) && Math.abs(v) <= SEED_MAX;
        else if (k === "sigma") ok = v > 0;
        else if (k === "sd_int" || k === "sd_slope") ok = v >= 0;
        else if (k === "cor") ok = v >= -1 && v <= 1;
        else if (k === "balanced") ok = v > 0 && v <= 1;
      }
      if (!ok) throw ShrinkError(k + ": must be " + ALLOWED[k] + " (got " + String(v) + ")", k);
      p[k] = v;
    });
    var total = p.n_cluster * p.obs_per_cluster;
    if (total > MAX_ROWS) {
      throw ShrinkError("n_cluster × obs_per_cluster = " + total + " rows; at most " + MAX_ROWS +
        " are allowed", "n_cluster");
    }
    if (expectedRows(p) < 1) {
      throw ShrinkError("balanced keeps no rows: n_cluster × obs_per_cluster × balanced < 0.5",
        "balanced");
    }
    return p;
  }

  /** round(v), half to even (as R's round and Python's). */
  function roundHalfEven(v) {
    var f = Math.floor(v);
    var d = v - f;
    if (d > 0.5) return f + 1;
    if (d < 0.5) return f;
    return f % 2 === 0 ? f : f + 1;
  }

  /** Rows kept by dplyr::sample_frac(balanced): round(N · balanced). */
  function expectedRows(p) {
    return roundHalfEven(p.n_cluster * p.obs_per_cluster * p.balanced);
  }

  // The eigen decomposition of a symmetric 2×2 matrix [[a, b], [b, c]] as LAPACK's symmetric
  // tridiagonal QL/QR solver computes it for a 2×2 block: a negligible off-diagonal entry
  // (|b| <= sqrt|a| sqrt|c| eps) is dropped; otherwise the eigenvalue of larger magnitude is
  // (a + c ± hypot(a - c, 2b)) / 2 and the other is det / rt1 (no cancellation), with the unit
  // eigenvector (cs, sn) from the better-conditioned of its two defining equations. Eigenvalues
  // come out in increasing order. Reproducing these steps reproduces the last bits, which
  // matter when an eigenvalue is near 0 (a correlation of ±1) and its square root is taken.
  var EPS = Math.pow(2, -53);

  function symEigen2(a, b, c) {
    var d0, d1, z00, z01, z10, z11;
    if (b === 0 || Math.abs(b) <= Math.sqrt(Math.abs(a)) * Math.sqrt(Math.abs(c)) * EPS) {
      d0 = a;
      d1 = c;
      z00 = 1; z01 = 0; z10 = 0; z11 = 1;
    } else {
      var sm = a + c;
      var df = a - c;
      var adf = Math.abs(df);
      var tb = b + b;
      var ab = Math.abs(tb);
      var acmx = Math.abs(a) > Math.abs(c) ? a : c;
      var acmn = Math.abs(a) > Math.abs(c) ? c : a;
      var rt;
      if (adf > ab) rt = adf * Math.sqrt(1 + (ab / adf) * (ab / adf));
      else if (adf < ab) rt = ab * Math.sqrt(1 + (adf / ab) * (adf / ab));
      else rt = ab * Math.SQRT2;
      var rt1, rt2, sgn1;
      if (sm < 0) {
        rt1 = 0.5 * (sm - rt);
        sgn1 = -1;
        rt2 = (acmx / rt1) * acmn - (b / rt1) * b;
      } else if (sm > 0) {
        rt1 = 0.5 * (sm + rt);
        sgn1 = 1;
        rt2 = (acmx / rt1) * acmn - (b / rt1) * b;
      } else {
        rt1 = 0.5 * rt;
        rt2 = -0.5 * rt;
        sgn1 = 1;
      }
      var cs, sgn2;
      if (df >= 0) {
        cs = df + rt;
        sgn2 = 1;
      } else {
        cs = df - rt;
        sgn2 = -1;
      }
      var cs1, sn1, tn;
      if (Math.abs(cs) > ab) {
        var ct = -tb / cs;
        sn1 = 1 / Math.sqrt(1 + ct * ct);
        cs1 = ct * sn1;
      } else if (ab === 0) {
        cs1 = 1;
        sn1 = 0;
      } else {
        tn = -cs / tb;
        cs1 = 1 / Math.sqrt(1 + tn * tn);
        sn1 = tn * cs1;
      }
      if (sgn1 === sgn2) {
        tn = cs1;
        cs1 = -sn1;
        sn1 = tn;
      }
      d0 = rt1;
      d1 = rt2;
      z00 = cs1; z01 = -sn1; z10 = sn1; z11 = cs1;
    }
    if (d1 < d0) {
      return {values: [d1, d0], vectors: [[z01, z00], [z11, z10]]};
    }
    return {values: [d0, d1], vectors: [[z00, z01], [z10, z11]]};
  }

  /** mvtnorm's "eigen" square root R = V diag(√λ) Vᵀ of the random-effect covariance (λ in
   *  decreasing order, as R's eigen()), so that rows of standard normals times R are draws of
   *  the random effects. Returns [[R00, R01], [R10, R11]]. */
  function randomEffectFactor(sdInt, sdSlope, cor) {
    var cov = cor * sdInt * sdSlope;
    var e = symEigen2(sdInt * sdInt, cov, sdSlope * sdSlope);
    var lam = [e.values[1], e.values[0]];
    var v = [[e.vectors[0][1], e.vectors[0][0]], [e.vectors[1][1], e.vectors[1][0]]];
    var sq = [Math.sqrt(Math.max(lam[0], 0)), Math.sqrt(Math.max(lam[1], 0))];
    var p = [[0, 0], [0, 0]];
    for (var m = 0; m < 2; m++) {
      for (var k = 0; k < 2; k++) {
        p[m][k] = v[m][0] * (v[k][0] * sq[0]) + v[m][1] * (v[k][1] * sq[1]);
      }
    }
    return [[p[0][0], p[1][0]], [p[0][1], p[1][1]]];
  }

  /** The post's create_data(), step for step as R runs it: set.seed(seed); x = rnorm(N); the
   *  random effects by mvtnorm::rmvnorm (method "eigen"); y = (intercept + re0) + (beta + re1)
   *  x + rnorm(N, sd = sigma); then dplyr::sample_frac(balanced), which keeps round(N ·
   *  balanced) rows in the order sample.int draws them. `cor` is the correlation. */
  function simulate(params) {
    var p = scenarioParameters(params);
    var k = p.n_cluster;
    var per = p.obs_per_cluster;
    var total = k * per;
    var keep = expectedRows(p);
    var f = randomEffectFactor(p.sd_int, p.sd_slope, p.cor);
    var r = new RRandom(p.seed);
    var x = r.rnorm(total);
    var z = r.rnorm(2 * k);
    var noise = r.rnorm(total, 0, p.sigma);
    var rows = r.sampleInt(total, keep);
    var trueInt = new Float64Array(k);
    var trueSlope = new Float64Array(k);
    var ids = new Int32Array(k);
    for (var i = 0; i < k; i++) {
      var z0 = z[2 * i];
      var z1 = z[2 * i + 1];
      trueInt[i] = p.intercept + (z0 * f[0][0] + z1 * f[1][0]);
      trueSlope[i] = p.beta + (z0 * f[0][1] + z1 * f[1][1]);
      ids[i] = i + 1;
    }
    var y = new Float64Array(keep);
    var xs = new Float64Array(keep);
    var cluster = new Int32Array(keep);
    for (var j = 0; j < keep; j++) {
      var row = rows[j] - 1;
      var c = (row / per) | 0;
      xs[j] = x[row];
      y[j] = trueInt[c] + trueSlope[c] * x[row] + noise[row];
      cluster[j] = c + 1;
    }
    return {
      y: y,
      x: xs,
      cluster: cluster,
      truth: {cluster: ids, true_intercept: trueInt, true_slope: trueSlope},
      parameters: p
    };
  }

  // ===== the model ===============================================================================
  //
  // As shrinkcli.model.ModelSpec: Λ = [[a, 0], [b, c]]; θ holds (a, b, c) for (x | cluster),
  // (a, c) for (x || cluster) and a alone for (1 | cluster). Var(b_i) = σ² ΛΛᵀ.

  var STRUCTURES = {
    "intercept-slope": {free: [0, 1, 2], slope: true, correlated: true},
    "uncorrelated": {free: [0, 2], slope: true, correlated: false},
    "intercept": {free: [0], slope: false, correlated: false}
  };
  var SINGULAR_TOL = 1e-4;
  var N_FIXED = 2;

  function ModelSpec(random, method) {
    var rnd = random || "intercept-slope";
    var m = method || "reml";
    if (!STRUCTURES[rnd]) {
      throw ShrinkError("model.random: must be 'intercept-slope', 'uncorrelated' or 'intercept' " +
        "(got " + JSON.stringify(rnd) + ")", "model.random");
    }
    if (m !== "reml" && m !== "ml") {
      throw ShrinkError("model.method: must be 'reml' or 'ml' (got " + JSON.stringify(m) + ")",
        "model.method");
    }
    var s = STRUCTURES[rnd];
    this.random = rnd;
    this.method = m;
    this.reml = m === "reml";
    this.free = s.free;
    this.slope = s.slope;
    this.correlated = s.correlated;
    this.nTheta = s.free.length;
    this.diagonal = [];
    for (var k = 0; k < s.free.length; k++) if (s.free[k] !== 1) this.diagonal.push(k);
  }

  ModelSpec.prototype.thetaStart = function () {
    return this.free.map(function (i) { return i === 1 ? 0 : 1; });
  };
  ModelSpec.prototype.lambdaEntries = function (theta) {
    var abc = [0, 0, 0];
    for (var k = 0; k < this.free.length; k++) abc[this.free[k]] = theta[k];
    return abc;
  };
  ModelSpec.prototype.thetaOf = function (abc) {
    return this.free.map(function (i) { return abc[i]; });
  };
  /** The representative with a non-negative diagonal (ΛΛᵀ is unchanged when a column of Λ
   *  changes sign). */
  ModelSpec.prototype.canonical = function (theta) {
    var abc = this.lambdaEntries(theta);
    if (abc[0] < 0) {
      abc[0] = -abc[0];
      abc[1] = -abc[1];
    }
    if (abc[2] < 0) abc[2] = -abc[2];
    return this.thetaOf(abc);
  };
  ModelSpec.prototype.isSingular = function (theta) {
    for (var k = 0; k < this.diagonal.length; k++) {
      if (theta[this.diagonal[k]] < SINGULAR_TOL) return true;
    }
    return false;
  };
  ModelSpec.prototype.randomTerm = function () {
    if (!this.slope) return "(1 | cluster)";
    return this.correlated ? "(x | cluster)" : "(x || cluster)";
  };
  ModelSpec.prototype.formula = function () {
    return "y ~ x + " + this.randomTerm();
  };

  // ===== the data ================================================================================

  function describe(v) {
    return typeof v === "string" ? "'" + v + "'" : String(v);
  }

  function isMissing(v) {
    return v === null || v === undefined || (typeof v === "number" && isNaN(v));
  }

  function numericColumn(values, name) {
    var out = new Float64Array(values.length);
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (isMissing(v)) {
        out[i] = NaN;
        continue;
      }
      if (typeof v !== "number") {
        throw ShrinkError("column '" + name + "' must be numeric, but row " + (i + 1) +
          " holds " + describe(v), name);
      }
      if (!isFinite(v)) {
        throw ShrinkError("column '" + name + "' has an infinite value in row " + (i + 1), name);
      }
      out[i] = v;
    }
    return out;
  }

  /** lme4's checks that the model can be fitted to nObs rows in nGroups clusters. */
  function checkIdentifiable(nObs, nGroups, spec) {
    var nRe = nGroups * (spec.slope ? 2 : 1);
    var term = spec.randomTerm();
    if (nObs <= nRe) {
      if (spec.slope) {
        throw ShrinkError("number of observations (" + nObs + ") <= number of random effects (" +
          nRe + ") for " + term + ": the model is not identifiable; use more observations per " +
          "cluster", null, nObs > nGroups + 1 ? ["model.random", "intercept"] : null);
      }
      throw ShrinkError("number of observations (" + nObs + ") <= number of random effects (" +
        nRe + ") for " + term + ": the model is not identifiable; it needs more than one " +
        "observation per cluster on average");
    }
    if (!spec.slope && nObs <= nGroups + 1) {
      throw ShrinkError("number of observations (" + nObs + ") <= number of clusters + 1 (" +
        (nGroups + 1) + ") for " + term + ": the data can be fitted exactly and the model is " +
        "not identifiable");
    }
  }

  /** Codes 0..K-1 and the K cluster ids in lme4's level order: numbers numerically, anything
   *  else as text. Small integer ids (simulated data) are coded through a table. */
  function clusterCodes(values) {
    var m = values.length;
    var codes = new Int32Array(m);
    var numeric = true;
    var integer = true;
    var lo = Infinity;
    var hi = -Infinity;
    var i, v;
    for (i = 0; i < m; i++) {
      v = values[i];
      if (typeof v !== "number") {
        numeric = false;
        break;
      }
      if (!Number.isInteger(v)) integer = false;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    var ids = [];
    if (numeric && integer && hi - lo < 4 * m + 1024) {
      var table = new Int32Array(hi - lo + 1).fill(-1);
      for (i = 0; i < m; i++) table[values[i] - lo] = 0;
      for (i = 0; i < table.length; i++) {
        if (table[i] === 0) {
          table[i] = ids.length;
          ids.push(i + lo);
        }
      }
      for (i = 0; i < m; i++) codes[i] = table[values[i] - lo];
      return {codes: codes, ids: ids};
    }
    var keys = new Array(m);
    var index = new Map();
    for (i = 0; i < m; i++) {
      keys[i] = numeric ? values[i] : String(values[i]);
      if (!index.has(keys[i])) {
        index.set(keys[i], 0);
        ids.push(keys[i]);
      }
    }
    if (numeric) ids.sort(function (a, b) { return a - b; });
    else ids.sort(function (a, b) { return a < b ? -1 : a > b ? 1 : 0; });
    ids.forEach(function (id, k) { index.set(id, k); });
    for (i = 0; i < m; i++) codes[i] = index.get(keys[i]);
    return {codes: codes, ids: ids};
  }

  /** Finite arrays, cluster codes 0..K-1 and the K cluster ids in lme4's level order (numbers
   *  numerically, text as text); rows with a missing value dropped, as lme4's na.omit. */
  function prepare(data, spec) {
    if (!data || data.y === undefined || data.x === undefined || data.cluster === undefined) {
      throw ShrinkError("the data need y, x and cluster");
    }
    var n = data.y.length;
    if (data.x.length !== n || data.cluster.length !== n) {
      throw ShrinkError("y, x and cluster must have the same length");
    }
    if (n === 0) throw ShrinkError("the data set is empty (no rows)");
    var yv = numericColumn(data.y, "y");
    var xv = numericColumn(data.x, "x");
    var cl = data.cluster;
    var keep = [];
    var i;
    for (i = 0; i < n; i++) {
      if (!isNaN(yv[i]) && !isNaN(xv[i]) && !isMissing(cl[i])) keep.push(i);
    }
    var warnings = [];
    var dropped = n - keep.length;
    if (dropped) {
      if (!keep.length) {
        throw ShrinkError("no rows left after dropping " + dropped + " rows with missing values");
      }
      warnings.push("dropped " + dropped + " row" + (dropped !== 1 ? "s" : "") +
        " with missing values");
    }
    var m = keep.length;
    var y = new Float64Array(m);
    var x = new Float64Array(m);
    var kept = new Array(m);
    for (i = 0; i < m; i++) {
      y[i] = yv[keep[i]];
      x[i] = xv[keep[i]];
      kept[i] = cl[keep[i]];
    }
    var coded = clusterCodes(kept);
    var codes = coded.codes;
    var ids = coded.ids;
    if (ids.length < 2) {
      throw ShrinkError("column 'cluster' has a single cluster (" + describe(ids[0]) +
        "): a mixed model needs at least two clusters");
    }
    if (range(x) === 0) {
      throw ShrinkError("column 'x' is constant (" + x[0] + "): its slope cannot be estimated");
    }
    if (range(y) === 0) {
      throw ShrinkError("column 'y' is constant (" + y[0] + "): there is nothing to fit");
    }
    checkIdentifiable(m, ids.length, spec);
    return {y: y, x: x, codes: codes, ids: ids, nGroups: ids.length, warnings: warnings};
  }

  function range(v) {
    var lo = Infinity;
    var hi = -Infinity;
    for (var i = 0; i < v.length; i++) {
      if (v[i] < lo) lo = v[i];
      if (v[i] > hi) hi = v[i];
    }
    return hi - lo;
  }

  // ===== the penalized least squares at θ ======================================================
  //
  // The derivation is the docstring of shrinkcli/lmm/pls.py. Per cluster i, G = XᵢᵀXᵢ =
  // [[n, s], [s, q]], g = Xᵢᵀyᵢ = (t, w); M = ΛᵀGΛ + I, H = ΛM⁻¹Λᵀ. Eliminating the random
  // effects leaves Sβ = r with S = XᵀX − Σ GHG and r = Xᵀy − Σ GHg; the penalized residual sum of
  // squares is ρ² = yᵀy − Σ gᵀHg − rᵀβ, and the profiled criteria are
  //   ML:   Σ log det M + N (1 + log(2π ρ² / N))
  //   REML: Σ log det M + log det S + (N − 2)(1 + log(2π ρ² / (N − 2))).
  // Their gradient with respect to Λ's entries (a, b, c):
  //   ∂ Σ log det M = 2 Σ GΛM⁻¹,  ∂ρ² = −2 Σ Xᵢᵀeᵢ uᵢᵀ,  ∂ log det S = −2 Σ (G − GHG) S⁻¹ GΛM⁻¹.

  var LOG_2PI = Math.log(2 * Math.PI);

  /** Per-cluster sums in one pass (and one more around the cluster means); y is centred at
   *  its overall mean first, which changes only the intercept. */
  function sufficientStats(y, x, codes, k) {
    var nObs = y.length;
    var n = new Float64Array(k);
    var s = new Float64Array(k);
    var t = new Float64Array(k);
    var i, c;
    var ySum = 0;
    for (i = 0; i < nObs; i++) ySum += y[i];
    var yShift = ySum / nObs;
    for (i = 0; i < nObs; i++) {
      c = codes[i];
      n[c] += 1;
      s[c] += x[i];
      t[c] += y[i] - yShift;
    }
    var sxx = new Float64Array(k);
    var sxy = new Float64Array(k);
    var syy = new Float64Array(k);
    for (i = 0; i < nObs; i++) {
      c = codes[i];
      var dx = x[i] - s[c] / n[c];
      var dy = (y[i] - yShift) - t[c] / n[c];
      sxx[c] += dx * dx;
      sxy[c] += dx * dy;
      syy[c] += dy * dy;
    }
    var q = new Float64Array(k);
    var w = new Float64Array(k);
    var detG = new Float64Array(k);
    var xtx00 = 0, xtx01 = 0, xtx11 = 0, xty0 = 0, xty1 = 0, yty = 0;
    for (c = 0; c < k; c++) {
      var xbar = s[c] / n[c];
      var ybar = t[c] / n[c];
      q[c] = sxx[c] + n[c] * xbar * xbar;
      w[c] = sxy[c] + n[c] * xbar * ybar;
      detG[c] = n[c] * sxx[c];
      xtx00 += n[c];
      xtx01 += s[c];
      xtx11 += q[c];
      xty0 += t[c];
      xty1 += w[c];
      yty += syy[c] + n[c] * ybar * ybar;
    }
    var scratch = {};
    ["m11", "m12", "m22", "p11", "p12", "p21", "p22", "g00", "g01", "g11", "b0", "b1"].forEach(
      function (name) { scratch[name] = new Float64Array(k); });
    return {n: n, s: s, q: q, t: t, w: w, detG: detG, sxx: sxx, sxy: sxy, k: k, scratch: scratch,
      xtx00: xtx00, xtx01: xtx01, xtx11: xtx11, xty0: xty0, xty1: xty1, yty: yty,
      nObs: nObs, yShift: yShift};
  }

  /** The profiled criterion at Λ = [[a, 0], [b, c]], with β and S⁻¹, and on request the
   *  gradient with respect to (a, b, c) and the conditional modes. */
  function solveLambda(a, b, c, st, reml, wantGrad, wantModes) {
    var k = st.k;
    var n = st.n, s = st.s, q = st.q, t = st.t, w = st.w, detG = st.detG;
    var logdetM = 0, ghg00 = 0, ghg01 = 0, ghg11 = 0, kt0 = 0, kt1 = 0, gHg = 0;
    var needPer = wantGrad || wantModes;
    var P = needPer ? st.scratch : null;
    var ac2 = (a * c) * (a * c);
    for (var i = 0; i < k; i++) {
      var ni = n[i], si = s[i], qi = q[i];
      var gl0 = ni * a + si * b;
      var gl1 = si * a + qi * b;
      var a11 = a * gl0 + b * gl1;
      var a12 = c * gl1;
      var a22 = (c * c) * qi;
      var dm1 = a11 + a22 + ac2 * detG[i];
      logdetM += Math.log1p(dm1);
      var inv = 1 / (1 + dm1);
      var m11 = (1 + a22) * inv;
      var m12 = -a12 * inv;
      var m22 = (1 + a11) * inv;
      var p11 = a * m11;
      var p12 = a * m12;
      var p21 = b * m11 + c * m12;
      var p22 = b * m12 + c * m22;
      var h11 = a * p11;
      var h12 = b * p11 + c * p12;
      var h22 = b * p21 + c * p22;
      var k11 = ni * h11 + si * h12;
      var k12 = ni * h12 + si * h22;
      var k21 = si * h11 + qi * h12;
      var k22 = si * h12 + qi * h22;
      var e00 = k11 * ni + k12 * si;
      var e01 = k11 * si + k12 * qi;
      var e11 = k21 * si + k22 * qi;
      ghg00 += e00;
      ghg01 += e01;
      ghg11 += e11;
      var ti = t[i], wi = w[i];
      kt0 += k11 * ti + k12 * wi;
      kt1 += k21 * ti + k22 * wi;
      gHg += ti * (h11 * ti + h12 * wi) + wi * (h12 * ti + h22 * wi);
      if (needPer) {
        P.m11[i] = m11; P.m12[i] = m12; P.m22[i] = m22;
        P.p11[i] = p11; P.p12[i] = p12; P.p21[i] = p21; P.p22[i] = p22;
        P.g00[i] = e00; P.g01[i] = e01; P.g11[i] = e11;
      }
    }
    var s00 = st.xtx00 - ghg00;
    var s01 = st.xtx01 - ghg01;
    var s11 = st.xtx11 - ghg11;
    var r0 = st.xty0 - kt0;
    var r1 = st.xty1 - kt1;
    var detS = s00 * s11 - s01 * s01;
    if (!(detS > 0)) {
      throw ShrinkError("the fixed effects cannot be separated from the random effects (the " +
        "cluster effects absorb the data); use more observations per cluster or fewer random " +
        "effects");
    }
    var i00 = s11 / detS;
    var i01 = -s01 / detS;
    var i11 = s00 / detS;
    var beta0 = i00 * r0 + i01 * r1;
    var beta1 = i01 * r0 + i11 * r1;
    var rho2 = st.yty - gHg - (r0 * beta0 + r1 * beta1);
    var dof = reml ? st.nObs - N_FIXED : st.nObs;
    var crit;
    if (!(rho2 > 0)) {
      rho2 = Math.max(rho2, 0);
      crit = -Infinity;
    } else {
      crit = logdetM + dof * (1 + LOG_2PI + Math.log(rho2 / dof));
      if (reml) crit += Math.log(detS);
    }
    var out = {criterion: crit, beta0: beta0, beta1: beta1, i00: i00, i01: i01, i11: i11,
      rho2: rho2, gradient: null, b0: null, b1: null};
    if (!needPer) return out;
    var b0 = wantModes ? new Float64Array(k) : P.b0;
    var b1 = wantModes ? new Float64Array(k) : P.b1;
    var sv00 = 0, sv10 = 0, sv11 = 0, eu0 = 0, eu1 = 0, fu0 = 0;
    // Σ W V over clusters, W = G − GHG = (w00, w01, w11), V = GΛM⁻¹ = (v00, v01, v10, v11)
    var cw = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]];
    var scale = rho2 > 0 ? -2 * dof / rho2 : 0;
    for (var j = 0; j < k; j++) {
      var nj = n[j], sj = s[j], qj = q[j];
      var v0 = t[j] - nj * beta0 - sj * beta1; // g − Gβ
      var v1 = w[j] - sj * beta0 - qj * beta1;
      var lv0 = a * v0 + b * v1; // Λᵀ(g − Gβ)
      var lv1 = c * v1;
      var u0 = P.m11[j] * lv0 + P.m12[j] * lv1;
      var u1 = P.m12[j] * lv0 + P.m22[j] * lv1;
      var bb0 = a * u0;
      var bb1 = b * u0 + c * u1;
      b0[j] = bb0;
      b1[j] = bb1;
      if (!wantGrad) continue;
      var e0 = v0 - nj * bb0 - sj * bb1; // Xᵀe
      var e1 = v1 - sj * bb0 - qj * bb1;
      var q11 = P.p11[j], q12 = P.p12[j], q21 = P.p21[j], q22 = P.p22[j];
      var v00 = nj * q11 + sj * q21;
      var v01 = nj * q12 + sj * q22;
      var v10 = sj * q11 + qj * q21;
      var v11 = sj * q12 + qj * q22;
      sv00 += v00;
      sv10 += v10;
      sv11 += v11;
      eu0 += e0 * u0;
      eu1 += e1 * u0;
      fu0 += e1 * u1;
      if (reml) {
        var w00 = nj - P.g00[j];
        var w01 = sj - P.g01[j];
        var w11 = qj - P.g11[j];
        var ws = [w00, w01, w11];
        var vs = [v00, v01, v10, v11];
        for (var r = 0; r < 3; r++) {
          for (var cc = 0; cc < 4; cc++) cw[r][cc] += ws[r] * vs[cc];
        }
      }
    }
    if (wantModes) {
      out.b0 = b0;
      out.b1 = b1;
    }
    if (wantGrad) {
      var g = [2 * sv00 + scale * eu0, 2 * sv10 + scale * eu1, 2 * sv11 + scale * fu0];
      if (reml) {
        // (W S⁻¹ V)[j][col], W[j][m] = ws[widx[j][m]], V[nn][col] = vs[2 nn + col]
        var si2 = [[i00, i01], [i01, i11]];
        var widx = [[0, 1], [1, 2]];
        var entries = [[0, 0], [1, 0], [1, 1]];
        for (var o = 0; o < 3; o++) {
          var jj = entries[o][0];
          var col = entries[o][1];
          var tot = 0;
          for (var mm = 0; mm < 2; mm++) {
            for (var nn = 0; nn < 2; nn++) tot += si2[mm][nn] * cw[widx[jj][mm]][2 * nn + col];
          }
          g[o] -= 2 * tot;
        }
      }
      out.gradient = g;
    }
    return out;
  }

  function solve(theta, st, spec, wantGrad, wantModes) {
    var abc = spec.lambdaEntries(theta);
    var sol = solveLambda(abc[0], abc[1], abc[2], st, spec.reml, wantGrad, wantModes);
    if (sol.gradient) sol.gradient = spec.thetaOf(sol.gradient);
    return sol;
  }

  // ===== the optimizer =========================================================================
  //
  // BFGS on the analytic gradient with a line search for the strong Wolfe conditions, from
  // lme4's start, unbounded: the criterion depends on Λ only through ΛΛᵀ, so a column's sign
  // is folded back afterwards. Being even in each diagonal entry, the criterion has a
  // vanishing derivative on the boundary, where a gradient method can stall at a saddle; so
  // every diagonal entry below 1e-4 is probed (points moved off the boundary, and the
  // equivalent representations of a = 0), and the search restarts from a lower one.

  var PROBE_STEPS = [1e-3, 1e-2, 0.05, 0.2, 0.5, 1.0, 3.0, 10.0, 100.0];
  var MAX_RESTARTS = 6;

  function boundaryCandidates(spec, theta) {
    var d, r;
    if (spec.nTheta === 1) {
      if (theta[0] < SINGULAR_TOL) return PROBE_STEPS.map(function (v) { return [v]; });
      return [[0]];
    }
    var abc = spec.lambdaEntries(theta);
    var a = abc[0], b = abc[1], c = abc[2];
    var lam = [];
    var k;
    if (Math.min(a, c) >= SINGULAR_TOL) {
      r = Math.hypot(b, c);
      lam.push([a, b, 0], [0, 0, r], [0, 0, 0]);
    }
    if (c < SINGULAR_TOL) {
      for (k = 0; k < PROBE_STEPS.length; k++) lam.push([a, b, PROBE_STEPS[k]]);
      if (spec.correlated) {
        for (k = 0; k < PROBE_STEPS.length; k++) lam.push([a, b * 0.5, PROBE_STEPS[k]]);
      }
    }
    if (a < SINGULAR_TOL) {
      r = Math.hypot(b, c);
      for (k = 0; k < PROBE_STEPS.length; k++) {
        d = PROBE_STEPS[k];
        if (spec.correlated) lam.push([d, r, 0], [d, -r, 0], [d, b, c], [d, 0, r]);
        else lam.push([d, 0, c]);
      }
    }
    return lam.map(function (v) { return spec.thetaOf(v); });
  }

  function dot(u, v) {
    var acc = 0;
    for (var i = 0; i < u.length; i++) acc += u[i] * v[i];
    return acc;
  }

  function maxAbs(v) {
    var m = 0;
    for (var i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
    return m;
  }

  function step(x, d, alpha) {
    return x.map(function (xi, i) { return xi + alpha * d[i]; });
  }

  /** The minimiser of the cubic through (a, fa, da) and (b, fb, db), or NaN. */
  function cubicMin(a, fa, da, b, fb, db) {
    var d1 = da + db - 3 * (fa - fb) / (a - b);
    var rad = d1 * d1 - da * db;
    if (!(rad >= 0)) return NaN;
    var d2 = (b > a ? 1 : -1) * Math.sqrt(rad);
    return b - (b - a) * (db + d2 - d1) / (db - da + 2 * d2);
  }

  /** A step along d satisfying the strong Wolfe conditions (Nocedal & Wright, algorithms 3.5
   *  and 3.6, with cubic interpolation); null when none is found. */
  function wolfeSearch(fg, x, f0, g0, d, alpha0) {
    var c1 = 1e-4;
    var c2 = 0.9;
    var dg0 = dot(g0, d);
    if (!(dg0 < 0)) return null;
    var best = null;

    function evaluate(alpha) {
      var xn = step(x, d, alpha);
      var r = fg(xn);
      var f = isNaN(r.f) ? Infinity : r.f;
      var pt = {alpha: alpha, x: xn, f: f, g: r.g, dg: isFinite(f) ? dot(r.g, d) : NaN};
      if (f < f0 && (best === null || f < best.f)) best = pt;
      return pt;
    }

    function zoom(lo, hi) {
      for (var it = 0; it < 20; it++) {
        var a = NaN;
        if (isFinite(hi.f) && !isNaN(hi.dg)) a = cubicMin(lo.alpha, lo.f, lo.dg, hi.alpha, hi.f, hi.dg);
        var left = Math.min(lo.alpha, hi.alpha);
        var width = Math.abs(hi.alpha - lo.alpha);
        if (!(a > left + 0.1 * width && a < left + 0.9 * width)) a = 0.5 * (lo.alpha + hi.alpha);
        if (width <= 1e-16 * Math.max(1, Math.abs(lo.alpha))) break;
        var pt = evaluate(a);
        if (pt.f > f0 + c1 * a * dg0 || pt.f >= lo.f) {
          hi = pt;
        } else {
          if (Math.abs(pt.dg) <= -c2 * dg0) return pt;
          if (pt.dg * (hi.alpha - lo.alpha) >= 0) hi = lo;
          lo = pt;
        }
      }
      return best;
    }

    var prev = {alpha: 0, x: x, f: f0, g: g0, dg: dg0};
    var alpha = alpha0;
    for (var i = 0; i < 60; i++) {
      var pt = evaluate(alpha);
      if (!isFinite(pt.f) && pt.f > 0) {
        alpha = 0.5 * (prev.alpha + alpha); // outside the domain: come back
        continue;
      }
      if (pt.f === -Infinity) return pt;
      if (pt.f > f0 + c1 * alpha * dg0 || (i > 0 && pt.f >= prev.f)) return zoom(prev, pt);
      if (Math.abs(pt.dg) <= -c2 * dg0) return pt;
      if (pt.dg >= 0) return zoom(pt, prev);
      prev = pt;
      alpha = Math.min(4 * alpha, 1e10);
    }
    return best;
  }

  /** BFGS from x0; stops when the largest gradient component is below gtol, when the decrease
   *  the quadratic model predicts is below the resolution of the criterion's floating-point
   *  value, when it no longer decreases (relative change below 1e-15 twice), or when no step
   *  lowers it. */
  function bfgs(fg, x0, gtol, counter) {
    var n = x0.length;
    var x = x0.slice();
    var r = fg(x);
    var f = r.f;
    var g = r.g;
    var H = null; // inverse Hessian approximation; null: the identity, scaled at the first step
    var stalls = 0;
    var message = "";
    for (var iter = 0; iter < 1000; iter++) {
      if (!isFinite(f) || maxAbs(g) <= gtol) {
        message = "converged";
        break;
      }
      var d = new Array(n);
      var i, j;
      if (H === null) {
        for (i = 0; i < n; i++) d[i] = -g[i];
      } else {
        for (i = 0; i < n; i++) {
          d[i] = 0;
          for (j = 0; j < n; j++) d[i] -= H[i][j] * g[j];
        }
      }
      if (-dot(g, d) <= 4 * EPS * Math.max(1, Math.abs(f))) {
        message = "converged: the predicted decrease is below the criterion's resolution";
        break;
      }
      var alpha0 = H === null ? Math.min(1, 1 / maxAbs(g)) : 1;
      var pt = wolfeSearch(fg, x, f, g, d, alpha0);
      if (pt === null) {
        if (H === null) {
          message = "no lower point along the gradient";
          break;
        }
        H = null; // start the approximation afresh, once
        continue;
      }
      var sv = pt.x.map(function (v, k) { return v - x[k]; });
      var yv = pt.g.map(function (v, k) { return v - g[k]; });
      var sy = dot(sv, yv);
      var rel = (f - pt.f) / Math.max(Math.abs(f), Math.abs(pt.f), 1);
      x = pt.x;
      f = pt.f;
      g = pt.g;
      if (counter.limit && counter.count > counter.limit) break;
      stalls = rel <= 1e-15 ? stalls + 1 : 0;
      if (stalls >= 2) {
        message = "no further decrease";
        break;
      }
      if (sy > 1e-12 * Math.sqrt(dot(sv, sv) * dot(yv, yv))) {
        if (H === null) {
          var gamma = sy / dot(yv, yv);
          H = [];
          for (i = 0; i < n; i++) {
            H.push([]);
            for (j = 0; j < n; j++) H[i].push(i === j ? gamma : 0);
          }
        }
        var rho = 1 / sy;
        var Hy = H.map(function (row) { return dot(row, yv); });
        var yHy = dot(yv, Hy);
        for (i = 0; i < n; i++) {
          for (j = 0; j < n; j++) {
            H[i][j] += -rho * (sv[i] * Hy[j] + Hy[i] * sv[j]) +
              (rho * rho * yHy + rho) * sv[i] * sv[j];
          }
        }
      }
    }
    return {x: x, f: f, message: message};
  }

  function optimize(st, spec) {
    var counter = {count: 0, limit: 0};
    function fg(th) {
      counter.count++;
      var sol = solve(th, st, spec, true, false);
      return {f: sol.criterion, g: sol.gradient};
    }
    function value(th) {
      counter.count++;
      return solve(th, st, spec, false, false).criterion;
    }
    var gtol = 1e-9 * Math.max(1, st.nObs / 1000);
    var theta = spec.thetaStart();
    var bestF = Infinity;
    var restarts = 0;
    for (;;) {
      var res = bfgs(fg, theta, gtol, counter);
      var thetaNew = spec.canonical(res.x);
      if (res.f <= bestF) {
        theta = thetaNew;
        bestF = res.f;
      }
      var cands = boundaryCandidates(spec, theta);
      if (!cands.length || restarts >= MAX_RESTARTS) break;
      var vals = cands.map(value);
      var i = 0;
      for (var k = 1; k < vals.length; k++) if (vals[k] < vals[i]) i = k;
      if (!(vals[i] < bestF - 1e-10 * Math.max(1, Math.abs(bestF)))) break;
      theta = cands[i];
      restarts++;
      bestF = Math.min(bestF, vals[i]);
    }
    return {theta: theta, evaluations: counter.count, restarts: restarts};
  }

  // ===== the fit ===============================================================================

  /** Λ's (a, b, c) for x from Λ' = [[a', 0], [b', c']] fitted for x' = x − m (pls.lambda_back):
   *  the lower-triangular factor of T⁻¹Λ'Λ'ᵀT⁻ᵀ, T = [[1, m], [0, 1]], by a rotation of the
   *  rows of T⁻¹Λ'. */
  function lambdaBack(aw, bw, cw, m) {
    var p = aw - m * bw, r = -m * cw;
    var a = Math.hypot(p, r);
    if (a === 0) return [0, 0, Math.hypot(bw, cw)];
    return [a, (p * bw + r * cw) / a, (aw * cw) / a];
  }

  /** Each cluster's own OLS line (lme4's lmList); no slope (null) with one row or constant x. */
  function olsByCluster(st) {
    var k = st.k;
    var intercept = new Float64Array(k);
    var slope = new Array(k);
    for (var i = 0; i < k; i++) {
      var n = st.n[i];
      var xbar = st.s[i] / n;
      var ybar = st.t[i] / n + st.yShift;
      var has = n >= 2 && st.sxx[i] > 1e-14 * st.q[i] && st.sxx[i] > 0;
      if (has) {
        slope[i] = st.sxy[i] / st.sxx[i];
        intercept[i] = ybar - slope[i] * xbar;
      } else {
        slope[i] = null;
        intercept[i] = ybar;
      }
    }
    return {intercept: intercept, slope: slope};
  }

  /** Root-mean-square vertical distance between lines differing by (d0, d1) over x with mean
   *  xMean and variance xVar (divisor N). */
  function lineDistance(d0, d1, xMean, xVar) {
    return Math.sqrt((d0 + d1 * xMean) * (d0 + d1 * xMean) + d1 * d1 * xVar);
  }

  function meanVar(x) {
    var sum = 0;
    var i;
    for (i = 0; i < x.length; i++) sum += x[i];
    var mean = sum / x.length;
    var ss = 0;
    for (i = 0; i < x.length; i++) ss += (x[i] - mean) * (x[i] - mean);
    return {mean: mean, variance: ss / x.length};
  }

  function varianceComponents(spec, theta, sigma2) {
    var abc = spec.lambdaEntries(theta);
    var a = abc[0], b = abc[1], c = abc[2];
    var cov = [[sigma2 * (a * a), sigma2 * (a * b)], [sigma2 * (a * b), sigma2 * (b * b + c * c)]];
    var iv = cov[0][0];
    var out = {intercept_var: iv, slope_var: null, intercept_sd: Math.sqrt(iv), slope_sd: null,
      corr: null, covariance: cov};
    if (!spec.slope) return out;
    var sv = cov[1][1];
    out.slope_var = sv;
    out.slope_sd = Math.sqrt(sv);
    if (spec.correlated) {
      var denom = Math.sqrt(iv * sv);
      out.corr = denom > 0 ? cov[0][1] / denom : NaN;
    }
    return out;
  }

  /** Fit the mixed model to {y, x, cluster} as lme4 does, with every cluster's own OLS line and
   *  how far it was shrunk. Throws an Error with a one-line message for data the model cannot
   *  be fitted to. */
  function fit(data, options) {
    var o = options || {};
    var spec = new ModelSpec(o.random, o.method);
    var prep = prepare(data, spec);
    var st = sufficientStats(prep.y, prep.x, prep.codes, prep.nGroups);
    var xs = meanVar(prep.x);
    // (x | cluster) and (1 | cluster): fitted in x' = x − x̄, as pls.py evaluates (there Σx² and
    // Σxy have no large terms to cancel when x̄ ≫ sd(x)); (x || cluster) changes under a shift
    var m = spec.random === "uncorrelated" ? 0 : xs.mean;
    var stFit = st;
    if (m !== 0) {
      var xc = new Float64Array(prep.x.length);
      for (var r = 0; r < xc.length; r++) xc[r] = prep.x[r] - m;
      stFit = sufficientStats(prep.y, xc, prep.codes, prep.nGroups);
    }
    var opt = optimize(stFit, spec);
    var sol = solve(opt.theta, stFit, spec, false, true);
    if (!isFinite(sol.criterion)) {
      throw ShrinkError("the fit failed: the residual sum of squares is zero (y fits exactly)");
    }
    var theta = opt.theta;
    if (m !== 0) {
      var abc = spec.lambdaEntries(theta);
      theta = spec.canonical(spec.thetaOf(lambdaBack(abc[0], abc[1], abc[2], m)));
      var i00c = sol.i00, i01c = sol.i01;
      sol.i00 = i00c - 2 * m * i01c + m * m * sol.i11;
      sol.beta0 -= m * sol.beta1;
      for (var j = 0; j < sol.b0.length; j++) sol.b0[j] -= m * sol.b1[j];
    }
    var dof = spec.reml ? st.nObs - N_FIXED : st.nObs;
    var sigma2 = sol.rho2 / dof;
    var beta = [sol.beta0 + st.yShift, sol.beta1];
    var se = [Math.sqrt(Math.max(sigma2 * sol.i00, 0)), Math.sqrt(Math.max(sigma2 * sol.i11, 0))];
    var ols = olsByCluster(st);
    var clusters = [];
    for (var i = 0; i < prep.nGroups; i++) {
      var mi = beta[0] + sol.b0[i];
      var ms = beta[1] + sol.b1[i];
      var shrink = null;
      if (ols.slope[i] !== null) {
        var dOls = lineDistance(ols.intercept[i] - beta[0], ols.slope[i] - beta[1], xs.mean,
          xs.variance);
        var dMix = lineDistance(mi - beta[0], ms - beta[1], xs.mean, xs.variance);
        if (dOls > 0) shrink = 1 - dMix / dOls;
      }
      clusters.push({
        cluster: prep.ids[i],
        n: st.n[i],
        ols_intercept: ols.intercept[i],
        ols_slope: ols.slope[i],
        mixed_intercept: mi,
        mixed_slope: ms,
        ranef_intercept: sol.b0[i],
        ranef_slope: sol.b1[i],
        shrinkage: shrink
      });
    }
    var vc = varianceComponents(spec, theta, sigma2);
    return {
      method: spec.method,
      random: spec.random,
      formula: spec.formula(),
      criterion: sol.criterion,
      n_obs: st.nObs,
      n_groups: prep.nGroups,
      theta: theta.slice(),
      beta: beta,
      se: se,
      sigma: Math.sqrt(sigma2),
      sigma2: sigma2,
      singular: spec.isSingular(theta),
      variance: {intercept_sd: vc.intercept_sd, slope_sd: vc.slope_sd, corr: vc.corr},
      covariance: vc.covariance,
      x_mean: xs.mean,
      x_var: xs.variance,
      evaluations: opt.evaluations,
      restarts: opt.restarts,
      warnings: prep.warnings,
      clusters: clusters
    };
  }

  // ===== the report's measures ================================================================
  //
  // As shrinkcli.report.metrics: the estimates named after the scenario keys they estimate; the
  // mean shrinkage over the clusters that have one; the RMSE of the by-cluster and the mixed
  // estimates of every cluster's intercept, slope and line against the truth, over the clusters
  // with a by-cluster slope and a known truth (the line error is the distance of shrinkage).

  function rmse(values) {
    if (!values.length) return NaN;
    var ss = 0;
    for (var i = 0; i < values.length; i++) ss += values[i] * values[i];
    return Math.sqrt(ss / values.length);
  }

  function finiteOrNull(v) {
    return typeof v === "number" && isFinite(v) ? v : null;
  }

  function measure(result, truth) {
    var est = {
      est_intercept: finiteOrNull(result.beta[0]),
      est_intercept_se: finiteOrNull(result.se[0]),
      est_beta: finiteOrNull(result.beta[1]),
      est_beta_se: finiteOrNull(result.se[1]),
      est_sd_int: finiteOrNull(result.variance.intercept_sd),
      est_sd_slope: finiteOrNull(result.variance.slope_sd),
      est_cor: finiteOrNull(result.variance.corr),
      est_sigma: finiteOrNull(result.sigma)
    };
    var shrinkSum = 0;
    var shrinkN = 0;
    result.clusters.forEach(function (c) {
      if (c.shrinkage !== null) {
        shrinkSum += c.shrinkage;
        shrinkN++;
      }
    });
    var errors = null;
    if (truth) {
      var lookup = new Map();
      for (var i = 0; i < truth.cluster.length; i++) {
        lookup.set(String(truth.cluster[i]), [truth.true_intercept[i], truth.true_slope[i]]);
      }
      var oi = [], mi = [], os = [], ms = [], ol = [], ml = [];
      var closer = 0;
      result.clusters.forEach(function (c) {
        var tr = lookup.get(String(c.cluster));
        if (c.ols_slope === null || !tr || !isFinite(tr[0]) || !isFinite(tr[1])) return;
        oi.push(c.ols_intercept - tr[0]);
        mi.push(c.mixed_intercept - tr[0]);
        os.push(c.ols_slope - tr[1]);
        ms.push(c.mixed_slope - tr[1]);
        var dOls = lineDistance(c.ols_intercept - tr[0], c.ols_slope - tr[1], result.x_mean,
          result.x_var);
        var dMix = lineDistance(c.mixed_intercept - tr[0], c.mixed_slope - tr[1], result.x_mean,
          result.x_var);
        ol.push(dOls);
        ml.push(dMix);
        if (dMix < dOls) closer++;
      });
      errors = {
        clusters: oi.length,
        left_out: result.clusters.length - oi.length,
        ols_intercept: rmse(oi),
        mixed_intercept: rmse(mi),
        ols_slope: rmse(os),
        mixed_slope: rmse(ms),
        ols_line: rmse(ol),
        mixed_line: rmse(ml),
        closer: closer
      };
    }
    return {
      estimates: est,
      criterion: result.criterion,
      singular: result.singular,
      mean_shrinkage: shrinkN ? shrinkSum / shrinkN : NaN,
      errors: errors
    };
  }

  root.shrinkEngine = {
    simulate: simulate,
    fit: fit,
    measure: measure,
    scenarioParameters: scenarioParameters,
    expectedRows: expectedRows,
    randomEffectFactor: randomEffectFactor,
    qnorm: qnorm,
    RRandom: RRandom,
    ModelSpec: ModelSpec,
    DATA_KEYS: DATA_KEYS.slice(),
    DEFAULTS: Object.assign({}, DEFAULTS)
  };
})(typeof window !== "undefined" ? window : globalThis);
