"""Checks TrainableTokens' tokenizer work against Python's Hugging Face stack (transformers and the tokenizers
bindings, i.e. Rust tokenizers). Needs no network.

1. For every tokenizer folder under each ROOT that has a reference-ids.json (written by record-reference.mjs with
   the JavaScript tokenizers, which the xunit suite compares the module with): the ids of tokenizer(text) with and
   without special tokens, decode with and without skip_special_tokens, the same after add_tokens, and the chat
   template rendered by transformers' apply_chat_template (real Jinja).
2. For every folder listed in CASES/manifest.json (written by New-DeviceCases.ps1 with Add-TokenizerToken):
   AutoTokenizer loads it and gives the new tokens the reported ids; AutoModelForCausalLM loads it, old embedding
   (and LM head) rows equal the source model's bit for bit, new rows follow the chosen initialisation, and a
   forward pass over the new ids runs.

usage: python3 check_with_transformers.py CASES ROOT [ROOT...]
"""
import json
import os
import sys

import tokenizers
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL", what)
    return ok


def load_tokenizer(folder):
    try:
        return AutoTokenizer.from_pretrained(folder), "AutoTokenizer"
    except Exception as e:  # e.g. a tokenizer_class transformers does not know (GPT3_5Tokenizer)
        print(f"  AutoTokenizer failed on {folder} ({type(e).__name__}: {str(e)[:120]}); using PreTrainedTokenizerFast")
        config = json.load(open(os.path.join(folder, "tokenizer_config.json")))
        specials = {k: config[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token") if isinstance(config.get(k), str)}
        return PreTrainedTokenizerFast(tokenizer_file=os.path.join(folder, "tokenizer.json"), **specials), "PreTrainedTokenizerFast"


def compare_cases(name, tok, cases, label):
    bad = 0
    for c in cases:
        text = c["text"]
        ok = tok(text)["input_ids"] == c["ids"]
        ok &= tok(text, add_special_tokens=False)["input_ids"] == c["ids_no_special"]
        if c["ids"]:
            ok &= tok.decode(c["ids"], skip_special_tokens=False) == c["decoded"]
            ok &= tok.decode(c["ids"], skip_special_tokens=True) == c["decoded_skip_special"]
        if not ok:
            bad += 1
            print(f"  mismatch {name} {label}: {json.dumps(text)[:60]} hf={tok(text)['input_ids'][:12]} ref={c['ids'][:12]} "
                  f"dec={json.dumps(tok.decode(c['ids']))[:60] if c['ids'] else ''} ref={json.dumps(c['decoded'])[:60]}")
    check(bad == 0, f"{name} {label}: {bad}/{len(cases)} strings differ")
    return len(cases) - bad


def check_root(root):
    reference = json.load(open(os.path.join(root, "reference-ids.json")))
    for name, entry in sorted(reference["tokenizers"].items()):
        folder = os.path.join(root, name)
        tok, how = load_tokenizer(folder)
        raw = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        raw.no_truncation()
        raw.no_padding()
        raw_ok = sum(raw.encode(c["text"]).ids == c["ids"] and raw.encode(c["text"], add_special_tokens=False).ids == c["ids_no_special"] for c in entry["cases"])
        check(raw_ok == len(entry["cases"]), f"{name}: tokenizers {tokenizers.__version__} {raw_ok}/{len(entry['cases'])}")
        same = compare_cases(name, tok, entry["cases"], how)
        ids = []
        for a in entry["added"]["tokens"]:
            tok.add_tokens([a["content"]], special_tokens=a["special"])
            ids.append(tok.convert_tokens_to_ids(a["content"]))
        check(ids == [a["id"] for a in entry["added"]["tokens"]], f"{name}: add_tokens ids {ids}")
        added_same = compare_cases(name, tok, entry["added"]["cases"], how + " after add_tokens")
        chat = ""
        if "chat" in entry:
            tok2, _ = load_tokenizer(folder)
            rendered = [tok2.apply_chat_template(c["messages"], tokenize=False, add_generation_prompt=False) for c in entry["chat"]]
            chat_ok = sum(r == c["rendered"] for r, c in zip(rendered, entry["chat"]))
            for r, c in zip(rendered, entry["chat"]):
                if r != c["rendered"]:
                    print("  chat differs:", json.dumps(r)[:300], "\n  ours:", json.dumps(c["rendered"])[:300])
            check(chat_ok == len(entry["chat"]), f"{name}: chat template {chat_ok}/{len(entry['chat'])}")
            chat = f", chat template {chat_ok}/{len(entry['chat'])}"
        print(f"{name} ({how}): {same}/{len(entry['cases'])} strings, after add_tokens {added_same}/{len(entry['added']['cases'])}, "
              f"raw tokenizers {raw_ok}/{len(entry['cases'])}{chat}")


def check_cases(cases_dir):
    manifest = json.load(open(os.path.join(cases_dir, "manifest.json")))
    for case in manifest:
        out = os.path.join(cases_dir, case["output"])
        tok = AutoTokenizer.from_pretrained(out)
        got = {t["Token"]: tok.convert_tokens_to_ids(t["Token"]) for t in case["tokens"]}
        check(all(got[t["Token"]] == t["Id"] for t in case["tokens"]), f"{case['name']}: AutoTokenizer ids {got}")
        check(len(tok) == case["tokenizer_size"], f"{case['name']}: len(tokenizer) {len(tok)} != {case['tokenizer_size']}")
        if case.get("source_model") is None:
            print(f"{case['name']}: tokenizer-only folder loads, ids {got}")
            continue
        src = AutoModelForCausalLM.from_pretrained(os.path.join(cases_dir, case["source_model"]))
        dst = AutoModelForCausalLM.from_pretrained(out)
        old, new = src.get_input_embeddings().weight.data, dst.get_input_embeddings().weight.data
        n_old = old.shape[0]
        check(new.shape[0] == case["vocab_size"] == dst.config.vocab_size, f"{case['name']}: embedding rows {new.shape[0]}, config {dst.config.vocab_size}, expected {case['vocab_size']}")
        check(torch.equal(old, new[:n_old]), f"{case['name']}: old embedding rows changed")
        heads = [(src.get_output_embeddings().weight.data, dst.get_output_embeddings().weight.data)] if not dst.config.tie_word_embeddings else []
        for o, nw in heads:
            check(nw.shape[0] == case["vocab_size"] and torch.equal(o, nw[:n_old]), f"{case['name']}: LM head old rows or size")
        for o, nw in [(old, new)] + heads:
            for t in case["tokens"]:
                row = nw[t["Id"]]
                if case["init"] == "Mean":
                    ok = torch.equal(row, o.float().mean(0).to(o.dtype))
                elif case["init"] == "Copy":
                    ok = torch.equal(row, o[tok.convert_tokens_to_ids(case["init_value"])])
                elif case["init"] == "Text":
                    ids = tok(case["init_value"], add_special_tokens=False)["input_ids"]
                    ok = torch.equal(row, o[ids].float().mean(0).to(o.dtype))
                else:
                    ok = 0.005 < row.float().std().item() < 0.05
                check(ok, f"{case['name']}: row {t['Id']} does not follow {case['init']}")
            for pad in range(n_old + len(case["tokens"]), case["vocab_size"]):
                check(torch.equal(nw[pad], o.float().mean(0).to(o.dtype)), f"{case['name']}: padding row {pad} is not the mean")
        ids = torch.tensor([[1, 2] + [t["Id"] for t in case["tokens"]]])
        with torch.no_grad():
            logits = dst(ids).logits
        check(logits.shape[-1] == case["vocab_size"] and torch.isfinite(logits).all().item(), f"{case['name']}: forward over new ids")
        print(f"{case['name']}: transformers loads it; vocab {n_old} -> {new.shape[0]} ({dst.config.model_type}, {new.dtype}, "
              f"tied={dst.config.tie_word_embeddings}); old rows identical; new rows {case['init']}; forward ok")


def main(cases_dir, roots):
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, tokenizers {tokenizers.__version__}")
    for root in roots:
        check_root(root)
    if os.path.exists(os.path.join(cases_dir, "manifest.json")):
        check_cases(cases_dir)
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
