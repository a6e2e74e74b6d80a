"""A stand-in for transformers (see ../README.md): TrainingArguments with 5.x names, a recording Trainer, and
AutoModelForCausalLM. Trainer.train runs the sampler over every epoch and collates the first batch of each, so the
test sees what a real loader would get; save_model writes the adapter files a PEFT save would."""
import contextlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any, Optional

__version__ = "5.17.0"
CALLS = {}
# What the fake save writes as adapter_config.json; a test sets it (None: the job's expected config).
SAVED_ADAPTER_CONFIG = {"value": None}


@dataclass
class TrainingArguments:
    output_dir: Optional[str] = None
    learning_rate: float = 5e-5
    weight_decay: float = 0.0
    lr_scheduler_type: str = "linear"
    warmup_steps: float = 0
    max_steps: int = -1
    num_train_epochs: float = 3.0
    per_device_train_batch_size: int = 8
    per_device_eval_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    max_grad_norm: float = 1.0
    seed: int = 42
    data_seed: Optional[int] = None
    gradient_checkpointing: bool = False
    gradient_checkpointing_kwargs: Optional[dict] = None
    eval_strategy: str = "no"
    eval_steps: Optional[float] = None
    eval_on_start: bool = False
    save_strategy: str = "steps"
    save_steps: float = 500
    save_total_limit: Optional[int] = None
    load_best_model_at_end: bool = False
    metric_for_best_model: Optional[str] = None
    greater_is_better: Optional[bool] = None
    logging_steps: float = 500
    logging_first_step: bool = False
    report_to: Any = "none"
    remove_unused_columns: bool = True
    dataloader_drop_last: bool = False
    optim: str = "adamw_torch_fused"
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    bf16: bool = False
    fp16: bool = False

    def __post_init__(self):
        CALLS["TrainingArguments"] = dict(self.__dict__)

    @contextlib.contextmanager
    def main_process_first(self, local=True, desc="work"):
        yield

    @property
    def should_save(self):
        return True


def set_seed(seed):
    CALLS["set_seed"] = seed


class FakeModel:
    def __init__(self, path, dtype):
        self.path, self.dtype = path, dtype


class AutoModelForCausalLM:
    @staticmethod
    def from_pretrained(path, **kwargs):
        CALLS["from_pretrained"] = {"path": path, **kwargs}
        return FakeModel(path, kwargs.get("dtype"))


class EarlyStoppingCallback:
    def __init__(self, early_stopping_patience=1, early_stopping_threshold=0.0):
        self.patience, self.threshold = early_stopping_patience, early_stopping_threshold


class TrainerState:
    def __init__(self):
        self.log_history = []


class TrainOutput:
    def __init__(self, global_step, training_loss):
        self.global_step, self.training_loss = global_step, training_loss


class Trainer:
    def __init__(self, model=None, args=None, train_dataset=None, eval_dataset=None, data_collator=None, callbacks=None, **kwargs):
        CALLS["Trainer"] = {"model": model, "args": args, "train_dataset": train_dataset, "eval_dataset": eval_dataset,
                            "data_collator": data_collator, "callbacks": callbacks, "kwargs": kwargs}
        self.model, self.args = model, args
        self.train_dataset, self.eval_dataset, self.data_collator = train_dataset, eval_dataset, data_collator
        self.state = TrainerState()
        self.is_deepspeed_enabled = False

    def train(self, resume_from_checkpoint=None):
        sampler = self._get_train_sampler(self.train_dataset)
        epochs, first_batches = [], []
        n = CALLS.get("epochs_to_run", 1)
        size = self.args.per_device_train_batch_size
        for epoch in range(n):
            sampler.set_epoch(epoch)
            order = list(sampler)
            epochs.append(order)
            first_batches.append(self.data_collator([self.train_dataset[i] for i in order[:size]]))
        CALLS["train"] = {"resume_from_checkpoint": resume_from_checkpoint, "epochs": epochs, "first_batches": first_batches}
        self.state.log_history.append({"loss": 1.5, "step": 1})
        return TrainOutput(global_step=1, training_loss=1.5)

    def save_model(self, output_dir=None, _internal_call=False):
        CALLS["save_model"] = output_dir
        os.makedirs(output_dir, exist_ok=True)
        config = SAVED_ADAPTER_CONFIG["value"]
        with open(os.path.join(output_dir, "adapter_config.json"), "w") as f:
            json.dump(config, f)
        header = json.dumps({"base_model.model.model.embed_tokens.trainable_tokens_delta":
                             {"dtype": "F32", "shape": [CALLS.get("rows", 2), 8], "data_offsets": [0, 0]}}).encode()
        with open(os.path.join(output_dir, "adapter_model.safetensors"), "wb") as f:
            f.write(struct.pack("<Q", len(header)) + header)
