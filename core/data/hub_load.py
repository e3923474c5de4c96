"""Load a whole Hub dataset as `Example`s: fetch every planned config/split, then normalize it."""

from __future__ import annotations

from core.data import hub_access
from core.data.hub_normalize import HubLoadResult, normalize_dataset
from core.data.hub_specs import default_source_name, plan_loads, resolve_spec

__all__ = ["load_hub_source"]


def load_hub_source(
    hub_id: str,
    *,
    config: str | None = None,
    split: str | None = None,
    instruction_field: str | None = None,
    command_field: str | None = None,
    category_field: str | None = None,
    name: str | None = None,
) -> HubLoadResult:
    """Load a Hub dataset as `Example`s (built-in normalizer or the given field names).

    `split=None` loads every split (see `normalize_dataset` for the split labels). For datasets
    whose configs are the splits (NL2SH-ALFA), `config=None` loads every config, and
    `split="test"` picks the "test" config. `stream_hub_source` reads the same rows lazily.
    Offline with no cached copy → DataError (one sentence), within a few seconds.
    """
    spec = resolve_spec(
        hub_id,
        instruction_field=instruction_field,
        command_field=command_field,
        category_field=category_field,
    )
    name = name or default_source_name(hub_id)
    result = HubLoadResult()
    for cfg, req_split, forced in plan_loads(spec, config, split):
        # looked up on the module at call time: tests replace open_hub_dataset with fixtures
        data = hub_access.open_hub_dataset(hub_id, cfg, req_split, False)
        part = normalize_dataset(spec, data, name, config=cfg, source_split=req_split, split_label=forced)
        result.extend(part)
    return result
