"""Checks TrainableTokens' forward passes against Hugging Face transformers.

Each case folder holds model/ (a Hugging Face folder written by New-TinyModel), case.json
({"input_ids": [...], "dtype": "float32"|"bfloat16"}) and ours.safetensors (Invoke-TokenModel's output).
transformers loads model/ unchanged; its logits and hidden states are compared with ours and saved as
reference.safetensors under OUT/<case>/ so the xunit suite can check against them without Python.

usage: python3 check_against_transformers.py CASES_DIR OUT_DIR
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

LOGIT_TOL = {"float32": 5e-5, "bfloat16": 5e-2}


def main(cases_dir, out_dir):
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    failures = 0
    for name in sorted(os.listdir(cases_dir)):
        case_dir = os.path.join(cases_dir, name)
        case = json.load(open(os.path.join(case_dir, "case.json")))
        dtype = getattr(torch, case["dtype"])
        # Eager attention is the models' definition: the sdpa path drops Gemma 2's attention soft-cap.
        try:
            model = AutoModelForCausalLM.from_pretrained(os.path.join(case_dir, "model"), dtype=dtype, attn_implementation="eager")
        except TypeError:  # transformers before 4.56 calls it torch_dtype
            model = AutoModelForCausalLM.from_pretrained(os.path.join(case_dir, "model"), torch_dtype=dtype, attn_implementation="eager")
        model.eval()
        ids = torch.tensor([case["input_ids"]])
        with torch.no_grad():
            out = model(ids, output_hidden_states=True)
        ref = {"logits": out.logits.float().contiguous()}
        for i, h in enumerate(out.hidden_states):
            ref[f"hidden_states.{i}"] = h.float().contiguous()
        os.makedirs(os.path.join(out_dir, name), exist_ok=True)
        save_file(ref, os.path.join(out_dir, name, "reference.safetensors"), metadata={"format": "pt", "transformers": transformers.__version__})

        ours = load_file(os.path.join(case_dir, "ours.safetensors"))
        logit_diff = (ours["logits"] - ref["logits"]).abs().max().item()
        emb_diff = (ours["hidden_states.0"] - ref["hidden_states.0"]).abs().max().item()
        hidden_diffs = [
            (ours[f"hidden_states.{i}"] - ref[f"hidden_states.{i}"]).abs().max().item()
            for i in range(len(out.hidden_states)) if f"hidden_states.{i}" in ours
        ]
        same_count = len([k for k in ours if k.startswith("hidden_states.")]) == len(out.hidden_states)
        ok = logit_diff <= LOGIT_TOL[case["dtype"]] and (emb_diff <= 1e-6 if case["dtype"] == "float32" else emb_diff <= 1e-2) and same_count
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {name}: logits max|diff| {logit_diff:.3e}, hidden_states.0 {emb_diff:.3e}, "
              f"all hidden {max(hidden_diffs):.3e}, count ours/hf {len([k for k in ours if k.startswith('hidden_states.')])}/{len(out.hidden_states)}")
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
