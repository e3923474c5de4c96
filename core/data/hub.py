"""Hugging Face Hub datasets → `Example` rows: the public face of the hub_* modules.

Layers, so tests can feed local fixtures through the same code as the Hub:

* core.data.hub_specs: `HubSpec` / `NORMALIZERS` (which columns hold the instruction, the command,
  the category and alternative commands, for the built-in datasets); `resolve_spec` adds the user's
  field overrides (the generic fallback for any other hub id).
* core.data.hub_normalize: `normalize_dataset(spec, data, name)`, pure; turns an already loaded
  `datasets.Dataset` / `DatasetDict` into a `HubLoadResult`.
* core.data.hub_access: `hub_reachable` (one short probe) and the single `datasets.load_dataset`
  call with a fast offline path; only `DataError` escapes.
* core.data.hub_load: `load_hub_source(hub_id, ...)`, every row at once.
* core.data.hub_stream: `stream_hub_source` (a lazy `HubStream`) and `iter_text_corpus` (the text
  column of a pre-training corpus).

`datasets` / `huggingface_hub` are imported inside functions: importing this module is cheap.
"""

from __future__ import annotations

from core.data.hub_access import hub_reachable
from core.data.hub_load import load_hub_source
from core.data.hub_normalize import HubLoadResult, normalize_dataset
from core.data.hub_specs import NORMALIZERS, HubSpec, default_source_name, map_split_name, resolve_spec
from core.data.hub_stream import HubStream, iter_text_corpus, stream_hub_source

__all__ = [
    "NORMALIZERS",
    "HubLoadResult",
    "HubSpec",
    "HubStream",
    "default_source_name",
    "hub_reachable",
    "iter_text_corpus",
    "load_hub_source",
    "map_split_name",
    "normalize_dataset",
    "resolve_spec",
    "stream_hub_source",
]
