"""LoRA and LoRA + trainable tokens adapters against Python PEFT, both ways (issue 14 item 4).

CASES_DIR is what `DeviceHarness lora-write` made (tests/device/prepare-device-run.sh packs it): per case a tiny
model/ (tied or untied), case.json (input ids and the PEFT LoraConfig fields, trainable_token_indices as a list or a
map), and, where this build supports the case, ours-adapter/ with our logits in ours-with-adapter.safetensors (else
not-supported.txt says why).
  1. ours -> PEFT: PeftModel.from_pretrained loads ours-adapter/ unchanged, with no missing or unexpected keys, and
     its logits equal ours.
  2. PEFT -> ours: PEFT builds the same LoraConfig itself (init_lora_weights=False, token rows moved off their
     initial copies), saves it to OUT_DIR/peft-lora/<case>/adapter/ with its logits, its merge_and_unload logits and
     its merged embedding rows in reference.safetensors; `DeviceHarness lora-check` compares ours with them.

usage: python3 check_lora_peft.py CASES_DIR OUT_DIR
"""
import json
import os
import sys
import traceback
import warnings

import peft
import torch
import transformers
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

TOL = 5e-5


def load(path):
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    except TypeError:  # transformers before 4.56 calls it torch_dtype
        model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32, attn_implementation="eager")
    return model.eval()


def logits_of(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits.float()


def ours_to_peft(name, d, case):
    if os.path.exists(os.path.join(d, "not-supported.txt")):
        print(f"n/s  ours->peft {name}: not supported by this build: {open(os.path.join(d, 'not-supported.txt')).read().strip()}")
        return 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = PeftModel.from_pretrained(load(os.path.join(d, "model")), os.path.join(d, "ours-adapter"))
    key_warnings = [str(w.message) for w in caught if "adapter keys" in str(w.message) or "unexpected" in str(w.message).lower()]
    ours = load_file(os.path.join(d, "ours-with-adapter.safetensors"))
    diff = (logits_of(model, case["input_ids"]) - ours["logits"]).abs().max().item()
    merged = (logits_of(model.merge_and_unload(), case["input_ids"]) - ours["merged_logits"]).abs().max().item()
    ok = diff <= TOL and merged <= TOL and not key_warnings
    print(f"{'ok  ' if ok else 'FAIL'} ours->peft {name}: logits max|diff| {diff:.3e}; PEFT's merge_and_unload against our merge "
          f"{merged:.3e}; key warnings {key_warnings or 'none'}")
    return 0 if ok else 1


def peft_made(name, d, case, out_dir):
    target = os.path.join(out_dir, "peft-lora", name)
    os.makedirs(target, exist_ok=True)
    json.dump(case, open(os.path.join(target, "case.json"), "w"))
    fields = dict(case["peft_config"])
    torch.manual_seed(2000 + len(name))
    model = get_peft_model(load(os.path.join(d, "model")), LoraConfig(init_lora_weights=False, **fields))
    with torch.no_grad():  # PEFT starts the token rows as copies of the base rows: move them so they matter
        for n, p in model.named_parameters():
            if "trainable_tokens_delta" in n:
                p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(os.path.join(target, "adapter"))
    ids = case["input_ids"]
    reference = {"logits": logits_of(model, ids).contiguous()}
    merged = model.merge_and_unload()
    reference["merged_logits"] = logits_of(merged, ids).contiguous()
    reference["merged_rows.embedding"] = merged.get_input_embeddings().weight.detach().float().contiguous()
    if merged.get_output_embeddings() is not None:
        reference["merged_rows.lm_head"] = merged.get_output_embeddings().weight.detach().float().contiguous()
    save_file(reference, os.path.join(target, "reference.safetensors"), metadata={"format": "pt", "peft": peft.__version__})
    with safe_open(os.path.join(target, "adapter", "adapter_model.safetensors"), "pt") as f:
        keys = sorted(f.keys())
    config = json.load(open(os.path.join(target, "adapter", "adapter_config.json")))
    print(f"     peft made {name}: {len(keys)} tensors, token keys {[k for k in keys if 'token' in k]}, "
          f"trainable_token_indices {config.get('trainable_token_indices')}")


def main(cases_dir, out_dir):
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}")
    failures = 0
    for name in sorted(os.listdir(cases_dir)):
        d = os.path.join(cases_dir, name)
        case = json.load(open(os.path.join(d, "case.json")))
        for part in (lambda: ours_to_peft(name, d, case), lambda: peft_made(name, d, case, out_dir)):
            try:
                failures += part() or 0
            except Exception as e:  # one case's error is reported, and the others still run
                failures += 1
                print(f"FAIL {name}: {type(e).__name__}: {e}")
                os.makedirs(os.path.join(out_dir, "peft-lora", name), exist_ok=True)
                with open(os.path.join(out_dir, "peft-lora", name, "error.txt"), "w") as f:
                    f.write(traceback.format_exc())
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
