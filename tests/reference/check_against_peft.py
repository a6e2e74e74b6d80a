"""Checks TrainableTokens adapters against Python PEFT, both ways.

For each case folder (New-AdapterCases.ps1):
  1. PeftModel.from_pretrained loads ours-adapter/ unchanged; its outputs equal ours-with-adapter.safetensors;
     transformers loads ours-merged/ (Merge-TokenAdapter) unchanged and its outputs equal PEFT's merge_and_unload.
  2. PEFT makes its own adapter (get_peft_model + TrainableTokensConfig, random rows) and saves it; we keep the
     folder, its outputs and its merged rows under OUT/peft-adapters/<case>/ for the xunit suite to check.

usage: python3 check_against_peft.py CASES_DIR OUT_DIR
"""
import json
import os
import sys
import warnings

import peft
import torch
import transformers
from peft import PeftModel, TrainableTokensConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

TOL = {"float32": 5e-5, "bfloat16": 5e-2}


def load(path, dtype):
    # Eager attention is the models' definition: the sdpa path drops Gemma 2's attention soft-cap.
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation="eager")
    except TypeError:
        model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=dtype, attn_implementation="eager")
    return model.eval()


def run(model, ids):
    with torch.no_grad():
        out = model(torch.tensor([ids]), output_hidden_states=True)
    return out.logits.float(), out.hidden_states[0].float()


def main(cases_dir, out_dir):
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}")
    failures = 0
    for name in sorted(os.listdir(cases_dir)):
        d = os.path.join(cases_dir, name)
        case = json.load(open(os.path.join(d, "case.json")))
        dtype = getattr(torch, case["dtype"])
        ids = case["input_ids"]
        tol = TOL[case["dtype"]]

        # 1. Our adapter in PEFT, with no "missing adapter keys" warning (tied heads' rows are saved twice, as PEFT does).
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            peft_model = PeftModel.from_pretrained(load(os.path.join(d, "model"), dtype), os.path.join(d, "ours-adapter"))
        key_warnings = [str(w.message) for w in caught if "adapter keys" in str(w.message)]
        logits, h0 = run(peft_model, ids)
        ours = load_file(os.path.join(d, "ours-with-adapter.safetensors"))
        d_logits = (logits - ours["logits"]).abs().max().item()
        d_h0 = (h0 - ours["hidden_states.0"]).abs().max().item()
        merged_peft = peft_model.merge_and_unload()
        m_logits, _ = run(merged_peft, ids)
        ours_merged = load(os.path.join(d, "ours-merged"), dtype)
        om_logits, _ = run(ours_merged, ids)
        d_merge = (m_logits - om_logits).abs().max().item()
        emb = merged_peft.get_input_embeddings().weight
        rows_equal = torch.equal(emb[case["token_indices"]], ours_merged.get_input_embeddings().weight[case["token_indices"]])
        ok = d_logits <= tol and d_h0 == 0 and d_merge <= tol and rows_equal and not key_warnings
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {name} ours->peft: logits {d_logits:.3e}, hidden_states.0 {d_h0:.3e}; "
              f"merged folder vs peft merge_and_unload: logits {d_merge:.3e}, merged rows identical {rows_equal}; "
              f"key warnings {key_warnings or 'none'}")

        # 2. PEFT's own adapter, for our tests.
        torch.manual_seed(1000 + len(name))
        base = load(os.path.join(d, "model"), dtype)
        config = TrainableTokensConfig(token_indices=case["token_indices"], target_modules=case.get("target_modules"), init_weights=False)
        made = get_peft_model(base, config)
        target = os.path.join(out_dir, "peft-adapters", name)
        made.save_pretrained(target)
        p_logits, p_h0 = run(made, ids)
        merged = made.merge_and_unload()
        reference = {"logits": p_logits.contiguous(), "hidden_states.0": p_h0.contiguous(),
                     "merged_rows.embedding": merged.get_input_embeddings().weight[case["token_indices"]].float().contiguous()}
        if merged.get_output_embeddings() is not None:
            reference["merged_rows.lm_head"] = merged.get_output_embeddings().weight[case["token_indices"]].float().contiguous()
        save_file(reference, os.path.join(target, "reference.safetensors"), metadata={"format": "pt", "peft": peft.__version__})
        json.dump(case, open(os.path.join(target, "case.json"), "w"))
        print(f"     {name}: PEFT adapter saved ({sorted(os.listdir(target))})")
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
