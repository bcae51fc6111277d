"""Scenario files: the YAML schema (the post's `create_data()` arguments plus model and animation
sections, or a `data:` section naming a table of one's own), its validation, and one-line error
messages that name the file, the field and what is allowed."""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from .errors import ScenarioError, UsageError
from .model import METHODS, RANDOM_STRUCTURES, Method, ModelSpec, RandomStructure, choices
from .rrng import SEED_MAX

#: Largest data set a scenario may ask for: R's `rep()` and `sample.int()` index with 32-bit ints.
MAX_ROWS = 2**31 - 1
#: Bytes of memory one simulated row needs at its peak (columns, random streams, the sample).
BYTES_PER_ROW = 96

#: The models' config: strict about keys, immutable, and built by `_built` (below), not at once.
_CONFIG = ConfigDict(extra="forbid", frozen=True, defer_build=True)

_Model = TypeVar("_Model", bound=BaseModel)


@contextmanager
def _no_pydantic_plugins() -> Iterator[None]:
    """pydantic's documented switch (PYDANTIC_DISABLE_PLUGINS) on, for as long as it lasts."""
    before = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYDANTIC_DISABLE_PLUGINS"]
        else:
            os.environ["PYDANTIC_DISABLE_PLUGINS"] = before


def _built(model: type[_Model]) -> type[_Model]:
    """Builds a model's validator now, with pydantic's plugins off, as typer builds those of
    the command-line options: looking for plugins reads every installed distribution's entry
    points (about 5 ms of each command), and no plugin has a part in reading a scenario."""
    with _no_pydantic_plugins():
        model.model_rebuild(force=True)
    return model


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number (got {value})")
    return value


#: The largest magnitude of a simulation's number (intercept, beta, sigma, the SDs): the
#: simulation squares the SDs and the fit squares y, and beyond about 1.3e154 a square is no
#: longer a finite double.
MAX_MAGNITUDE = 1e150
_TOO_LARGE = "must be at most 1e150 in magnitude: larger values overflow the squares"


def _not_too_large(value: float) -> float:
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError(
            f"{_TOO_LARGE} the simulation and the fit form (a double ends near 1.8e308)"
        )
    return value


@_built
class ModelOptions(BaseModel):
    """The `model:` section: how `fit` fits the mixed model."""

    model_config = _CONFIG

    method: Method = "reml"
    random: RandomStructure = "intercept-slope"

    @property
    def spec(self) -> ModelSpec:
        """The model these options describe."""
        return ModelSpec(random=self.random, method=self.method)


@_built
class AnimationOptions(BaseModel):
    """The `animation:` section: how `animate` draws the shrinkage (the command line wins)."""

    model_config = _CONFIG

    frames: StrictInt = Field(120, ge=2, le=2000)
    fps: float = Field(10.0, gt=0, le=100)
    width: StrictInt = Field(600, ge=100, le=4000)
    height: StrictInt = Field(450, ge=100, le=4000)
    zoom: Literal["auto", "baseline", "data"] = "auto"
    ellipses: StrictBool = True
    truth: StrictBool = False
    path: Literal["straight", "pooling", "pooling-complete"] = "straight"

    @model_validator(mode="before")
    @classmethod
    def _split_size(cls, values: Any) -> Any:
        if isinstance(values, dict) and "size" in values:
            values = dict(values)
            w, h = parse_size(values.pop("size"))
            values.setdefault("width", w)
            values.setdefault("height", h)
        return values


def parse_size(text: object) -> tuple[int, int]:
    """'600x450' -> (600, 450); raises ValueError with what is allowed."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", str(text))
    if not m:
        raise ValueError(f"must be WIDTHxHEIGHT in pixels, e.g. 600x450 (got {text!r})")
    w, h = int(m.group(1)), int(m.group(2))
    if not (100 <= w <= 4000 and 100 <= h <= 4000):
        raise ValueError(f"width and height must be between 100 and 4000 pixels (got {text!r})")
    return w, h


@_built
class DataSource(BaseModel):
    """The `data:` section: a table of one's own (CSV, TSV or Parquet) and its columns. `path`
    is relative to the scenario file; `load_scenario` resolves it."""

    model_config = _CONFIG

    path: str = Field(min_length=1)
    y: str = Field("y", min_length=1)
    x: str = Field("x", min_length=1)
    cluster: str = Field("cluster", min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _path_alone(cls, values: Any) -> Any:
        """`data: table.csv` is short for `data: {path: table.csv}`."""
        return {"path": values} if isinstance(values, str) else values

    @field_validator("path", "y", "x", "cluster", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        if not isinstance(v, str):
            raise ValueError(f"must be text (got {describe(v)})")
        return v


@_built
class Scenario(BaseModel):
    """One scenario: the post's `create_data()` arguments (same names and defaults) plus a name,
    a title and a description, the random generator, and the model and animation sections.

    A *data scenario* names a table instead (`data:`): it is fitted to that table, and its `seed`
    and `rng` are those of the parametric bootstrap of `shrink study`; simulation keys beside
    `data:` are refused."""

    model_config = _CONFIG

    name: str = Field("scenario", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=100)
    title: str = ""
    description: str = ""
    obs_per_cluster: StrictInt = Field(10, ge=1)
    n_cluster: StrictInt = Field(100, ge=2)
    intercept: float = 1.0
    beta: float = 0.5
    sigma: float = Field(1.0, gt=0)
    sd_int: float = Field(0.5, ge=0)
    sd_slope: float = Field(0.25, ge=0)
    cor: float = Field(0.0, ge=-1, le=1)
    balanced: float = Field(1.0, gt=0, le=1)
    seed: StrictInt = Field(888, ge=-SEED_MAX, le=SEED_MAX)
    rng: Literal["r", "numpy"] = "r"
    model: ModelOptions = ModelOptions()
    animation: AnimationOptions = AnimationOptions()
    data: DataSource | None = None
    #: A design sweep: lists of values of simulation keys, studied over their product
    #: (`sweep.py`); validated as the keys themselves are.
    sweep: dict[str, Any] | None = None
    #: Where the scenario was read from (a file path), for messages and the report; "" when it
    #: was built in code. Not a key of the file.
    _source: str = PrivateAttr("")

    @property
    def source(self) -> str:
        """The file the scenario was read from, or "" when it was built in code."""
        return self._source

    @field_validator("intercept", "beta", "sigma", "sd_int", "sd_slope", "cor", mode="before")
    @classmethod
    def _real(cls, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"must be a number (got {describe(v)})")
        return _not_too_large(_finite(float(v)))

    @field_validator("balanced", mode="before")
    @classmethod
    def _balanced(cls, v: Any) -> Any:
        if v is True:
            return 1.0
        if v is False or not isinstance(v, int | float):
            raise ValueError(f"must be a fraction in (0, 1] or true (got {describe(v)})")
        return _finite(float(v))

    @property
    def is_data(self) -> bool:
        """Whether the scenario is fitted to a table of one's own (`data:`), not simulated."""
        return self.data is not None

    @model_validator(mode="after")
    def _size(self) -> Scenario:
        """Checks that hold on any machine (memory is checked apart: `check_memory`)."""
        if self.data is not None:
            given = [k for k in SIMULATION_KEYS if k in self.model_fields_set]
            if given:
                raise ValueError(
                    f"{given[0]}: a data scenario takes no simulation keys; its clusters come "
                    f"from data: {self.data.path} (remove {', '.join(given)}, or the data: "
                    "section to simulate)"
                )
            return self
        total = self.n_cluster * self.obs_per_cluster
        if total > MAX_ROWS:
            raise ValueError(
                f"n_cluster × obs_per_cluster = {total:,} rows; at most {MAX_ROWS:,} are allowed"
            )
        if expected_rows(self) < 1:
            raise ValueError("balanced keeps no rows: n_cluster × obs_per_cluster × balanced < 0.5")
        return self

    @model_validator(mode="after")
    def _sweep(self) -> Scenario:
        """Every key of `sweep:` one that can vary, every value one that key allows."""
        if self.sweep is None:
            return self
        if not self.sweep:
            raise ValueError(f"sweep: must be {ALLOWED['sweep']} (got an empty mapping)")
        allowed = SWEEP_KEYS if self.data is None else SWEEP_KEYS_DATA
        base = self.model_dump(exclude_unset=True, exclude={"sweep"})
        for key, values in self.sweep.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ValueError(
                    f"sweep: cannot vary '{key}'{hint} (keys that can vary: {', '.join(allowed)})"
                )
            if not isinstance(values, list) or not values:
                raise ValueError(
                    f"sweep.{key}: must be a non-empty list of values (got {describe(values)})"
                )
            if len(set(map(repr, values))) != len(values):
                raise ValueError(f"sweep.{key}: lists a value twice (got {describe(values)})")
            for v in values:
                try:
                    Scenario.model_validate(with_key(base, key, v))
                except ValidationError as exc:
                    msg = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
                    rule = msg if _TOO_LARGE in msg else f"be {ALLOWED[key]}"
                    rule = rule.removeprefix("must ")
                    raise ValueError(
                        f"sweep.{key}: every value must {rule} (got {describe(v)})"
                    ) from None
        return self

    def parameters(self) -> dict[str, Any]:
        """The data-generating arguments, in the post's order."""
        return {k: getattr(self, k) for k in DATA_KEYS}


DATA_KEYS = (
    "obs_per_cluster",
    "n_cluster",
    "intercept",
    "beta",
    "sigma",
    "sd_int",
    "sd_slope",
    "cor",
    "balanced",
    "seed",
)
#: The keys that describe a simulation, refused beside `data:` (`seed` and `rng` stay: they seed
#: a data scenario's bootstrap).
SIMULATION_KEYS = tuple(k for k in DATA_KEYS if k != "seed")

#: The keys a sweep can vary (`sweep:`, `--vary`): a simulation's, and the model's; of a data
#: scenario, the model's only.
SWEEP_KEYS_DATA = ("model.method", "model.random")
SWEEP_KEYS = (*SIMULATION_KEYS, *SWEEP_KEYS_DATA)


def with_key(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """`data` (a scenario's mapping) with `key` (dotted for model.*) set to `value`: how a
    sweep's design, or a checked `sweep:` value, is made from its scenario."""
    out = dict(data)
    if "." in key:
        section, sub = key.split(".", 1)
        out[section] = {**dict(out.get(section) or {}), sub: value}
    else:
        out[key] = value
    return out


#: What each key allows, for error messages.
ALLOWED: dict[str, str] = {
    "name": "letters, digits, '.', '_' and '-', starting with a letter or digit",
    "title": "text",
    "description": "text",
    "obs_per_cluster": "an integer ≥ 1",
    "n_cluster": "an integer ≥ 2",
    "intercept": "a finite number",
    "beta": "a finite number",
    "sigma": "a finite number > 0",
    "sd_int": "a finite number ≥ 0",
    "sd_slope": "a finite number ≥ 0",
    "cor": "a finite number between -1 and 1",
    "balanced": "a fraction 0 < balanced ≤ 1, or true (= 1)",
    "seed": f"an integer between {-SEED_MAX} and {SEED_MAX}",
    "rng": "'r' (R's generator, the default) or 'numpy'",
    "model": "a mapping with keys method, random",
    "model.method": choices(METHODS),
    "model.random": choices(RANDOM_STRUCTURES),
    "animation": "a mapping with keys frames, fps, size, zoom, ellipses, truth, path",
    "animation.frames": "an integer between 2 and 2000",
    "animation.fps": "a number > 0 and ≤ 100",
    "animation.size": "WIDTHxHEIGHT in pixels, each between 100 and 4000, e.g. 600x450",
    "animation.width": "an integer between 100 and 4000",
    "animation.height": "an integer between 100 and 4000",
    "animation.zoom": "'auto' (most points, every mixed estimate), 'baseline' (the post's fixed "
    "view) or 'data' (every point)",
    "animation.ellipses": "true or false",
    "animation.truth": "true or false",
    "data": "a table's path, or a mapping with keys path, y, x, cluster",
    "data.path": "the path of a CSV, TSV or Parquet file, relative to the scenario file",
    "data.y": "a column name",
    "data.x": "a column name",
    "data.cluster": "a column name",
    "animation.path": "'straight', 'pooling' or 'pooling-complete'",
    "sweep": "a mapping of keys to lists of values, e.g. {n_cluster: [20, 50], cor: [0, 0.5]}",
}

_KEYS: dict[str, tuple[str, ...]] = {
    "": tuple(Scenario.model_fields),
    "model": tuple(ModelOptions.model_fields),
    "animation": (*AnimationOptions.model_fields, "size"),
    "data": tuple(DataSource.model_fields),
}


def expected_rows(s: Scenario) -> int:
    """Rows after `sample_frac`: round(N · balanced), rounding half to even as R does."""
    return int(round(s.n_cluster * s.obs_per_cluster * s.balanced))


def check_memory(s: Scenario) -> None:
    """Refuse, before simulating, a scenario this machine has not the memory for. Apart from
    the schema so that whether a scenario file is valid does not depend on the machine. A data
    scenario simulates nothing."""
    if s.is_data:
        return
    total = s.n_cluster * s.obs_per_cluster
    need = total * BYTES_PER_ROW
    avail = available_memory()
    if avail is not None and need > avail:
        raise ScenarioError(
            f"{s.source or s.name}: n_cluster × obs_per_cluster = {total:,} rows needs about "
            f"{_human(need)} of memory; {_human(avail)} is available"
        )


def check_names(scenarios: Sequence[Scenario]) -> None:
    """Refuse two scenarios with the same name (their outputs are named after them)."""
    seen: dict[str, str] = {}
    for s in scenarios:
        if s.name in seen:
            raise UsageError(
                f"{s.source or s.name}: scenario name {s.name!r} is also that of {seen[s.name]}; "
                "every scenario needs its own name"
            )
        seen[s.name] = s.source or s.name


def available_memory() -> int | None:
    """Bytes of memory available now (Linux), or None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000:
            return f"{n:.0f} {unit}"
        n /= 1000
    return f"{n:.0f} EB"


class ScenarioLoader(yaml.SafeLoader):
    """The YAML reader of scenario files and `--vary` values: PyYAML's safe loader, which
    refuses duplicate keys (PyYAML silently keeps the last one) and reads every number a person
    writes as one. PyYAML follows YAML 1.1, whose float needs a dot and a signed exponent, so
    `1e-3`, `1E3` and `-.5` were text; here a float is also any form YAML 1.2's core schema
    reads as one (`1e-3`, `1E-3`, `.5`, `+.5`, `5.`, `1e300`). Integers (`+1`, `1_000`) and every
    other scalar resolve as before, except that a leading zero does not make octal (`010` is
    ten, as in YAML 1.2)."""


#: YAML 1.2 core schema floats, with PyYAML's YAML 1.1 forms (`1_000.5`, `1:30.5`) kept.
#: Integer forms are left to the int resolver, which is consulted after this one.
FLOAT_PATTERN = re.compile(
    r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9]+[eE][-+]?[0-9]+
    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_FLOAT_TAG = "tag:yaml.org,2002:float"
ScenarioLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _FLOAT_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ScenarioLoader.add_implicit_resolver(_FLOAT_TAG, FLOAT_PATTERN, list("-+0123456789."))
for _first, _resolvers in ScenarioLoader.yaml_implicit_resolvers.items():
    # the float first, as in PyYAML: `1.5` is no int, and `1e3` must not fall to a later one
    _resolvers.sort(key=lambda r: r[0] != _FLOAT_TAG)

#: The keys whose values are text however they look (`name: 007`, `title: 2020`, a column
#: named `1e3`): read as written, never as a number.
TEXT_KEYS = {"name", "title", "description"}
TEXT_KEYS_DATA = {"path", "y", "x", "cluster"}


def _text_as_written(node: yaml.Node) -> None:
    """Tag the plain scalars of a scenario's text keys as strings, so that they are read as
    written (a number's text would otherwise be lost: `007` is 7)."""
    if not isinstance(node, yaml.MappingNode):
        return
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.value in TEXT_KEYS and _plain(value):
            value.tag = yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG
        elif key.value == "data":
            if _plain(value):
                value.tag = yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG
            elif isinstance(value, yaml.MappingNode):
                for k, v in value.value:
                    if isinstance(k, yaml.ScalarNode) and k.value in TEXT_KEYS_DATA and _plain(v):
                        v.tag = yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG


def _plain(node: yaml.Node) -> bool:
    """A plain (unquoted, untagged) scalar other than null: its type came from its look."""
    return (
        isinstance(node, yaml.ScalarNode)
        and node.style is None
        and node.tag != "tag:yaml.org,2002:null"
    )


def load_yaml(text: str, *, scenario: bool = False) -> Any:
    """Parse YAML text with `ScenarioLoader`; a scenario's text keys are read as written."""
    loader = ScenarioLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if scenario:
            _text_as_written(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


ScenarioLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


#: Integers with leading zeros: decimal, as YAML 1.2 and every person read them (`seed: 010` is
#: ten). PyYAML follows YAML 1.1, where a leading 0 means octal and `010` is eight.
LEADING_ZERO_INT = re.compile(r"^[-+]?0[0-9_]+$")


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if isinstance(text, str) and LEADING_ZERO_INT.match(text):
        return int(text.replace("_", ""), 10)
    return int(loader.construct_yaml_int(node))


ScenarioLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
# `08` and `09` are no YAML 1.1 octal, so PyYAML leaves them text: they are integers too.
ScenarioLoader.add_implicit_resolver("tag:yaml.org,2002:int", LEADING_ZERO_INT, list("-+0"))


def describe(value: Any) -> str:
    """A value as a person would have written it in YAML (`null`, `true`, `.inf`, `[1, 2]`,
    `{a: 1}`, text in quotes), cut to 40 characters: what an error message shows as "got"."""
    text = _yaml_text(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _yaml_text(value: Any, inner: bool = False) -> str:
    if inner and isinstance(value, str) and re.fullmatch(r"[\w.-]+", value):
        return value  # a plain word inside a list or mapping, as YAML writes it
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_text(v, True) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{_yaml_text(k, True)}: {_yaml_text(v, True)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _message(err: ErrorDetails) -> str:
    loc = [str(p) for p in err["loc"]]
    kind = err["type"]
    if kind == "extra_forbidden":
        section = ".".join(loc[:-1])
        key = loc[-1]
        valid = _KEYS.get(section, ())
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        where = f" in {section}" if section else ""
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown key '{key}'{where}{hint} (valid keys: {', '.join(valid)})"
    field = ".".join(loc)
    if loc == ["animation"] and kind == "value_error":  # raised while splitting `size`
        return f"animation.size: {str(err['msg']).removeprefix('Value error, ')}"
    if kind == "missing" and field in ALLOWED:
        return f"{field}: missing; give {ALLOWED[field]}"
    if (
        loc
        and loc[0] in ("model", "animation", "data")
        and len(loc) == 1
        and kind.endswith("_type")
    ):
        return f"{field}: must be {ALLOWED[field]} (got {describe(err.get('input'))})"
    allowed = ALLOWED.get(field)
    got = describe(err.get("input"))
    if kind == "value_error" and _TOO_LARGE in str(err["msg"]):
        return f"{field}: {str(err['msg']).removeprefix('Value error, ')} (got {got})"
    if not field:  # a model-level check
        return str(err["msg"]).removeprefix("Value error, ")
    if allowed:
        return f"{field}: must be {allowed} (got {got})"
    return f"{field}: {str(err['msg']).removeprefix('Value error, ')} (got {got})"


def validate_scenario(raw: object, *, source: str, default_name: str) -> Scenario:
    """Validate an already-parsed mapping; errors name `source`, the field and what is allowed."""
    if raw is None:
        raise ScenarioError(f"{source}: the file is empty; expected a mapping of scenario keys")
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        raise ScenarioError(
            f"{source}: expected a mapping of scenario keys (key: value lines), got a {kind}"
        )
    for key in raw:
        if not isinstance(key, str):
            raise ScenarioError(f"{source}: keys must be text, got {key!r}")
    data = dict(raw)
    data.setdefault("name", default_name)
    data.setdefault("title", str(data["name"]))
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {_message(exc.errors()[0])}") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file ('-': from standard input)."""
    from .io import read_text

    p = Path(path)
    text = read_text(path, error=ScenarioError, kind="scenario file", expected="UTF-8 YAML")
    if str(path) == "-":
        return parse_scenario(text, source="<stdin>", default_name="stdin")
    s = parse_scenario(text, source=str(p), default_name=default_name(p))
    if s.data is not None and not Path(s.data.path).is_absolute():
        # the table's path is relative to the scenario file
        where = os.path.normpath(p.parent / s.data.path)
        s = s.model_copy(update={"data": s.data.model_copy(update={"path": where})})
    s._source = str(path)
    return s


def table_scenario(
    path: str | Path, *, y: str = "y", x: str = "x", cluster: str = "cluster"
) -> Scenario:
    """A table given directly (`shrink report sleep.csv --y Reaction ...`): a data scenario named
    after the file, with the default model and animation."""
    p = Path(path)
    try:
        data = DataSource(path=str(path), y=y, x=x, cluster=cluster)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "data"
        got = describe(err.get("input"))
        raise UsageError(f"must be a column name (got {got})", field=field) from None
    s = Scenario(name=default_name(p), title=p.stem or default_name(p), data=data)
    s._source = str(path)
    return s


def default_name(p: Path) -> str:
    """The name of a scenario file that gives none: its stem, made a valid name."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "-", p.stem).lstrip(".-_") or "scenario"
    return stem


def parse_scenario(
    text: str, *, source: str = "<scenario>", default_name: str = "scenario"
) -> Scenario:
    """Parse YAML text into a validated Scenario."""
    try:
        raw = load_yaml(text, scenario=True)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        ctx = exc.context_mark
        if exc.context and ctx is not None and (mark is None or ctx.line != mark.line):
            problem += f" ({exc.context} that starts on line {ctx.line + 1})"
        raise ScenarioError(f"{source}:{line}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: YAML syntax error: {exc}") from None
    return validate_scenario(raw, source=source, default_name=default_name)


def validated_from(data: dict[str, Any], *, source: str = "") -> Scenario:
    """A scenario validated from its mapping (pydantic's ValidationError raised as it is),
    remembering the file `source` it was read from: a sweep's design keeps its scenario's."""
    s = Scenario.model_validate(data)
    s._source = source
    return s


def with_overrides(s: Scenario, **changes: Any) -> Scenario:
    """A copy of `s` with some keys changed (None means: keep), validated again; a bad value
    is a UsageError about its field."""
    given = {k: v for k, v in changes.items() if v is not None}
    if not given:
        return s
    data = s.model_dump(exclude_unset=True)  # a data scenario must stay without simulation keys
    data.update(given)
    try:
        new = Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        if field in given:
            got = given[field]
            raise UsageError(
                f"must be {ALLOWED[field]} (got {describe(got)})", field=field
            ) from None
        raise ScenarioError(f"{s.name}: {_message(err)}") from None
    new._source = s._source
    return new
