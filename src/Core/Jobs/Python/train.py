#!/usr/bin/env python3
"""Train the adapter of an exported TrainableTokens job with Hugging Face's Trainer, PEFT and accelerate.

Written by Export-TokenTrainingJob; the same file for every job. Everything job-specific is in job.json beside it.

    python train.py [--job job.json] [--model PATH] [--output-dir PATH] [--resume] [--overwrite-output-dir]
                    [--dry-run] [--allow-unknown-arguments] [--accelerate-config accelerate/fsdp.yaml]

Run it under `accelerate launch --config_file accelerate/<engine>.yaml train.py` for several GPUs, or as plain
`python train.py` for one process. Under torchrun, pass --accelerate-config so the same FSDP / DeepSpeed settings apply.

The data is already tokenised, masked and split by the engine; this script only pads, orders and trains.
torch, transformers and peft are imported inside the functions that need them, so the checks on the job, the data
and the output folder run (and are tested) without them.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import inspect
import json
import os
import shutil
import struct
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

JOB_FORMAT = 1
JOB_KIND = "trainabletokens-job"
RESULT_FILE = "job-result.json"
IGNORE_INDEX = -100
METHODS = ("TRAINABLE_TOKENS", "LORA")
DTYPES = ("float32", "bfloat16", "float16")
# The versions the export was checked against (requirements.txt pins the same); others only get a warning.
PINNED = {
    "torch": "2.11.0",
    "transformers": "5.17.0",
    "peft": "0.21.0",
    "safetensors": "0.8.0",
    "accelerate": "1.15.0",
}
OPTIONAL_PINNED = {"deepspeed": "0.19.8"}
# Keys PEFT writes from a Python set: their order in adapter_config.json changes from run to run.
UNORDERED_CONFIG_KEYS = frozenset({"target_modules", "exclude_modules"})
# Keys whose difference is expected: PEFT stamps its own version; --model moves the base model.
ALWAYS_IGNORED_CONFIG_KEYS = frozenset({"peft_version"})
REQUIRED_JOB_KEYS = ("method", "base_model", "dtype", "peft_config", "adapter_config", "training_arguments", "data")
# Folders and files train.py itself leaves in an output folder: only such a folder is cleared by
# --overwrite-output-dir, so a mistyped --output-dir can never empty an unrelated folder.
OWN_OUTPUT_NAMES = ("adapter_config.json", "adapter_model.safetensors", RESULT_FILE, "training_args.bin", "README.md")


class JobError(Exception):
    """A problem the user can fix (job file, data, output folder, arguments): printed without a traceback."""


# ---------------------------------------------------------------------------------------------------------------
# Job file and data (pure: standard library only)
# ---------------------------------------------------------------------------------------------------------------

def load_job(path: str | os.PathLike) -> dict:
    """Reads and checks job.json; returns it with "_folder" (the job folder, absolute) added."""
    job_path = Path(path).resolve()
    if not job_path.is_file():
        raise JobError(f"{job_path}: no job file there; pass --job with the job.json that Export-TokenTrainingJob wrote.")
    try:
        job = json.loads(job_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise JobError(f"{job_path}: not valid UTF-8 JSON ({e}); export the job again.") from None
    if not isinstance(job, dict):
        raise JobError(f"{job_path}: expected a JSON object; export the job again.")
    if job.get("kind") != JOB_KIND:
        raise JobError(f"{job_path}: 'kind' is {job.get('kind')!r}, not {JOB_KIND!r}: this is not a TrainableTokens job file.")
    if job.get("format") != JOB_FORMAT:
        raise JobError(f"{job_path}: 'format' is {job.get('format')!r}; this train.py reads format {JOB_FORMAT}. "
                       "Export the job again with the module that wrote this train.py.")
    missing = [k for k in REQUIRED_JOB_KEYS if k not in job]
    if missing:
        raise JobError(f"{job_path}: missing {', '.join(missing)}; export the job again.")
    if job["method"] not in METHODS:
        raise JobError(f"{job_path}: 'method' is {job['method']!r}; expected one of {', '.join(METHODS)}.")
    if job["dtype"] not in DTYPES:
        raise JobError(f"{job_path}: 'dtype' is {job['dtype']!r}; expected one of {', '.join(DTYPES)}.")
    for key in ("peft_config", "adapter_config", "training_arguments", "data"):
        if not isinstance(job[key], dict):
            raise JobError(f"{job_path}: '{key}' must be an object.")
    data = job["data"]
    for key in ("train", "order", "pad_token_id"):
        if key not in data:
            raise JobError(f"{job_path}: 'data.{key}' is missing; export the job again.")
    if not _is_int(data["pad_token_id"]):
        raise JobError(f"{job_path}: 'data.pad_token_id' must be an integer.")
    early = job.get("early_stopping")
    if early is not None and (not isinstance(early, dict) or not _is_int(early.get("patience"))):
        raise JobError(f"{job_path}: 'early_stopping' must be null or {{\"patience\": int, \"threshold\": number}}.")
    job["_folder"] = str(job_path.parent)
    job["_path"] = str(job_path)
    return job


def job_file(job: Mapping, relative: str) -> Path:
    """A path named in job.json, relative to the job folder (absolute paths are kept)."""
    p = Path(relative)
    return p if p.is_absolute() else Path(job["_folder"]) / p


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def read_examples(path: Path, what: str) -> list[dict]:
    """Reads a tokenised JSONL file: one {"input_ids": [...], "labels": [...]} per line, equal lengths."""
    if not path.is_file():
        raise JobError(f"{path}: the {what} data file is missing; export the job again.")
    examples: list[dict] = []
    problems: list[str] = []
    with path.open("r", encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                problems.append(f"line {number}: not JSON ({e.msg})")
                continue
            ids = record.get("input_ids") if isinstance(record, dict) else None
            labels = record.get("labels") if isinstance(record, dict) else None
            if not isinstance(ids, list) or not isinstance(labels, list):
                problems.append(f"line {number}: needs 'input_ids' and 'labels' lists")
            elif len(ids) == 0 or len(ids) != len(labels):
                problems.append(f"line {number}: {len(ids)} input_ids but {len(labels)} labels (must be equal and > 0)")
            elif not all(_is_int(t) and t >= 0 for t in ids) or not all(_is_int(t) and (t >= 0 or t == IGNORE_INDEX) for t in labels):
                problems.append(f"line {number}: ids must be non-negative integers, labels too or {IGNORE_INDEX}")
            else:
                examples.append({"input_ids": ids, "labels": labels})
    if problems:
        shown = "; ".join(problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise JobError(f"{path}: {shown}{more}. Export the job again.")
    if not examples:
        raise JobError(f"{path}: the {what} data file has no examples.")
    return examples


def read_order(path: Path, count: int) -> list[list[int]]:
    """Reads train-order.json and checks that every epoch visits each of the `count` training examples once."""
    if not path.is_file():
        raise JobError(f"{path}: the training order file is missing; export the job again.")
    try:
        epochs = json.loads(path.read_text(encoding="utf-8")).get("epochs")
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError) as e:
        raise JobError(f"{path}: not a JSON object with 'epochs' ({e}); export the job again.") from None
    if not isinstance(epochs, list) or not epochs:
        raise JobError(f"{path}: 'epochs' must be a non-empty list of index lists.")
    expected = list(range(count))
    for e, order in enumerate(epochs):
        if not isinstance(order, list) or not all(_is_int(i) for i in order) or sorted(order) != expected:
            raise JobError(f"{path}: epoch {e} is not an order of the {count} training examples "
                           f"(each index 0..{count - 1} exactly once); export the job again.")
    return epochs


# ---------------------------------------------------------------------------------------------------------------
# Padding (the engine's DataCollator) and the exact per-epoch order
# ---------------------------------------------------------------------------------------------------------------

def pad_examples(examples: Sequence[Mapping[str, Sequence[int]]], pad_token_id: int) -> dict[str, list[list[int]]]:
    """Pads on the right to the longest example: pad_token_id, attention_mask 0 and labels -100 on padding.

    One change from the engine's collator: each example's label at position 0 becomes -100. A causal LM never
    predicts the first token (labels are shifted by one), so the loss is the same; but Trainer divides the loss of an
    optimiser step by the count of labels that are not -100 (num_items_in_batch), position 0 included, while the
    engine divides by the labelled positions after the first. Masking position 0 makes the two divisors equal.
    """
    if not examples:
        raise ValueError("a batch needs at least one example")
    length = max(len(e["input_ids"]) for e in examples)
    ids, mask, labels = [], [], []
    for e in examples:
        n = len(e["input_ids"])
        if len(e["labels"]) != n:
            raise ValueError(f"an example has {n} input_ids but {len(e['labels'])} labels")
        pad = length - n
        ids.append(list(e["input_ids"]) + [pad_token_id] * pad)
        mask.append([1] * n + [0] * pad)
        row = list(e["labels"]) + [IGNORE_INDEX] * pad
        row[0] = IGNORE_INDEX
        labels.append(row)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def labelled_count(batch: Mapping[str, Sequence[Sequence[int]]]) -> int:
    """The positions that count in the loss, as Trainer counts them (labels that are not -100)."""
    return sum(1 for row in batch["labels"] for t in row if t != IGNORE_INDEX)


class PaddingCollator:
    """Trainer's data_collator: pad_examples, then torch tensors (int64)."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, features: Sequence[Mapping[str, Sequence[int]]]) -> dict:
        import torch

        padded = pad_examples(features, self.pad_token_id)
        return {k: torch.tensor(v, dtype=torch.long) for k, v in padded.items()}


class ExactOrderSampler:
    """Yields the exported order of epoch e after set_epoch(e).

    accelerate's DataLoaderShard calls set_epoch on the sampler inside its batch sampler at the start of every pass
    (and Trainer calls set_epoch(epoch) on the loader before each epoch), so epoch e gets epochs[e]. With several
    processes, accelerate's BatchSamplerShard cuts the resulting batches: process r takes batches r, r+P, r+2P, ...
    """

    def __init__(self, epochs: Sequence[Sequence[int]]):
        if not epochs:
            raise ValueError("at least one epoch order is needed")
        self.epochs = [list(e) for e in epochs]
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.epochs[0])

    def __iter__(self) -> Iterator[int]:
        if self.epoch >= len(self.epochs):
            raise JobError(f"epoch {self.epoch} has no exported order (train-order.json holds {len(self.epochs)} epochs); "
                           "training would run past the engine's schedule. Export the job again.")
        return iter(self.epochs[self.epoch])


class ListDataset:
    """A map-style dataset over the examples read from JSONL (Trainer needs only __len__ and __getitem__)."""

    def __init__(self, examples: Sequence[dict]):
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict:
        return self.examples[i]


# ---------------------------------------------------------------------------------------------------------------
# Arguments, configs, output folder (pure)
# ---------------------------------------------------------------------------------------------------------------

def accepted_names(cls: Any) -> set[str]:
    """The keyword arguments a dataclass (or any callable) accepts."""
    if dataclasses.is_dataclass(cls):
        return {f.name for f in dataclasses.fields(cls) if f.init}
    return {n for n, p in inspect.signature(cls).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def split_arguments(values: Mapping[str, Any], accepted: Iterable[str]) -> tuple[dict, list[str]]:
    """(the values `accepted` takes, the names it does not), names sorted."""
    names = set(accepted)
    return {k: v for k, v in values.items() if k in names}, sorted(k for k in values if k not in names)


def refuse_unknown(what: str, unknown: Sequence[str], allow: bool) -> None:
    """Unknown names stop the job unless --allow-unknown-arguments: dropping a setting silently changes the run."""
    if not unknown:
        return
    message = (f"{what} does not accept: {', '.join(unknown)}. "
               "Use the versions in requirements.txt, or pass --allow-unknown-arguments to run without these settings.")
    if not allow:
        raise JobError(message)
    print(f"train.py: warning: {message} Running without them (--allow-unknown-arguments).", file=sys.stderr)


def peft_kwargs(config: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict:
    """The job's PEFT config with null values left out where PEFT's default is not null (job.json writes null for
    'unset'; passing None where PEFT expects e.g. a dict or a bool would change or break the config)."""
    return {k: v for k, v in config.items() if not (v is None and defaults.get(k) is not None)}


def dataclass_defaults(cls: Any) -> dict:
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            out[f.name] = f.default_factory()  # type: ignore[misc]
    return out


def compare_adapter_config(saved: Mapping[str, Any], expected: Mapping[str, Any], model_moved: bool,
                           peft_defaults: Mapping[str, Any] | None = None) -> list[dict]:
    """Key-by-key differences between the adapter_config.json PEFT wrote and the one Start-TokenTraining would write.

    peft_version is never compared (PEFT stamps its own); base_model_name_or_path only when --model did not move the
    base model. Lists PEFT keeps as sets (target_modules, exclude_modules) are compared without order. A key only PEFT
    wrote, at its config class's default (LoraConfig's use_dora: false and the like, which the engine leaves out), is
    the same setting, not a difference.
    """
    ignored = set(ALWAYS_IGNORED_CONFIG_KEYS)
    if model_moved:
        ignored.add("base_model_name_or_path")
    differences = []
    for key in sorted(set(saved) | set(expected)):
        if key in ignored:
            continue
        a, b = expected.get(key, _MISSING), saved.get(key, _MISSING)
        if a is _MISSING and peft_defaults is not None and key in peft_defaults and _config_values_equal(key, _jsonish(peft_defaults[key]), b):
            continue
        if not _config_values_equal(key, a, b):
            differences.append({"key": key,
                                "expected": None if a is _MISSING else a,
                                "actual": None if b is _MISSING else b,
                                "missing": "expected" if a is _MISSING else ("actual" if b is _MISSING else None)})
    return differences


def _jsonish(value: Any) -> Any:
    """A default as adapter_config.json holds it: dataclasses as dicts, sets as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json.loads(json.dumps(dataclasses.asdict(value), default=str))
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return value


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def _config_values_equal(key: str, a: Any, b: Any) -> bool:
    if key in UNORDERED_CONFIG_KEYS and isinstance(a, list) and isinstance(b, list):
        try:
            return sorted(a) == sorted(b)
        except TypeError:
            return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def output_dir_plan(path: Path, resume: bool, overwrite: bool) -> str:
    """What to do with the output folder: 'create', 'use' (empty), 'resume' or 'clear'. Raises JobError otherwise."""
    if resume and overwrite:
        raise JobError("--resume and --overwrite-output-dir contradict each other: pass one.")
    if not path.exists():
        if resume:
            raise JobError(f"{path}: --resume, but the output folder does not exist; run without --resume.")
        return "create"
    if not path.is_dir():
        raise JobError(f"{path}: the output path is a file, not a folder; pass --output-dir with a folder.")
    entries = sorted(p.name for p in path.iterdir())
    if not entries:
        if resume:
            raise JobError(f"{path}: --resume, but the output folder is empty (no checkpoint-N); run without --resume.")
        return "use"
    if resume:
        if not any(_is_checkpoint_name(n) for n in entries):
            raise JobError(f"{path}: --resume, but the folder holds no checkpoint-N folder to resume from.")
        return "resume"
    if overwrite:
        foreign = [n for n in entries if not (_is_checkpoint_name(n) or n in OWN_OUTPUT_NAMES or n.startswith("runs"))]
        if foreign:
            raise JobError(f"{path}: --overwrite-output-dir, but the folder holds files train.py did not write "
                           f"({', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}); choose another --output-dir.")
        return "clear"
    raise JobError(f"{path}: the output folder is not empty ({', '.join(entries[:3])}{' ...' if len(entries) > 3 else ''}). "
                   "Pass --resume to continue from its last checkpoint, --overwrite-output-dir to replace it, "
                   "or --output-dir with another folder.")


def _is_checkpoint_name(name: str) -> bool:
    return name.startswith("checkpoint-") and name[len("checkpoint-"):].isdigit()


def check_early_stopping(job: Mapping, has_eval: bool) -> None:
    """transformers' EarlyStoppingCallback asserts these when training starts; say so before loading a model."""
    if not job.get("early_stopping"):
        return
    args = job["training_arguments"]
    missing = []
    if not has_eval:
        missing.append("evaluation data (data.eval)")
    if str(args.get("eval_strategy", "no")).lower() == "no":
        missing.append("eval_strategy 'steps' or 'epoch'")
    if not args.get("load_best_model_at_end"):
        missing.append("load_best_model_at_end: true")
    if not args.get("metric_for_best_model"):
        missing.append("metric_for_best_model")
    if missing:
        raise JobError(f"{job['_path']}: early_stopping needs {', '.join(missing)} in the job; export the job again.")


def resolve_training_arguments(job: Mapping, output_dir: Path, evaluate_first: bool) -> dict:
    """The job's TrainingArguments with output_dir resolved and evaluation before training expressed as eval_on_start."""
    args = dict(job["training_arguments"])
    args["output_dir"] = str(output_dir)
    if evaluate_first:
        args["eval_on_start"] = True
    return args


def adapter_precision_plan(job: Mapping, env: Mapping[str, str]) -> dict:
    """Where the trained rows (and LoRA A/B) can stay float32 while the base model runs in a 16-bit dtype.

    - One process or DDP: PEFT upcasts adapter weights to float32 (get_peft_model's autocast_adapter_dtype) and its
      forwards cast them to the base weight's dtype, as the engine does.
    - FSDP1 flattens each wrapped unit into one parameter of one dtype, so a float32 delta beside bfloat16 weights
      fails; the adapter is created in the model's dtype and accelerate upcasts the trainable units to float32 only
      when its mixed_precision matches the dtype.
    - DeepSpeed ZeRO-3 gathers parameters in the dtype of the first one, so mixed dtypes fail too; with its bf16/fp16
      mode on, ZeRO keeps float32 master copies of the trainable parameters, so bf16/fp16 is switched on there.
    """
    dtype = job["dtype"]
    wants_fp32 = bool(job.get("float32_trainable", True))
    short = {"bfloat16": "bf16", "float16": "fp16"}.get(dtype)
    fsdp = env.get("ACCELERATE_USE_FSDP", "").lower() == "true"
    deepspeed = env.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true"
    plan = {"autocast_adapter_dtype": False, "float32_trainable": False, "engine": "fsdp" if fsdp else "deepspeed" if deepspeed else "plain",
            "training_argument_overrides": {}, "note": None}
    if dtype == "float32":
        plan.update(float32_trainable=True)
        return plan
    if not wants_fp32:
        return plan
    if fsdp:
        mixed = env.get("ACCELERATE_MIXED_PRECISION", "no").lower()
        if mixed == short:
            plan.update(float32_trainable=True,
                        note=f"FSDP: adapter created in {dtype}; accelerate (mixed_precision {mixed}) upcasts the FSDP units that "
                             "hold trainable parameters to float32, frozen weights in those units included.")
        else:
            plan.update(note=f"FSDP with mixed_precision '{mixed}': trainable rows are kept in {dtype}, not float32 as the engine "
                             f"keeps them (set mixed_precision: {short} in accelerate/fsdp.yaml to keep them in float32).")
        return plan
    if deepspeed:
        plan.update(float32_trainable=True, training_argument_overrides={short: True},
                    note=f"DeepSpeed: adapter created in {dtype}; {short} mode switched on so ZeRO keeps float32 master copies "
                         "of the trainable parameters (its optimizer state is float32 too).")
        return plan
    plan.update(autocast_adapter_dtype=True, float32_trainable=True)
    return plan


def accelerate_env_from_config(config: Mapping[str, Any], config_path: Path) -> dict[str, str]:
    """The environment `accelerate launch` would set for an accelerate config file, for runs under torchrun.

    Only the keys the templates use are translated; accelerate reads these variables when Trainer creates its
    Accelerator (accelerate/utils/launch.py prepare_multi_gpu_env / prepare_deepspeed_cmd_env).
    """
    env: dict[str, str] = {}
    mixed = config.get("mixed_precision", "no")
    env["ACCELERATE_MIXED_PRECISION"] = str(mixed if mixed not in (None, False) else "no").lower()
    kind = str(config.get("distributed_type", "")).upper()
    if kind == "FSDP":
        fsdp = dict(config.get("fsdp_config") or {})
        env["ACCELERATE_USE_FSDP"] = "true"
        names = {
            "fsdp_version": "FSDP_VERSION", "fsdp_sharding_strategy": "FSDP_SHARDING_STRATEGY",
            "fsdp_reshard_after_forward": "FSDP_RESHARD_AFTER_FORWARD", "fsdp_offload_params": "FSDP_OFFLOAD_PARAMS",
            "fsdp_auto_wrap_policy": "FSDP_AUTO_WRAP_POLICY", "fsdp_transformer_layer_cls_to_wrap": "FSDP_TRANSFORMER_CLS_TO_WRAP",
            "fsdp_backward_prefetch": "FSDP_BACKWARD_PREFETCH", "fsdp_state_dict_type": "FSDP_STATE_DICT_TYPE",
            "fsdp_forward_prefetch": "FSDP_FORWARD_PREFETCH", "fsdp_use_orig_params": "FSDP_USE_ORIG_PARAMS",
            "fsdp_cpu_ram_efficient_loading": "FSDP_CPU_RAM_EFFICIENT_LOADING", "fsdp_sync_module_states": "FSDP_SYNC_MODULE_STATES",
            "fsdp_activation_checkpointing": "FSDP_ACTIVATION_CHECKPOINTING",
        }
        for key, var in names.items():
            if key in fsdp and fsdp[key] is not None:
                value = fsdp[key]
                env[var] = str(value).lower() if isinstance(value, bool) else str(value)
    elif kind == "DEEPSPEED":
        ds = dict(config.get("deepspeed_config") or {})
        env["ACCELERATE_USE_DEEPSPEED"] = "true"
        if ds.get("deepspeed_config_file"):
            # accelerate launch reads the path from the working folder (the job folder); fall back to the file beside
            # the accelerate config when torchrun starts elsewhere.
            p = Path(str(ds["deepspeed_config_file"]))
            if not p.is_absolute():
                p = p.resolve() if p.exists() else config_path.parent / p.name
            env["ACCELERATE_DEEPSPEED_CONFIG_FILE"] = str(p)
        if ds.get("zero3_init_flag") is not None:
            env["ACCELERATE_DEEPSPEED_ZERO3_INIT"] = str(ds["zero3_init_flag"]).lower()
    else:
        raise JobError(f"{config_path}: distributed_type {config.get('distributed_type')!r}; --accelerate-config expects FSDP or DEEPSPEED.")
    return env


# ---------------------------------------------------------------------------------------------------------------
# The saved adapter (pure: reads the safetensors header, never the tensors)
# ---------------------------------------------------------------------------------------------------------------

def safetensors_header(path: Path) -> dict:
    """The JSON header of a .safetensors file: {name: {"dtype", "shape", "data_offsets"}} (and "__metadata__")."""
    with path.open("rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise JobError(f"{path}: too short to be a safetensors file.")
        (size,) = struct.unpack("<Q", raw)
        if size > 100 * 1024 * 1024:
            raise JobError(f"{path}: header of {size} bytes; not a safetensors file.")
        return json.loads(f.read(size).decode("utf-8"))


def check_saved_adapter(folder: Path, token_count: int | None) -> list[str]:
    """Problems with the adapter in `folder`: missing files, or tensors that are empty or the wrong shape.

    DeepSpeed ZeRO-3 can save parameters it did not gather as empty tensors, and trainable-token rows are [k, dim].
    """
    problems = []
    weights = folder / "adapter_model.safetensors"
    if not (folder / "adapter_config.json").is_file():
        problems.append("adapter_config.json is missing")
    if not weights.is_file():
        problems.append("adapter_model.safetensors is missing")
        return problems
    header = safetensors_header(weights)
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    if not tensors:
        problems.append("adapter_model.safetensors holds no tensors")
    for name, info in sorted(tensors.items()):
        shape = info.get("shape", [])
        if any(d == 0 for d in shape) or not shape:
            problems.append(f"{name} is empty (shape {shape}): see PEFT issue #2946 (ZeRO-3 did not gather it)")
        elif name.endswith("trainable_tokens_delta") and token_count is not None and shape[0] != token_count:
            problems.append(f"{name} has {shape[0]} rows, the job trains {token_count} tokens")
    return problems


def token_count_of(job: Mapping) -> int | None:
    cfg = job["peft_config"]
    indices = cfg.get("token_indices") if job["method"] == "TRAINABLE_TOKENS" else cfg.get("trainable_token_indices")
    if isinstance(indices, list):
        return len(indices)
    if isinstance(indices, dict) and indices:
        counts = {len(v) for v in indices.values() if isinstance(v, list)}
        return counts.pop() if len(counts) == 1 else None
    return None


def installed_versions() -> dict[str, str | None]:
    out = {}
    for name in list(PINNED) + list(OPTIONAL_PINNED):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    out["python"] = sys.version.split()[0]
    return out


def version_warnings(versions: Mapping[str, str | None]) -> list[str]:
    notes = []
    for name, pin in PINNED.items():
        have = versions.get(name)
        if have is None:
            notes.append(f"{name} is not installed (requirements.txt pins {pin})")
        elif have.split("+")[0] != pin:
            notes.append(f"{name} {have} is installed; the job was checked with {pin}")
    return notes


def is_main_process(env: Mapping[str, str]) -> bool:
    return env.get("RANK", "0") == "0"


# ---------------------------------------------------------------------------------------------------------------
# Training (torch, transformers, peft)
# ---------------------------------------------------------------------------------------------------------------

def build_peft_config(job: Mapping, allow_unknown: bool):
    import peft

    cls = peft.TrainableTokensConfig if job["method"] == "TRAINABLE_TOKENS" else peft.LoraConfig
    kwargs = peft_kwargs(job["peft_config"], dataclass_defaults(cls))
    kwargs, unknown = split_arguments(kwargs, accepted_names(cls))
    refuse_unknown(f"peft.{cls.__name__} (peft {getattr(peft, '__version__', '?')})", unknown, allow_unknown)
    return cls(**kwargs)


def build_training_arguments(values: Mapping[str, Any], allow_unknown: bool):
    import transformers

    kwargs, unknown = split_arguments(values, accepted_names(transformers.TrainingArguments))
    refuse_unknown(f"transformers.TrainingArguments (transformers {transformers.__version__})", unknown, allow_unknown)
    return transformers.TrainingArguments(**kwargs), kwargs


def make_trainer_class():
    """Trainer with the exported per-epoch order, and a ZeRO-3 adapter save that gathers the trainable parameters."""
    import transformers

    class JobTrainer(transformers.Trainer):
        exact_order: ExactOrderSampler | None = None

        def _get_train_sampler(self, train_dataset=None, *args, **kwargs):
            # Trainer 5.x calls this with the dataset; accelerate then wraps the sampler in its shards.
            if self.exact_order is None:
                raise JobError("internal: the exported training order was not set before training")
            return self.exact_order

        def save_model(self, output_dir=None, _internal_call=False):
            if not _zero3_enabled(self):
                return super().save_model(output_dir, _internal_call=_internal_call)
            return _save_adapter_zero3(self, output_dir or self.args.output_dir)

    return JobTrainer


def _zero3_enabled(trainer) -> bool:
    if not getattr(trainer, "is_deepspeed_enabled", False):
        return False
    plugin = getattr(getattr(trainer.accelerator, "state", None), "deepspeed_plugin", None)
    return getattr(plugin, "zero_stage", None) == 3


def _save_adapter_zero3(trainer, output_dir: str) -> None:
    """PEFT issue #2946: under ZeRO-3 Trainer's save hands PEFT a consolidated state dict without
    token_adapter.trainable_tokens_delta.<adapter>, and the save fails with a KeyError. The trainable parameters are
    few, so gather them on every rank and save them with the module's own state-dict names."""
    import deepspeed

    model = trainer.accelerator.unwrap_model(trainer.model)
    trainable = {id(p): p for p in model.parameters() if p.requires_grad}
    # state_dict (not named_parameters) so a tied layer's second name for the same rows is kept too.
    names = {k: v for k, v in model.state_dict(keep_vars=True).items() if id(v) in trainable}
    with deepspeed.zero.GatheredParameters(list(trainable.values()), modifier_rank=None):
        state = {k: v.detach().clone().cpu() for k, v in names.items()}
    if trainer.args.should_save:
        os.makedirs(output_dir, exist_ok=True)
        model.save_pretrained(output_dir, state_dict=state, safe_serialization=True)


def match_initial_rows(parameter_names: Iterable[str], keys: Iterable[str], adapter: str = "default") -> dict[str, str]:
    """Which trainable parameter each tensor of data/initial-rows.safetensors starts: the file uses PEFT's saved names
    (no adapter suffix), the live parameter carries the adapter's name. A tensor that matches none is an error."""
    names = set(parameter_names)
    matched, missing = {}, []
    for key in keys:
        name = f"{key}.{adapter}"
        if name in names:
            matched[key] = name
        else:
            missing.append(key)
    if missing:
        raise JobError(f"data/initial-rows.safetensors has {missing[:3]}, which match no trainable parameter of the PEFT model "
                       f"(it has {sorted(names)[:3]}...): the job was exported for another model or method.")
    return matched


def initial_row_keys(path: Path) -> list[str]:
    """The tensor names of data/initial-rows.safetensors, from its header alone."""
    return [k for k in safetensors_header(path) if k != "__metadata__"]


def apply_initial_rows(model, path: Path, matched: Mapping[str, str]) -> None:
    """Starts the trained rows where the engine starts them (untrained rows from the mean of the trained rows)."""
    import torch
    from safetensors.torch import load_file

    rows = load_file(str(path))
    params = dict(model.named_parameters())
    with torch.no_grad():
        for key, name in matched.items():
            target = params[name]
            if tuple(target.shape) != tuple(rows[key].shape):
                raise JobError(f"{path.name}: '{key}' is {list(rows[key].shape)}, the parameter {name} is {list(target.shape)}.")
            target.copy_(rows[key].to(dtype=target.dtype, device=target.device))


def needs_final_evaluation(log_history: Sequence[Mapping[str, Any]], global_step: int) -> bool:
    """The engine always evaluates after the last step when evaluation is on; Trainer only when its schedule says so."""
    return not any("eval_loss" in entry and entry.get("step") == global_step for entry in log_history)


def describe_trainable(model) -> list[dict]:
    return [{"name": n, "dtype": str(p.dtype).replace("torch.", ""), "shape": list(p.shape)}
            for n, p in model.named_parameters() if p.requires_grad]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="train.py", description="Train an exported TrainableTokens job with Trainer + PEFT.")
    p.add_argument("--job", default=None, help="job.json (default: the one beside train.py)")
    p.add_argument("--model", default=None, help="base model folder (default: job.json's base_model)")
    p.add_argument("--output-dir", default=None, help="where the adapter and checkpoints go (default: <job>/output)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint-N in the output folder")
    p.add_argument("--overwrite-output-dir", action="store_true", help="replace an output folder train.py wrote before")
    p.add_argument("--dry-run", action="store_true", help="build everything, print the settings, do not train")
    p.add_argument("--allow-unknown-arguments", action="store_true",
                   help="run even when the installed transformers/peft reject some of the job's settings (they are dropped)")
    p.add_argument("--accelerate-config", default=None,
                   help="an accelerate config (accelerate/fsdp.yaml or deepspeed.yaml) to apply when launched by torchrun")
    return p.parse_args(argv)


def run(options: argparse.Namespace, env: Mapping[str, str]) -> int:
    job = load_job(options.job or Path(__file__).resolve().parent / "job.json")
    is_main = is_main_process(env)
    output_dir = Path(options.output_dir).resolve() if options.output_dir else job_file(job, job["training_arguments"].get("output_dir", "output")).resolve()
    # Only the main process clears the folder, so the others skip the check then: they could see it half removed.
    if options.overwrite_output_dir and not is_main:
        plan_dir = "clear"
    else:
        plan_dir = output_dir_plan(output_dir, options.resume, options.overwrite_output_dir)
    data = job["data"]
    train_examples = read_examples(job_file(job, data["train"]), "training")
    eval_examples = read_examples(job_file(job, data["eval"]), "evaluation") if data.get("eval") else None
    order = read_order(job_file(job, data["order"]), len(train_examples))
    check_early_stopping(job, eval_examples is not None)
    model_path = options.model or job["base_model"]
    model_moved = options.model is not None and os.path.abspath(options.model) != os.path.abspath(str(job["base_model"]))

    launched_by_accelerate = env.get("ACCELERATE_USE_FSDP") == "true" or env.get("ACCELERATE_USE_DEEPSPEED") == "true"
    if options.accelerate_config and launched_by_accelerate:
        print("train.py: note: --accelerate-config ignored: accelerate launch already applied its config.", file=sys.stderr)
    if options.accelerate_config and not launched_by_accelerate:
        import yaml

        config_path = Path(options.accelerate_config).resolve()
        extra = accelerate_env_from_config(yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}, config_path)
        os.environ.update(extra)
        env = {**env, **extra}

    precision = adapter_precision_plan(job, env)
    if precision["note"]:
        print(f"train.py: note: {precision['note']}", file=sys.stderr)
    versions = installed_versions()
    for w in version_warnings(versions):
        print(f"train.py: warning: {w}", file=sys.stderr)

    import torch
    import transformers
    import peft

    evaluate_first = bool(job.get("evaluate_before_training")) and eval_examples is not None and not options.resume
    arg_values = resolve_training_arguments(job, output_dir, evaluate_first)
    arg_values.update(precision["training_argument_overrides"])
    if precision["training_argument_overrides"]:
        print(f"train.py: note: TrainingArguments changed for this engine: {precision['training_argument_overrides']}", file=sys.stderr)
    # TrainingArguments before the model: under ZeRO-3 it tells from_pretrained to load the weights partitioned.
    training_args, used_args = build_training_arguments(arg_values, options.allow_unknown_arguments)
    if evaluate_first and "eval_on_start" not in used_args:
        raise JobError("this transformers has no eval_on_start, which the job's evaluation before training needs.")
    peft_config = build_peft_config(job, options.allow_unknown_arguments)

    if plan_dir == "clear" and not options.dry_run:
        # Every other process (on every machine) waits here until the main one has cleared the folder.
        with training_args.main_process_first(local=False, desc="clearing the output folder"):
            if is_main and output_dir.exists():
                shutil.rmtree(output_dir)
    # Seeded before the adapter is created, so LoRA's random A (and init_weights: false rows) repeat from run to run.
    transformers.set_seed(int(job["training_arguments"].get("seed", 42)))
    torch_dtype = getattr(torch, job["dtype"])
    model = transformers.AutoModelForCausalLM.from_pretrained(model_path, dtype=torch_dtype)
    model = peft.get_peft_model(model, peft_config, autocast_adapter_dtype=precision["autocast_adapter_dtype"])
    trainable = describe_trainable(model)
    if not trainable:
        raise JobError("the PEFT model has no trainable parameters: check peft_config's token indices and targets.")
    initial = job.get("initial_rows")
    started: list[str] = []
    if initial and not options.resume:
        rows_path = job_file(job, initial["file"])
        matched = match_initial_rows((n for n, p in model.named_parameters() if p.requires_grad), initial_row_keys(rows_path))
        started = sorted(matched)
        if not options.dry_run:
            apply_initial_rows(model, rows_path, matched)

    callbacks = []
    if job.get("early_stopping"):
        early = job["early_stopping"]
        callbacks.append(transformers.EarlyStoppingCallback(early_stopping_patience=int(early["patience"]),
                                                            early_stopping_threshold=float(early.get("threshold") or 0.0)))
    trainer_class = make_trainer_class()
    trainer = trainer_class(model=model, args=training_args, train_dataset=ListDataset(train_examples),
                            eval_dataset=ListDataset(eval_examples) if eval_examples is not None else None,
                            data_collator=PaddingCollator(int(data["pad_token_id"])), callbacks=callbacks)
    trainer.exact_order = ExactOrderSampler(order)

    settings = {"job": job["_path"], "method": job["method"], "base_model": model_path, "dtype": job["dtype"],
                "output_dir": str(output_dir), "output_dir_plan": plan_dir, "engine": precision["engine"],
                "float32_trainable": precision["float32_trainable"], "precision_note": precision["note"],
                "training_arguments": used_args, "peft_config": job["peft_config"], "trainable_parameters": trainable,
                "train_examples": len(train_examples), "eval_examples": len(eval_examples or []),
                "epochs_exported": len(order), "early_stopping": job.get("early_stopping"), "initial_rows": started,
                "versions": versions}
    if options.dry_run:
        if is_main:
            print(json.dumps(settings, indent=2, default=str))
        return 0

    result = trainer.train(resume_from_checkpoint=True if options.resume else None)
    if job.get("evaluate_after_training") and eval_examples is not None and needs_final_evaluation(trainer.state.log_history, trainer.state.global_step):
        trainer.evaluate()
    trainer.save_model(str(output_dir))
    if not is_main:
        return 0
    saved_config = json.loads((output_dir / "adapter_config.json").read_text(encoding="utf-8"))
    differences = compare_adapter_config(saved_config, job["adapter_config"], model_moved, dataclass_defaults(type(peft_config)))
    problems = check_saved_adapter(output_dir, token_count_of(job))
    unexpected = [d for d in differences if d["key"] != "base_model_name_or_path"]
    report = {"versions": versions, "adapter_config_differences": differences, "adapter_problems": problems,
              "train_loss": getattr(result, "training_loss", None), "global_step": getattr(result, "global_step", None),
              "float32_trainable": precision["float32_trainable"], "precision_note": precision["note"],
              "trainable_parameters": trainable, "log_history": trainer.state.log_history}
    (output_dir / RESULT_FILE).write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    for d in unexpected:
        print(f"train.py: error: adapter_config.json '{d['key']}' is {d['actual']!r}, expected {d['expected']!r}", file=sys.stderr)
    for p in problems:
        print(f"train.py: error: saved adapter: {p}", file=sys.stderr)
    return 3 if unexpected or problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        return run(options, dict(os.environ))
    except JobError as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
