"""Which columns of a Hugging Face dataset hold what: `HubSpec`, the built-in `NORMALIZERS`, split names.

`resolve_spec` puts the user's field overrides on top of a built-in spec (or makes the generic one
for any other hub id); `plan_loads` says which configs and splits one source reads;
`map_split_name` turns a source's split name into tuner's train/val/test.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from core.errors import DataError

__all__ = [
    "NORMALIZERS",
    "PRESET_ENTRY",
    "HubSpec",
    "default_source_name",
    "map_split_name",
    "plan_loads",
    "resolve_spec",
    "slug",
    "split_base",
]

PRESET_ENTRY = "the preset's [[data.sources]] entry"


@dataclass(frozen=True, slots=True)
class HubSpec:
    """How one Hub dataset's columns map onto `Example` fields.

    `config_splits`: for datasets whose *configs* are the splits (NL2SH-ALFA has configs
    "train" and "test", each with a single HF split called "train"): config → split label.
    With `config=None` every listed config is loaded. `alternative_fields` are optional columns
    holding other valid commands (kept in `HubLoadResult.alternatives`, keyed by row_id).
    """

    hub_id: str
    instruction_field: str | None
    command_field: str | None
    category_field: str | None = None
    alternative_fields: tuple[str, ...] = ()
    config_splits: Mapping[str, str] | None = None
    builtin: bool = False


NORMALIZERS: dict[str, HubSpec] = {
    spec.hub_id: spec
    for spec in (
        HubSpec(
            "AnishJoshi/nl2bash-custom",
            instruction_field="nl_command",
            command_field="bash_code",
            builtin=True,
        ),
        HubSpec(
            "epinnock/intercode-nl2bash-curated",
            instruction_field="query",
            command_field="gold",
            builtin=True,
        ),
        HubSpec(
            "darkknight25/Linux_Terminal_Commands_Dataset",
            instruction_field="description",
            command_field="command",
            category_field="category",
            builtin=True,
        ),
        HubSpec(
            "westenfelder/NL2SH-ALFA",
            instruction_field="nl",
            command_field="bash",
            alternative_fields=("bash2",),
            config_splits={"train": "train", "test": "test"},
            builtin=True,
        ),
    )
}


def resolve_spec(
    hub_id: str,
    *,
    instruction_field: str | None = None,
    command_field: str | None = None,
    category_field: str | None = None,
) -> HubSpec:
    """The built-in spec for `hub_id` (case-insensitive) with the user's field names on top;
    for any other id a generic spec made of the user's field names (None = not set yet)."""
    base = NORMALIZERS.get(hub_id)
    if base is None:
        lowered = {k.lower(): v for k, v in NORMALIZERS.items()}
        base = lowered.get(hub_id.lower())
    if base is None:
        base = HubSpec(hub_id, instruction_field=None, command_field=None)
    overrides: dict[str, Any] = {}
    if instruction_field:
        overrides["instruction_field"] = instruction_field
    if command_field:
        overrides["command_field"] = command_field
    if category_field:
        overrides["category_field"] = category_field
    return replace(base, **overrides) if overrides else base


_SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "validation": "val",
    "valid": "val",
    "val": "val",
    "dev": "val",
    "development": "val",
    "test": "test",
    "testing": "test",
}


def map_split_name(split: str | None) -> str | None:
    """The source's split name as a tuner split label: train / val / test, else None.

    Slice syntax is ignored ("train[:10%]" → "train")."""
    if split is None:
        return None
    return _SPLIT_NAMES.get(split_base(split).lower())


def split_base(split: str) -> str:
    """A split name without slice syntax ("train[:10%]" → "train")."""
    return str(split).split("[", 1)[0].strip()


def slug(text: str) -> str:
    """Lower-case, runs of other characters as one '-' ("File Management" → "file-management")."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def default_source_name(hub_id: str) -> str:
    """Short source name: the last component of the hub id, slugged ("NL2SH-ALFA" → "nl2sh-alfa")."""
    return slug(hub_id.rstrip("/").rsplit("/", 1)[-1]) or slug(hub_id) or "hub"


def plan_loads(
    spec: HubSpec, config: str | None, split: str | None
) -> list[tuple[str | None, str | None, str | None]]:
    """[(config, split to request, forced split label)] for one source."""
    if not spec.config_splits:
        return [(config, split, None)]
    known = ", ".join(f"'{c}'" for c in spec.config_splits)
    if config is not None:
        if config not in spec.config_splits:
            raise DataError(
                f"Hugging Face dataset '{spec.hub_id}' has no config '{config}'; known configs: {known}",
                hint=f"set config to one of {known} (or leave it out to load them all) in {PRESET_ENTRY}",
            )
        return [(config, split, spec.config_splits[config])]
    if split is None:
        return [(cfg, None, label) for cfg, label in spec.config_splits.items()]
    wanted = map_split_name(split) or split_base(split)
    chosen = [
        (cfg, label)
        for cfg, label in spec.config_splits.items()
        if label == wanted or cfg == split_base(split)
    ]
    if not chosen:
        raise DataError(
            f"Hugging Face dataset '{spec.hub_id}' keeps its splits as configs ({known}); split '{split}' is none of them",
            hint=f"set config (or split) to one of {known} in {PRESET_ENTRY}",
        )
    return [(cfg, None, label) for cfg, label in chosen]
