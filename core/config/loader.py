"""Find, read and validate presets; apply `--set key=value` overrides; explain errors in one line each."""

from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from core.config.schema import Preset
from core.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class PresetFile:
    """A preset on disk: its name, path and whether it ships with tuner."""

    name: str
    path: Path
    shipped: bool


def shipped_presets_dir() -> Path:
    """The folder of presets that ship with the package."""
    return Path(str(resources.files("presets")))


def user_presets_dir() -> Path:
    """Where user presets are saved (TUNER_PRESETS_DIR, default ~/.config/tuner/presets)."""
    env = os.environ.get("TUNER_PRESETS_DIR")
    return Path(env) if env else Path.home() / ".config" / "tuner" / "presets"


def list_presets() -> list[PresetFile]:
    """Shipped presets, then user presets (a user preset with the same name shadows a shipped one)."""
    found: dict[str, PresetFile] = {}
    for folder, shipped in ((shipped_presets_dir(), True), (user_presets_dir(), False)):
        if folder.is_dir():
            for p in sorted(folder.glob("*.toml")):
                found[p.stem] = PresetFile(p.stem, p, shipped)
    return list(found.values())


def resolve_preset_path(ref: str | os.PathLike[str]) -> Path:
    """A path to an existing file, or the name of a shipped/user preset."""
    p = Path(ref)
    if p.is_file():
        return p
    if p.suffix == ".toml" or os.sep in str(ref):
        raise ConfigError(
            f"preset file {str(ref)!r} does not exist", hint="check the path, or run `tuner presets list`"
        )
    by_name = {pf.name: pf.path for pf in list_presets()}
    if str(ref) in by_name:
        return by_name[str(ref)]
    close = difflib.get_close_matches(str(ref), list(by_name), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "run `tuner presets list` to see the available presets"
    raise ConfigError(f"no preset named {str(ref)!r}", hint=hint)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning syntax errors into one line naming the file and line."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {e.start})", hint="save the preset as UTF-8"
        ) from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}", hint="fix the syntax at that line") from None


def parse_override(item: str) -> tuple[list[str], Any]:
    """Split `train.lr=1e-4` into (["train", "lr"], 1e-4); values are TOML, bare words are strings."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected key=value, e.g. --set train.lr=1e-4")
    key, raw = item.split("=", 1)
    key, raw = key.strip(), raw.strip()
    if not key:
        raise ConfigError(f"--set {item!r}: empty key")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # bare word: a string
    return key.split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `key.path=value` overrides to raw preset data (validation happens afterwards)."""
    for item in overrides:
        path, value = parse_override(item)
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {item!r}: {part!r} is not a section")
            node = child
        node[path[-1]] = value
    return data


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Known field names of the section at `loc` (for did-you-mean suggestions)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        current = _first_model(ann)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def _first_model(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def explain(e: ValidationError, source: str) -> list[str]:
    """One line per validation problem: file, key path, value and what was expected."""
    lines = []
    for err in e.errors():
        loc = tuple(err["loc"])
        key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
        if err["type"] == "extra_forbidden":
            known = _fields_at(Preset, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
            lines.append(f"{source}: unknown key '{key}' — {hint}")
            continue
        msg = err["msg"]
        if err["type"] == "missing":
            lines.append(f"{source}: missing required key '{key}'")
            continue
        value = err.get("input")
        where = f"'{key}' = {value!r}" if key else "preset"
        if isinstance(value, dict):
            where = f"'{key}'" if key else "preset"
        lines.append(f"{source}: {where}: {msg.removeprefix('Value error, ')}")
    return lines


def validate_preset(data: dict[str, Any], source: str = "<preset>") -> Preset:
    """Validate raw preset data; raise ConfigError listing every problem, one per line."""
    try:
        return Preset.model_validate(data)
    except ValidationError as e:
        lines = explain(e, source)
        raise ConfigError("\n".join(lines)) from None


def load_preset(ref: str | os.PathLike[str], overrides: list[str] | None = None) -> tuple[Preset, Path]:
    """Load a preset by path or name, apply overrides, validate it."""
    path = resolve_preset_path(ref)
    data = read_toml(path)
    data.setdefault("name", path.stem)
    if overrides:
        data = apply_overrides(data, overrides)
    return validate_preset(data, str(path)), path


def dump_preset(preset: Preset) -> str:
    """The preset as TOML (the resolved form written into run directories)."""
    import tomli_w

    return tomli_w.dumps(preset.model_dump(mode="json", exclude_none=True))
