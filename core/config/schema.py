"""The preset schema: one pydantic model per TOML section, unknown keys rejected.

The CLI, the TUI and the test suite all validate presets through `Preset`; the loader in
`core.config.loader` turns pydantic's errors into one line per problem naming the file,
the key path, the value and what was expected.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

EMBEDDED_MODEL = "embedded:smollm2-135m-instruct"


DeviceName = Literal["auto", "cpu", "cuda", "mps", "xla"]


class Section(BaseModel):
    """Base for every section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ScratchCfg(Section):
    """A model built from a transformers config instead of loaded weights (from-scratch training)."""

    architecture: Literal["gpt2", "llama", "qwen2", "gpt_neox"] = "gpt2"
    size: Literal["micro", "tiny", "medium", "large", "xlarge"] = "tiny"
    tokenizer: str | None = None  # path or hub id; None: train a BPE tokenizer on the corpus
    vocab_size: int = Field(8192, ge=256)
    context_length: int = Field(512, ge=16)


class ModelCfg(Section):
    """[model]: which base model, on which device, in which dtype."""

    id: str = EMBEDDED_MODEL  # hub id, local directory, .gguf file, or "embedded:…"
    revision: str | None = None
    gguf_file: str | None = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    device: DeviceName = "auto"
    trust_remote_code: bool = False
    attn_implementation: Literal["eager", "sdpa", "flash_attention_2"] | None = None
    scratch: ScratchCfg | None = None  # set: build from config, train from scratch
    # "RUN[:checkpoint]": start from an earlier run (a phase); "previous" under `tuner run A --then B`
    init_from: str | None = None
    # "merge" (None): that run's adapter merged into the base, a fresh adapter on top;
    # "continue": keep training that adapter. None keeps it out of dumped presets until it is set.
    init_mode: Literal["merge", "continue"] | None = None


class SourceCfg(Section):
    """One [[data.sources]] entry: the bundled set, a local file, or a Hub dataset."""

    kind: Literal["bundled", "file", "hub"]
    name: str | None = None  # short name in reports; default derived from path/id
    path: str | None = None  # kind = "file"
    id: str | None = None  # kind = "hub"
    config: str | None = None  # hub dataset config name
    split: str | None = None  # only this split of the source
    format: Literal["auto", "jsonl", "json", "csv", "parquet"] = "auto"
    instruction_field: str | None = None
    command_field: str | None = None
    category_field: str | None = None
    text_field: str | None = None  # plain-text corpora (pretraining)
    streaming: bool = False
    augment: bool = False  # augmentation applies only to sources that say so
    role: Literal["train", "test"] = "train"  # "test": held out whole, train rows decontaminated against it
    limit: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _needs_location(self) -> SourceCfg:
        if self.kind == "file" and not self.path:
            raise ValueError("kind = 'file' needs path = \"data/train.jsonl\"")
        if self.kind == "hub" and not self.id:
            raise ValueError("kind = 'hub' needs id = \"owner/dataset\"")
        return self


class CleanCfg(Section):
    """[data.clean]: which cleaning steps run; each one is counted in the report."""

    syntax_check: bool = True
    drop_dangerous: bool = True
    dedupe: bool = True
    decontaminate: bool = True
    shellcheck: bool = False  # findings are recorded as a flag, rows are kept
    max_instruction_chars: int = Field(2000, ge=1)
    max_command_chars: int = Field(2000, ge=1)


class AugmentCfg(Section):
    """[data.augment]: consistent entity substitution for sources with augment = true."""

    multiplier: float | None = Field(None, ge=1.0)
    target_size: int | None = Field(None, ge=1)
    max_per_row: int = Field(8, ge=1)  # variants of one row at most: more repeats one template
    seed: int = 42


class SplitCfg(Section):
    """[data.split]: ratios for sources that have no split of their own."""

    train: float = Field(0.9, ge=0, le=1)
    val: float = Field(0.05, ge=0, le=1)
    test: float = Field(0.05, ge=0, le=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitCfg:
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + val + test must be 1.0, got {total:g}")
        return self


class DataCfg(Section):
    """[data]: sources, cleaning, augmentation, split and prompt format."""

    sources: list[SourceCfg] = Field(default_factory=lambda: [SourceCfg(kind="bundled")])
    task: Literal["instruct", "text"] = "instruct"  # text: plain language modelling on a corpus
    clean: CleanCfg = Field(default_factory=CleanCfg)
    augment: AugmentCfg = Field(default_factory=AugmentCfg)
    split: SplitCfg = Field(default_factory=SplitCfg)
    seed: int = 42
    prompt_format: Literal["auto", "chat", "instruction"] = "auto"
    system_prompt: str | None = None

    @field_validator("sources")
    @classmethod
    def _at_least_one(cls, v: list[SourceCfg]) -> list[SourceCfg]:
        if not v:
            raise ValueError("at least one [[data.sources]] entry is needed")
        return v


class LoraCfg(Section):
    """[lora]: the PEFT LoRA adapter (used when train.adapter = "lora")."""

    r: int = Field(8, ge=1)
    alpha: float = Field(16, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | Literal["all-linear"] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    bias: Literal["none", "all", "lora_only"] = "none"


class QuantCfg(Section):
    """[quant]: bitsandbytes quantization of the frozen base (QLoRA when bits = 4)."""

    bits: Literal[0, 4, 8] = 0
    quant_type: Literal["nf4", "fp4"] = "nf4"
    double_quant: bool = True
    compute_dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"  # auto: the run's dtype


_DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")


def parse_duration(text: str) -> int:
    """Seconds in a duration like "8h30m", "45m", "90s"."""
    m = _DURATION.match(text)
    if not m or not any(m.groups()):
        raise ValueError(f'expected a duration like "8h30m", "45m" or "90s", got {text!r}')
    h, mnt, s = (int(g) if g else 0 for g in m.groups())
    return h * 3600 + mnt * 60 + s


class TrainCfg(Section):
    """[train]: optimisation, batching, checkpointing and time limits."""

    adapter: Literal["lora", "full"] = "lora"
    max_steps: int | None = Field(None, ge=1)
    epochs: float = Field(1.0, gt=0)
    micro_batch_size: int = Field(8, ge=1)
    max_tokens_per_batch: int | None = Field(4096, ge=16)  # bounds padded tokens per micro batch
    grad_accum: int = Field(1, ge=1)
    lr: float = Field(2e-4, gt=0)
    scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, ge=0)
    optimizer: Literal[
        "adamw_torch", "adamw_torch_fused", "adamw_bnb_8bit", "paged_adamw_8bit", "adafactor", "sgd"
    ] = "adamw_torch"
    max_seq_len: int = Field(512, ge=8)
    batching: Literal["padding_free", "packing", "length_grouped", "pad_to_max"] = "length_grouped"
    gradient_checkpointing: bool = False
    torch_compile: bool = False
    seed: int = 42
    save_every: int = Field(100, ge=1)
    save_limit: int = Field(3, ge=1)
    time_budget: str | None = None  # e.g. "8h30m": stop, checkpoint and exit cleanly before it ends
    nonfinite_patience: int = Field(5, ge=1)  # stop after this many non-finite steps in a row
    steps_per_epoch: int | None = Field(None, ge=1)  # caps an epoch (streaming / from-scratch)
    num_workers: int = Field(0, ge=0)

    @field_validator("time_budget")
    @classmethod
    def _duration(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v


class EvalCfg(Section):
    """[eval]: validation loss, exact match and sample generations during training."""

    every: int = Field(50, ge=1)
    max_val_rows: int | None = Field(256, ge=1)
    exact_match_rows: int = Field(32, ge=0)
    sample_every: int = Field(50, ge=1)
    sample_prompts: list[str] = Field(
        default_factory=lambda: [
            "List all files in the current directory, including hidden ones",
            "Find all .log files under /var/log larger than 10M",
            "Count the lines in every .py file under src",
        ]
    )
    max_new_tokens: int = Field(64, ge=1)
    before_training: bool = True  # evaluate (loss, exact match, samples) at step 0 too
    # Execution-checked accuracy at each evaluation: a fixed sample of the shipped exec set, run in the
    # bubblewrap sandbox (skipped with a warning where the sandbox cannot work). See docs/exec-eval.md.
    exec: bool = False
    exec_rows: int = Field(40, ge=1)
    # `tuner eval`: K worked examples from the run's train split before each prompt (for base models).
    few_shot: int = Field(0, ge=0, le=16)


class LogCfg(Section):
    """[log]: how often to log and where (W&B only when WANDB_API_KEY is set)."""

    every: int = Field(10, ge=1)
    wandb_project: str | None = None
    run_name: str | None = None


class Preset(Section):
    """A whole preset file."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    follows: str = ""  # which of the user's documents this preset follows
    model: ModelCfg = Field(default_factory=ModelCfg)
    data: DataCfg = Field(default_factory=DataCfg)
    lora: LoraCfg = Field(default_factory=LoraCfg)
    quant: QuantCfg = Field(default_factory=QuantCfg)
    train: TrainCfg = Field(default_factory=TrainCfg)
    eval: EvalCfg = Field(default_factory=EvalCfg)
    log: LogCfg = Field(default_factory=LogCfg)

    @model_validator(mode="after")
    def _consistent(self) -> Preset:
        if self.quant.bits and self.train.adapter == "full":
            raise ValueError(
                'quant.bits needs train.adapter = "lora" (a quantized base cannot be fully fine-tuned)'
            )
        if self.quant.bits and self.model.device == "xla":
            raise ValueError("bitsandbytes quantization does not run on XLA/TPU: set quant.bits = 0")
        if self.train.optimizer in ("adamw_bnb_8bit", "paged_adamw_8bit") and self.model.device == "xla":
            raise ValueError(
                '8-bit bitsandbytes optimizers do not run on XLA/TPU: use optimizer = "adamw_torch"'
            )
        return self
