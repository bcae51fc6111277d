/* The explorer page: controls -> shrinkEngine.simulate -> shrinkEngine.fit -> the numbers and
 * the picture (each cluster's by-cluster estimate sliding to its mixed-model estimate), redrawn
 * on every change. The picture follows shrinkcli/scene.py and plot.py: the same view, opacity,
 * sizes, ellipses and colours as the report's animation. A plain script, for file://.
 */
(function () {
  "use strict";

  var E = window.shrinkEngine;
  var DATA = JSON.parse(document.getElementById("explore-data").textContent);
  var SLIDER_KEYS = Object.keys(DATA.sliders);
  var SINGULAR_TOL = 1e-4;
  var MOTION_SECONDS = 2.4;
  var HOLD_SECONDS = 0.5;
  /** The views, as `animation.zoom` names them; the first is the report's default. */
  var ZOOMS = ["auto", "baseline", "data"];
  var PHASES = {start: "by-cluster estimates", moving: "pooling toward the average",
    end: "mixed-model estimates"};

  function $(id) {
    return document.getElementById(id);
  }

  // ---- numbers as the report writes them ----------------------------------------------------

  function missing(v) {
    return v === null || v === undefined || (typeof v === "number" && !isFinite(v));
  }

  /** A number with `digits` decimals, '–' when missing, a true minus sign. */
  function fmt(v, digits) {
    if (missing(v)) return "–";
    if (typeof v === "boolean") return v ? "yes" : "no";
    var text = v.toFixed(digits);
    if (/^-0\.?0*$/.test(text)) text = text.slice(1);
    return text.replace("-", "−");
  }

  /** A setting as written in a scenario: its shortest exact form. */
  function fmtSetting(key, v) {
    if (key === "balanced") return Math.round(v * 1000) / 10 + "% of rows";
    return String(v).replace("-", "−");
  }

  // ---- the controls ---------------------------------------------------------------------------

  var values = {};
  SLIDER_KEYS.forEach(function (k) { values[k] = DATA.sliders[k].slice(); });

  /** The slider's position of value v, adding v to its values when it is not among them. */
  function sliderIndex(key, v) {
    var list = values[key];
    var i = list.indexOf(v);
    if (i >= 0) return i;
    list.push(v);
    list.sort(function (a, b) { return a - b; });
    $("c-" + key).max = String(list.length - 1);
    return list.indexOf(v);
  }

  function showSlider(key) {
    var input = $("c-" + key);
    var v = values[key][Number(input.value)];
    var text = fmtSetting(key, v);
    $("o-" + key).textContent = text;
    input.setAttribute("aria-valuetext", text);
  }

  function setSlider(key, v) {
    $("c-" + key).value = String(sliderIndex(key, v));
    showSlider(key);
  }

  function presetNamed(name) {
    for (var i = 0; i < DATA.presets.length; i++) {
      if (DATA.presets[i].name === name) return DATA.presets[i];
    }
    return null;
  }

  function settingsOf(preset) {
    return {
      preset: preset.name,
      name: preset.name,
      params: Object.assign({}, preset.parameters),
      method: preset.method,
      random: preset.random,
      ellipses: true,
      truth: false,
      zoom: "auto"
    };
  }

  /** Put settings into the controls. */
  function applySettings(s) {
    E.DATA_KEYS.forEach(function (k) {
      if (values[k]) setSlider(k, s.params[k]);
      else $("c-" + k).value = String(s.params[k]);
    });
    document.querySelectorAll("input[name=method]").forEach(function (r) {
      r.checked = r.value === s.method;
    });
    $("c-random").value = s.random;
    $("c-ellipses").checked = s.ellipses;
    $("c-truth").checked = s.truth;
    $("c-zoom").value = s.zoom;
    if (s.preset && presetNamed(s.preset)) $("preset").value = s.preset;
    $("c-name").value = s.name;
    nameEdited = Boolean(s.customName);
    presetNote();
  }

  /** The settings the controls show. */
  function readControls() {
    var params = {};
    E.DATA_KEYS.forEach(function (k) {
      if (values[k]) params[k] = values[k][Number($("c-" + k).value)];
      else params[k] = $("c-" + k).value === "" ? NaN : Number($("c-" + k).value);
    });
    var method = document.querySelector("input[name=method]:checked");
    return {
      preset: $("preset").value,
      name: $("c-name").value,
      params: params,
      method: method ? method.value : "reml",
      random: $("c-random").value,
      ellipses: $("c-ellipses").checked,
      truth: $("c-truth").checked,
      zoom: $("c-zoom").value
    };
  }

  // The scenario's name follows the settings (the preset's name, "-explored" once they differ
  // from it) until the reader types one.
  var nameEdited = false;

  function suggestName(s) {
    if (nameEdited || !presetNamed(s.preset)) return;
    var name = changes(s).length ? s.preset + "-explored" : s.preset;
    if (name.length <= 100) {
      $("c-name").value = name;
      s.name = name;
    }
  }

  function presetNote() {
    var p = presetNamed($("preset").value);
    var note = $("preset-note");
    if (p && p.rng !== "r") {
      note.textContent = "This scenario draws with numpy's generator; the explorer draws with " +
        "R's, so its data differ from those on the scenario's page.";
      note.hidden = false;
    } else {
      note.hidden = true;
    }
  }

  // ---- the address: #scenario=…&obs_per_cluster=…&… ------------------------------------------

  function fragment(s) {
    var pairs = [["scenario", s.preset]];
    E.DATA_KEYS.forEach(function (k) { pairs.push([k, String(s.params[k])]); });
    pairs.push(["method", s.method], ["random", s.random]);
    if (!s.ellipses) pairs.push(["ellipses", "0"]);
    if (s.truth) pairs.push(["truth", "1"]);
    if (s.zoom !== "auto") pairs.push(["zoom", s.zoom]);
    return pairs.map(function (p) {
      return p[0] + "=" + encodeURIComponent(p[1]);
    }).join("&");
  }

  /** Settings from the address's fragment, over the named (or first) preset's. */
  function parseFragment(hash) {
    var fields = {};
    hash.replace(/^#/, "").split("&").forEach(function (part) {
      if (!part) return;
      var eq = part.indexOf("=");
      var key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      fields[key] = eq < 0 ? "" : decodeURIComponent(part.slice(eq + 1));
    });
    var preset = presetNamed(fields.scenario) || DATA.presets[0];
    var s = settingsOf(preset);
    if (fields.scenario && !presetNamed(fields.scenario) &&
        /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(fields.scenario)) {
      s.name = fields.scenario;
      s.customName = true;
    }
    E.DATA_KEYS.forEach(function (k) {
      if (fields[k] !== undefined && fields[k] !== "") s.params[k] = Number(fields[k]);
    });
    if (fields.method) s.method = fields.method;
    if (fields.random) s.random = fields.random;
    if (fields.ellipses !== undefined) s.ellipses = fields.ellipses !== "0";
    if (fields.truth !== undefined) s.truth = fields.truth === "1";
    if (ZOOMS.indexOf(fields.zoom) >= 0) s.zoom = fields.zoom;
    return s;
  }

  function writeFragment(s) {
    var url = "#" + fragment(s);
    if (location.hash === url) return;
    try {
      history.replaceState(null, "", url);
    } catch (e) {
      location.replace(url);
    }
  }

  // ---- the scenario file ------------------------------------------------------------------------

  /** A number as YAML reads it back exactly (a float needs a '.' and a signed exponent). */
  function yamlNumber(v) {
    var text = String(v);
    var m = /^(-?\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
    if (m) text = m[1] + "." + (m[2] || "0") + "e" + m[3];
    return text;
  }

  function yamlString(text) {
    return JSON.stringify(text).replace(/[\u2028\u2029\u0085]/g, function (c) {
      return "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
    });
  }

  function changes(s) {
    var p = presetNamed(s.preset);
    var out = [];
    if (!p) return out;
    E.DATA_KEYS.forEach(function (k) {
      if (p.parameters[k] !== s.params[k]) out.push(k + " " + p.parameters[k] + " → " + s.params[k]);
    });
    if (p.method !== s.method) out.push("method " + p.method + " → " + s.method);
    if (p.random !== s.random) out.push("random " + p.random + " → " + s.random);
    return out;
  }

  /** The settings as a scenario file that `shrink report` and `shrink fit` accept. */
  function scenarioYaml(s) {
    var p = presetNamed(s.preset);
    var changed = changes(s);
    var title = p ? p.title : s.name;
    var description = p ? p.description : "";
    if (!p || changed.length) {
      title = p ? p.title + ", explored" : s.name;
      description = p ? "Saved from the explorer, starting from “" + p.title + "”: " +
        changed.join(", ") + "." : "Saved from the explorer.";
    }
    var lines = [
      "# A scenario saved from shrink's explorer: `shrink report " + s.name + ".yaml` reproduces",
      "# its data (R's generator) and its fit.",
      "name: " + s.name,
      "title: " + yamlString(title)
    ];
    if (description) lines.push("description: " + yamlString(description));
    E.DATA_KEYS.forEach(function (k) { lines.push(k + ": " + yamlNumber(s.params[k])); });
    lines.push("model:", "  method: " + s.method, "  random: " + s.random);
    lines.push("animation:", "  ellipses: " + s.ellipses, "  truth: " + s.truth,
      "  zoom: " + s.zoom);
    return lines.join("\n") + "\n";
  }

  function download() {
    var s = readControls();
    var input = $("c-name");
    if (!input.checkValidity()) {
      input.reportValidity();
      return;
    }
    var blob = new Blob([scenarioYaml(s)], {type: "application/yaml"});
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = s.name + ".yaml";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () {
      URL.revokeObjectURL(a.href);
      a.remove();
    }, 0);
  }

  // ---- the scene: what the picture holds (scene.py) ---------------------------------------------

  function eigen2(c00, c01, c11) {
    var tr = c00 + c11;
    var det = c00 * c11 - c01 * c01;
    var disc = Math.sqrt(Math.max(tr * tr / 4 - det, 0));
    var l1 = tr / 2 + disc;
    var l2 = tr / 2 - disc;
    var v1;
    if (Math.abs(c01) > 1e-300) v1 = [l1 - c11, c01];
    else v1 = c00 >= c11 ? [1, 0] : [0, 1];
    var norm = Math.hypot(v1[0], v1[1]);
    v1 = [v1[0] / norm, v1[1] / norm];
    return {values: [l1, l2], vectors: [v1, [-v1[1], v1[0]]]};
  }

  /** Points on the contour of N(center, cov) holding `level` of its mass. */
  function ellipsePoints(center, cov, level) {
    var r = Math.sqrt(-2 * Math.log(1 - level));
    var e = eigen2(cov[0][0], cov[0][1], cov[1][1]);
    var s1 = Math.sqrt(Math.max(e.values[0], 0));
    var s2 = Math.sqrt(Math.max(e.values[1], 0));
    var pts = [];
    for (var k = 0; k <= 180; k++) {
      var a = (2 * Math.PI * k) / 180;
      var u = r * Math.cos(a) * s1;
      var v = r * Math.sin(a) * s2;
      pts.push([center[0] + u * e.vectors[0][0] + v * e.vectors[1][0],
        center[1] + u * e.vectors[0][1] + v * e.vectors[1][1]]);
    }
    return pts;
  }

  function quantile(sorted, q) {
    var pos = (sorted.length - 1) * q;
    var lo = Math.floor(pos);
    var hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
  }

  /** Opacity from each by-cluster estimate's Mahalanobis distance to the centre: the extreme
   *  estimates, which shrink most, stand out. */
  function opacity(ols, center, cov) {
    if (!ols.length) return [];
    var e = eigen2(cov[0][0], cov[0][1], cov[1][1]);
    var dist;
    if (cov[0][0] > 0 && cov[1][1] > 0 && e.values[1] > 0 && e.values[0] / e.values[1] < 1e8) {
      var det = cov[0][0] * cov[1][1] - cov[0][1] * cov[0][1];
      var i00 = cov[1][1] / det, i01 = -cov[0][1] / det, i11 = cov[0][0] / det;
      dist = ols.map(function (p) {
        var d0 = p[0] - center[0], d1 = p[1] - center[1];
        return Math.sqrt(Math.max(d0 * d0 * i00 + 2 * d0 * d1 * i01 + d1 * d1 * i11, 0));
      });
    } else {
      var spread = [0, 1].map(function (j) {
        var m = 0;
        ols.forEach(function (p) { m += p[j]; });
        m /= ols.length;
        var v = 0;
        ols.forEach(function (p) { v += (p[j] - m) * (p[j] - m); });
        var sd = Math.sqrt(v / ols.length);
        return sd > 0 ? sd : 1;
      });
      dist = ols.map(function (p) {
        return Math.hypot((p[0] - center[0]) / spread[0], (p[1] - center[1]) / spread[1]);
      });
    }
    var sorted = dist.slice().sort(function (a, b) { return a - b; });
    var top = sorted.length > 1 ? quantile(sorted, 0.9) : sorted[0];
    if (!(top > 0)) top = 1;
    return dist.map(function (d) { return 0.35 + 0.65 * Math.min(Math.max(d / top, 0), 1); });
  }

  function buildScene(fit, truth, s) {
    var lookup = new Map();
    if (truth) {
      for (var i = 0; i < truth.cluster.length; i++) {
        lookup.set(String(truth.cluster[i]), [truth.true_intercept[i], truth.true_slope[i]]);
      }
    }
    var ols = [], mixed = [], n = [], tr = [];
    fit.clusters.forEach(function (c) {
      if (c.ols_slope === null || !isFinite(c.mixed_intercept) || !isFinite(c.mixed_slope)) return;
      ols.push([c.ols_intercept, c.ols_slope]);
      mixed.push([c.mixed_intercept, c.mixed_slope]);
      n.push(c.n);
      tr.push(lookup.get(String(c.cluster)) || null);
    });
    var center = fit.beta.slice();
    var cov = fit.covariance;
    var sortedN = n.slice().sort(function (a, b) { return a - b; });
    var equal = !n.length || sortedN[0] === sortedN[sortedN.length - 1];
    var median = n.length ? quantile(sortedN, 0.5) : 1;
    var areas = n.map(function (k) { return equal ? DATA.point_area : DATA.point_area * k / median; });
    var truthPts = s.truth ? tr.filter(function (p) { return p !== null; }) : [];
    var ellipses = s.ellipses ? DATA.ellipse_levels.map(function (lv) {
      return ellipsePoints(center, cov, lv);
    }) : [];
    var view = s.zoom === "data" ? dataView(ols, mixed, truthPts, center, areas)
      : s.zoom === "baseline" ? baselineView(center)
      : autoView(ols, mixed, truthPts, center, areas, ellipses);
    var inside = function (p) {
      return p[0] >= view.x[0] && p[0] <= view.x[1] && p[1] >= view.y[0] && p[1] <= view.y[1];
    };
    var outside = 0;
    for (var k = 0; k < ols.length; k++) if (!(inside(ols[k]) && inside(mixed[k]))) outside++;
    return {
      ols: ols,
      mixed: mixed,
      n: n,
      areas: areas,
      alpha: opacity(ols, center, cov),
      truth: truthPts,
      center: center,
      ellipses: ellipses,
      view: view,
      leftOut: fit.clusters.length - ols.length,
      outside: outside,
      sizeLegend: equal ? [] : [sortedN[0], Math.round(median), sortedN[sortedN.length - 1]]
    };
  }

  /** The post's fixed view around the fixed effects, the same in every scenario. */
  function baselineView(center) {
    var h = DATA.baseline_half_width;
    return {x: [center[0] - h[0], center[0] + h[0]], y: [center[1] - h[1], center[1] + h[1]]};
  }

  /**
   * The report's default view (scene.py's _auto_view): the smallest that holds every mixed
   * estimate, the population average, the ellipses, the truth shown and all but at most
   * DATA.auto_outside of the by-cluster estimates, the furthest left out one by one.
   */
  function autoView(ols, mixed, truth, center, areas, ellipses) {
    var must = mixed.concat(truth, [center]);
    ellipses.forEach(function (e) { must = must.concat(e); });
    var lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
    must.forEach(function (p) {
      for (var j = 0; j < 2; j++) {
        if (isFinite(p[j])) { lo[j] = Math.min(lo[j], p[j]); hi[j] = Math.max(hi[j], p[j]); }
      }
    });
    var keep = trimOutliers(ols, lo, hi, Math.floor(DATA.auto_outside * ols.length));
    return dataView(ols.filter(function (_, i) { return keep[i]; }), must, [], center, areas);
  }

  /**
   * Which points stay in a box that must hold [lo, hi] after leaving out at most `allowed`:
   * greedily the one whose leaving shrinks the box's area most (scene.py's trim_outliers).
   */
  function trimOutliers(points, lo, hi, allowed) {
    var m = points.length, keep = points.map(function () { return true; });
    if (m === 0 || allowed <= 0) return keep;
    var orders = [0, 1].map(function (d) {
      return points.map(function (_, i) { return i; }).sort(function (a, b) {
        return points[a][d] - points[b][d] || a - b;
      });
    });
    var full = [0, 1].map(function (d) {
      var top = hi[d], bottom = lo[d];
      points.forEach(function (p) { top = Math.max(top, p[d]); bottom = Math.min(bottom, p[d]); });
      return Math.max(top - bottom, 1e-300);
    });
    function extremes(skip) {
      var out = [];
      [0, 1].forEach(function (d) {
        [0, 1].forEach(function (end) {
          var order = orders[d], i = 0, k = -1;
          for (; i < m; i++) {
            var j = end === 0 ? order[i] : order[m - 1 - i];
            if (keep[j] && j !== skip) { k = j; break; }
          }
          out.push([d, end, k]);
        });
      });
      return out;
    }
    function logArea(ext) {
      var total = 0;
      [0, 1].forEach(function (d) {
        var a = ext[2 * d][2], b = ext[2 * d + 1][2];
        var low = a >= 0 ? Math.min(points[a][d], lo[d]) : lo[d];
        var high = b >= 0 ? Math.max(points[b][d], hi[d]) : hi[d];
        total += Math.log(Math.max((high - low) / full[d], 1e-12));
      });
      return total;
    }
    for (var step = 0; step < allowed; step++) {
      var ext = extremes(-1), now = logArea(ext), best = -1, gain = 0;
      var candidates = ext.map(function (e) { return e[2]; }).filter(function (i, k, all) {
        return i >= 0 && all.indexOf(i) === k;
      }).sort(function (a, b) { return a - b; });
      candidates.forEach(function (i) {
        var g = now - logArea(extremes(i));
        if (g > gain + 1e-12) { best = i; gain = g; }
      });
      if (best < 0) break;
      keep[best] = false;
    }
    return keep;
  }

  /** A view that fits every point, with a margin for the markers. */
  function dataView(ols, mixed, truth, center, areas) {
    var pts = ols.concat(mixed, truth, [center]);
    var lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
    pts.forEach(function (p) {
      for (var j = 0; j < 2; j++) {
        if (isFinite(p[j])) {
          lo[j] = Math.min(lo[j], p[j]);
          hi[j] = Math.max(hi[j], p[j]);
        }
      }
    });
    var biggest = areas.length ? Math.max.apply(null, areas) : DATA.point_area;
    var out = {};
    ["x", "y"].forEach(function (axis, j) {
      var span = hi[j] - lo[j];
      if (!(span > 0)) span = DATA.baseline_half_width[j];
      var pad = span * (0.06 + 0.004 * Math.sqrt(biggest));
      out[axis] = [lo[j] - pad, hi[j] + pad];
    });
    return out;
  }

  // ---- drawing ----------------------------------------------------------------------------------

  function niceTicks(lo, hi) {
    var raw = (hi - lo) / 6;
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 2.5, 5, 10];
    var step = mag * 10;
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * mag >= raw) {
        step = steps[i] * mag;
        break;
      }
    }
    var ticks = [];
    for (var v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step) {
      ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    var decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + (step / mag === 2.5 ? 1 : 0));
    return ticks.map(function (t) { return {value: t, label: fmt(t, Math.min(decimals, 6))}; });
  }

  function ease(u) {
    var s = Math.min(Math.max(u, 0), 1);
    return s < 0.5 ? 4 * s * s * s : 1 - Math.pow(-2 * s + 2, 3) / 2;
  }

  var canvas = $("picture");
  var ctx = canvas.getContext("2d");

  /** Draw the current scene at motion u in [0, 1] (t = eased progress). */
  function draw(u) {
    var box = canvas.parentNode;
    var w = box.clientWidth;
    var h = box.clientHeight;
    var dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, w, h);
    if (!current || !current.scene) {
      if (current && current.error) drawMessage(current.error, w, h);
      return;
    }
    var sc = current.scene;
    var t = ease(u);
    var C = DATA.colors;
    var k = Math.min(Math.max(Math.min(w / 600, h / 450), 0.8), 1.6); // marker scale
    var ppt = (100 / 72) * k; // pixels per point
    var left = 54, right = w - 12, top = 10, bottom = h - 40;
    var xs = sc.view.x, ys = sc.view.y;
    function X(v) { return left + ((v - xs[0]) / (xs[1] - xs[0])) * (right - left); }
    function Y(v) { return bottom - ((v - ys[0]) / (ys[1] - ys[0])) * (bottom - top); }

    // axes, grid and labels
    ctx.font = "12px system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif";
    ctx.lineWidth = 1;
    ctx.textBaseline = "middle";
    ctx.fillStyle = C.muted;
    niceTicks(xs[0], xs[1]).forEach(function (tk) {
      var px = Math.round(X(tk.value)) + 0.5;
      ctx.strokeStyle = "#EBEBEB";
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, bottom);
      ctx.stroke();
      ctx.textAlign = "center";
      ctx.fillText(tk.label, px, bottom + 11);
    });
    niceTicks(ys[0], ys[1]).forEach(function (tk) {
      var py = Math.round(Y(tk.value)) + 0.5;
      ctx.strokeStyle = "#EBEBEB";
      ctx.beginPath();
      ctx.moveTo(left, py);
      ctx.lineTo(right, py);
      ctx.stroke();
      ctx.textAlign = "right";
      ctx.fillText(tk.label, left - 5, py);
    });
    ctx.strokeStyle = "#9E9E9E";
    ctx.beginPath();
    ctx.moveTo(left + 0.5, top);
    ctx.lineTo(left + 0.5, bottom + 0.5);
    ctx.lineTo(right, bottom + 0.5);
    ctx.stroke();
    ctx.fillStyle = C.text;
    ctx.textAlign = "center";
    ctx.fillText("Intercept", (left + right) / 2, h - 10);
    ctx.save();
    ctx.translate(13, (top + bottom) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText("Slope for x", 0, 0);
    ctx.restore();

    ctx.save();
    ctx.beginPath();
    ctx.rect(left + 1, top, right - left - 1, bottom - top);
    ctx.clip();

    // the fitted distribution: 50% solid, 90% dashed
    sc.ellipses.forEach(function (pts, i) {
      ctx.strokeStyle = C.ellipse;
      ctx.globalAlpha = 0.7;
      ctx.lineWidth = 0.9 * ppt;
      ctx.setLineDash(i === 0 ? [] : [4 * ppt, 2.5 * ppt]);
      ctx.beginPath();
      pts.forEach(function (p, j) {
        if (j === 0) ctx.moveTo(X(p[0]), Y(p[1]));
        else ctx.lineTo(X(p[0]), Y(p[1]));
      });
      ctx.stroke();
    });
    ctx.setLineDash([]);

    // the truth: faint crosses
    if (sc.truth.length) {
      ctx.strokeStyle = C.truth;
      ctx.globalAlpha = 0.6;
      ctx.lineWidth = 0.8 * ppt;
      var arm = 2 * ppt;
      ctx.beginPath();
      sc.truth.forEach(function (p) {
        var px = X(p[0]), py = Y(p[1]);
        ctx.moveTo(px - arm, py - arm);
        ctx.lineTo(px + arm, py + arm);
        ctx.moveTo(px - arm, py + arm);
        ctx.lineTo(px + arm, py - arm);
      });
      ctx.stroke();
    }

    var m = sc.ols.length;
    var pos = new Array(m);
    for (var i = 0; i < m; i++) {
      pos[i] = [sc.ols[i][0] + t * (sc.mixed[i][0] - sc.ols[i][0]),
        sc.ols[i][1] + t * (sc.mixed[i][1] - sc.ols[i][1])];
    }
    var radius = sc.areas.map(function (a) { return (Math.sqrt(a) / 2) * ppt; });

    // Opacities come in steps of 1/20, so that the points are drawn in a few batches.
    var levels = {};
    for (i = 0; i < m; i++) {
      var q = Math.round(sc.alpha[i] * 20);
      (levels[q] = levels[q] || []).push(i);
    }
    var batches = Object.keys(levels).map(Number).sort(function (a, b) { return a - b; });
    function circles(list, scale, at) {
      ctx.beginPath();
      list.forEach(function (j) {
        var px = X(at[j][0]), py = Y(at[j][1]), r = radius[j] * scale;
        ctx.moveTo(px + r, py);
        ctx.arc(px, py, r, 0, 2 * Math.PI);
      });
    }

    if (t > 0) {
      // rings where the points started
      ctx.lineWidth = 0.8 * ppt;
      ctx.strokeStyle = C.by_cluster;
      batches.forEach(function (q) {
        ctx.globalAlpha = 0.25 + 0.6 * (q / 20);
        circles(levels[q], Math.sqrt(0.8), sc.ols);
        ctx.stroke();
      });
      // the trails, and an arrowhead behind each moving point
      ctx.globalAlpha = 0.5;
      ctx.strokeStyle = C.path;
      ctx.lineWidth = 0.8 * ppt;
      ctx.beginPath();
      for (i = 0; i < m; i++) {
        ctx.moveTo(X(sc.ols[i][0]), Y(sc.ols[i][1]));
        ctx.lineTo(X(pos[i][0]), Y(pos[i][1]));
      }
      ctx.stroke();
      ctx.globalAlpha = 0.9;
      ctx.fillStyle = C.path;
      var headLen = 5 * k, headW = 2.4 * k;
      ctx.beginPath();
      for (i = 0; i < m; i++) {
        var x0 = X(sc.ols[i][0]), y0 = Y(sc.ols[i][1]);
        var x1 = X(pos[i][0]), y1 = Y(pos[i][1]);
        var len = Math.hypot(x1 - x0, y1 - y0);
        if (!(len > radius[i] + headLen + 2)) continue;
        var ux = (x1 - x0) / len, uy = (y1 - y0) / len;
        var tx = x1 - ux * (radius[i] + 0.8), ty = y1 - uy * (radius[i] + 0.8);
        var bx = tx - ux * headLen, by = ty - uy * headLen;
        ctx.moveTo(tx, ty);
        ctx.lineTo(bx - uy * headW, by + ux * headW);
        ctx.lineTo(bx + uy * headW, by - ux * headW);
        ctx.closePath();
      }
      ctx.fill();
    }

    // the points, coloured along the way from by-cluster to mixed, with a white edge
    ctx.fillStyle = DATA.palette[Math.round(t * (DATA.palette.length - 1))];
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 0.5 * ppt;
    batches.forEach(function (q) {
      ctx.globalAlpha = q / 20;
      circles(levels[q], 1, pos);
      ctx.fill();
      ctx.stroke();
    });

    // the population average, the "black hole"
    ctx.globalAlpha = 0.62;
    ctx.fillStyle = C.hole;
    ctx.beginPath();
    ctx.arc(X(sc.center[0]), Y(sc.center[1]), (Math.sqrt(190) / 2) * ppt, 0, 2 * Math.PI);
    ctx.fill();
    ctx.restore();
    ctx.globalAlpha = 1;
  }

  /** A message in the middle of the empty picture, wrapped to its width. */
  function drawMessage(text, w, h) {
    ctx.font = "14px system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif";
    ctx.fillStyle = DATA.colors.muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    var lines = [];
    var line = "";
    text.split(" ").forEach(function (word) {
      var next = line ? line + " " + word : word;
      if (ctx.measureText(next).width > w - 40 && line) {
        lines.push(line);
        line = word;
      } else {
        line = next;
      }
    });
    if (line) lines.push(line);
    lines.forEach(function (l, i) {
      ctx.fillText(l, w / 2, h / 2 + (i - (lines.length - 1) / 2) * 20);
    });
  }

  // ---- the motion -------------------------------------------------------------------------------

  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var motion = {u: 1, playing: false, hold: 0, last: 0, frame: 0};

  function phaseOf(u) {
    return u <= 0 ? PHASES.start : u >= 1 ? PHASES.end : PHASES.moving;
  }

  function showMotion() {
    var scrub = $("scrub");
    scrub.value = String(Math.round(motion.u * 1000));
    var phase = phaseOf(motion.u);
    scrub.setAttribute("aria-valuetext", phase + ", " + Math.round(ease(motion.u) * 100) + "% of the way");
    $("phase").textContent = phase;
    var play = $("play");
    play.textContent = motion.playing ? "Pause" : "Play";
    play.setAttribute("aria-pressed", motion.playing ? "true" : "false");
  }

  function tick(now) {
    motion.frame = 0;
    if (!motion.playing) return;
    var dt = motion.last ? (now - motion.last) / 1000 : 0;
    motion.last = now;
    if (motion.hold > 0) {
      motion.hold -= dt;
    } else {
      motion.u = Math.min(1, motion.u + dt / MOTION_SECONDS);
    }
    if (motion.u >= 1) motion.playing = false;
    draw(motion.u);
    showMotion();
    if (motion.playing) motion.frame = requestAnimationFrame(tick);
  }

  function play(fromStart) {
    if (fromStart || motion.u >= 1) {
      motion.u = 0;
      motion.hold = HOLD_SECONDS;
    }
    motion.playing = true;
    motion.last = 0;
    if (!motion.frame) motion.frame = requestAnimationFrame(tick);
    draw(motion.u);
    showMotion();
  }

  function pause() {
    motion.playing = false;
    if (motion.frame) cancelAnimationFrame(motion.frame);
    motion.frame = 0;
    showMotion();
  }

  // ---- the numbers ------------------------------------------------------------------------------

  function setCell(key, value, text, cls) {
    var cell = document.querySelector('#explorer td[data-key="' + key + '"]');
    cell.textContent = text;
    if (missing(value) || typeof value === "boolean") cell.removeAttribute("data-value");
    else cell.setAttribute("data-value", String(value));
    cell.className = cls || "";
  }

  function compare(before, after) {
    if (missing(before) || missing(after)) return "";
    if (after < (1 - DATA.same) * before) return "better";
    if (after > (1 + DATA.same) * before) return "worse";
    return "same";
  }

  /** Is the correlation of the random effects determined? Not when either standard deviation
   *  was estimated at 0 (then any value fits the data equally well). */
  function correlationDetermined(fit) {
    if (fit.random !== "intercept-slope") return false;
    var a = fit.theta[0], b = fit.theta[1], c = fit.theta[2];
    return a >= SINGULAR_TOL && Math.hypot(b, c) >= SINGULAR_TOL;
  }

  function clearNumbers() {
    document.querySelectorAll("#explorer td[data-key]").forEach(function (cell) {
      cell.textContent = "";
      cell.removeAttribute("data-value");
      cell.className = "";
    });
    $("fit-note").textContent = "";
  }

  function renderNumbers() {
    var status = $("status");
    if (current.error) {
      clearNumbers();
      status.textContent = current.error;
      status.className = "status warning";
      return;
    }
    var p = current.settings.params;
    var fit = current.fit;
    var m = current.metrics;
    var e = m.estimates;
    ["intercept", "beta", "sd_int", "sd_slope", "cor", "sigma"].forEach(function (k) {
      setCell(k, p[k], String(p[k]).replace("-", "−"));
    });
    Object.keys(e).forEach(function (k) {
      var v = e[k];
      if (k === "est_cor" && !correlationDetermined(fit)) v = null;
      setCell(k, v, fmt(v, 3));
    });
    var err = m.errors;
    [["intercept", "ols_intercept", "mixed_intercept"], ["slope", "ols_slope", "mixed_slope"],
      ["line", "ols_line", "mixed_line"]].forEach(function (row) {
      setCell(row[1], err[row[1]], fmt(err[row[1]], 3), "ols");
      setCell(row[2], err[row[2]], fmt(err[row[2]], 3), compare(err[row[1]], err[row[2]]));
    });
    setCell("ols_closer", err.clusters - err.closer, String(err.clusters - err.closer));
    setCell("closer", err.closer, String(err.closer));
    setCell("mean_shrinkage", m.mean_shrinkage, fmt(m.mean_shrinkage, 2));
    $("criterion-label").textContent = fit.method === "reml" ? "REML criterion" : "deviance (ML)";
    setCell("criterion", fit.criterion, fmt(fit.criterion, 1));
    setCell("singular", fit.singular, fit.singular ? "yes" : "no");
    setCell("n_obs", fit.n_obs, String(fit.n_obs));
    setCell("n_groups", fit.n_groups, String(fit.n_groups));

    var notes = [(fit.method === "reml" ? "REML" : "ML") + " fit of " + fit.formula + " to " +
      fit.n_obs + " observations in " + fit.n_groups + " clusters" +
      (fit.singular ? " (singular)" : "") + "."];
    if (err.clusters) {
      notes.push("RMSE over the " + err.clusters + " clusters with a by-cluster slope" +
        (err.left_out ? " (" + err.left_out + " without one left out)" : "") + ".");
    }
    if (fit.random === "intercept-slope" && !correlationDetermined(fit)) {
      notes.push("The correlation is not determined: a standard deviation was estimated at 0.");
    }
    if (fit.singular) {
      notes.push("The fit is singular: a variance component was estimated at its boundary, so " +
        "some random effects are fully pooled.");
    }
    notes.push("Simulated in " + current.timings.simulate.toFixed(1) + " ms, fitted in " +
      current.timings.fit.toFixed(1) + " ms.");
    $("fit-note").textContent = notes.join(" ");

    var summary = "Mean shrinkage " + fmt(m.mean_shrinkage, 2) + ".";
    if (err.clusters) {
      summary += " RMSE of the cluster slopes: " + fmt(err.ols_slope, 3) + " by cluster, " +
        fmt(err.mixed_slope, 3) + " mixed; of the intercepts: " + fmt(err.ols_intercept, 3) +
        " by cluster, " + fmt(err.mixed_intercept, 3) + " mixed.";
    }
    status.textContent = summary;
    status.className = "status";
  }

  function describePicture() {
    var sc = current && current.scene;
    var caption = [];
    if (sc) {
      if (sc.outside) caption.push(sc.outside + " cluster" + (sc.outside === 1 ? "" : "s") + " outside the view");
      if (sc.leftOut) {
        caption.push(sc.leftOut + " cluster" + (sc.leftOut === 1 ? "" : "s") +
          " without a by-cluster slope not shown");
      }
      if (sc.sizeLegend.length) {
        caption.push("point area ∝ cluster size (n from " + sc.sizeLegend[0] + " to " +
          sc.sizeLegend[2] + ")");
      }
      canvas.setAttribute("aria-label", "The shrinkage picture: the intercept and slope of " +
        sc.ols.length + " clusters, each sliding from its own least-squares estimate to its " +
        "mixed-model estimate, toward the population average (" + fmt(sc.center[0], 2) + ", " +
        fmt(sc.center[1], 2) + ").");
    } else {
      canvas.setAttribute("aria-label", "The shrinkage picture: nothing to show.");
    }
    $("caption").textContent = caption.join(" · ");
    document.querySelectorAll("#explorer .when-truth").forEach(function (el) {
      el.hidden = !(current && current.settings.truth);
    });
    document.querySelectorAll("#explorer .when-ellipses").forEach(function (el) {
      el.hidden = !(current && current.settings.ellipses);
    });
  }

  // ---- one update -------------------------------------------------------------------------------

  var current = null;

  function worded(err) {
    if (err && err.name === "ShrinkError") {
      if (err.hint && err.hint[0] === "model.random") {
        return err.core + "; or choose “intercept only” under Random effects.";
      }
      return err.message;
    }
    return "Something went wrong: " + (err && err.message ? err.message : String(err));
  }

  /** Simulate, fit and measure the settings; then the numbers, the address and the picture. */
  function update(settings) {
    var s = settings || readControls();
    suggestName(s);
    var t0 = performance.now();
    var next = {settings: s, sim: null, fit: null, metrics: null, scene: null, error: null,
      timings: {simulate: 0, fit: 0, draw: 0, total: 0}};
    try {
      next.sim = E.simulate(s.params);
      var t1 = performance.now();
      next.timings.simulate = t1 - t0;
      next.fit = E.fit(next.sim, {method: s.method, random: s.random});
      next.metrics = E.measure(next.fit, next.sim.truth);
      next.timings.fit = performance.now() - t1;
      next.scene = buildScene(next.fit, next.sim.truth, s);
    } catch (err) {
      next.error = worded(err);
    }
    current = next;
    renderNumbers();
    describePicture();
    writeFragment(s);
    var t2 = performance.now();
    if (reduceMotion || next.error) {
      motion.u = 1;
      pause();
      draw(1);
    } else {
      play(true);
    }
    current.timings.draw = performance.now() - t2;
    current.timings.total = performance.now() - t0;
    return current.timings;
  }

  // Slider drags fire many input events; one update per animation frame is enough.
  var pending = 0;
  function schedule() {
    if (!pending) {
      pending = requestAnimationFrame(function () {
        pending = 0;
        update();
      });
    }
  }

  // ---- wiring -----------------------------------------------------------------------------------

  SLIDER_KEYS.forEach(function (k) {
    $("c-" + k).addEventListener("input", function () {
      showSlider(k);
      schedule();
    });
  });
  ["intercept", "beta", "seed"].forEach(function (k) {
    $("c-" + k).addEventListener("change", function () { update(); });
  });
  document.querySelectorAll("input[name=method]").forEach(function (r) {
    r.addEventListener("change", function () { update(); });
  });
  $("c-random").addEventListener("change", function () { update(); });
  ["c-ellipses", "c-truth", "c-zoom"].forEach(function (id) {
    $(id).addEventListener("change", function () {
      // the picture only: same data and fit
      var s = readControls();
      if (current && !current.error) {
        current.settings = s;
        current.scene = buildScene(current.fit, current.sim.truth, s);
        describePicture();
        writeFragment(s);
        draw(motion.u);
      } else {
        update(s);
      }
    });
  });
  $("next-seed").addEventListener("click", function () {
    var input = $("c-seed");
    var v = Number(input.value);
    input.value = String(Number.isInteger(v) && v < 2147483647 ? v + 1 : 1);
    update();
  });
  $("preset").addEventListener("change", function () {
    applySettings(settingsOf(presetNamed($("preset").value)));
    update();
  });
  $("controls").addEventListener("submit", function (ev) {
    ev.preventDefault();
    update();
  });
  $("download").addEventListener("click", download);
  $("c-name").addEventListener("input", function () { nameEdited = true; });
  $("play").addEventListener("click", function () {
    if (motion.playing) pause();
    else play(false);
  });
  $("scrub").addEventListener("input", function () {
    motion.u = Number($("scrub").value) / 1000;
    pause();
    draw(motion.u);
    showMotion();
  });
  window.addEventListener("hashchange", function () {
    applySettings(parseFragment(location.hash));
    update();
  });
  if (window.ResizeObserver) {
    new ResizeObserver(function () { draw(motion.u); }).observe(canvas.parentNode);
  } else {
    window.addEventListener("resize", function () { draw(motion.u); });
  }

  applySettings(parseFragment(location.hash));
  update();

  /** For the console, tests and benchmarks: the settings, the last result, one update. */
  window.shrinkExplorer = {
    get current() { return current; },
    settings: readControls,
    apply: function (settings) {
      var s = readControls();
      Object.keys(settings).forEach(function (key) {
        if (E.DATA_KEYS.indexOf(key) >= 0) s.params[key] = settings[key];
        else s[key] = settings[key];
      });
      applySettings(s);
      return update();
    },
    update: update,
    draw: draw,
    scenarioYaml: function () { return scenarioYaml(readControls()); },
    fragment: function () { return fragment(readControls()); }
  };
})();
