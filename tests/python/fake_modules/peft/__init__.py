"""A stand-in for peft (see ../README.md): the two config classes train.py builds and get_peft_model."""
from dataclasses import dataclass, field
from typing import Optional, Union

__version__ = "0.21.0"
CALLS = {}


@dataclass
class TrainableTokensConfig:
    token_indices: list = field(default_factory=list)
    target_modules: Optional[Union[list, str]] = None
    init_weights: bool = True
    task_type: Optional[str] = None


@dataclass
class LoraConfig:
    r: int = 8
    lora_alpha: int = 8
    lora_dropout: float = 0.0
    target_modules: Optional[Union[list, str]] = None
    exclude_modules: Optional[Union[list, str]] = None
    use_rslora: bool = False
    bias: str = "none"
    init_lora_weights: Union[bool, str] = True
    layers_to_transform: Optional[Union[list, int]] = None
    layers_pattern: Optional[Union[list, str]] = None
    rank_pattern: Optional[dict] = field(default_factory=dict)
    alpha_pattern: Optional[dict] = field(default_factory=dict)
    modules_to_save: Optional[list] = None
    trainable_token_indices: Optional[Union[list, dict]] = None
    ensure_weight_tying: bool = False
    task_type: Optional[str] = None


class FakeParameter:
    def __init__(self, dtype, shape, requires_grad):
        self.dtype, self.shape, self.requires_grad = dtype, tuple(shape), requires_grad


class FakePeftModel:
    def __init__(self, model, config, autocast):
        import torch

        self.base = model
        self.peft_config = config
        rows = len(getattr(config, "token_indices", None) or getattr(config, "trainable_token_indices", None) or [])
        self._params = [
            ("base_model.model.model.embed_tokens.base_layer.weight", FakeParameter(model.dtype, (32, 8), False)),
            ("base_model.model.model.embed_tokens.trainable_tokens_delta.default",
             FakeParameter(torch.float32 if autocast else model.dtype, (rows, 8), True)),
        ]

    def named_parameters(self):
        return iter(self._params)


def get_peft_model(model, peft_config, autocast_adapter_dtype=True, **kwargs):
    CALLS["get_peft_model"] = {"model": model, "config": peft_config, "autocast_adapter_dtype": autocast_adapter_dtype}
    return FakePeftModel(model, peft_config, autocast_adapter_dtype)
