#!/usr/bin/env python3
"""Writes the seed corpus (tests/fuzz/seeds/<target>/) from the repo's real fixtures, cut down to a few KB each so
afl-fuzz mutates structure rather than spending its time inside a 2 MB vocabulary. Rerun after changing fixtures:
    python3 tests/fuzz/make-seeds.py
"""
import json
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEEDS = os.path.join(ROOT, "tests", "fuzz", "seeds")
TOKENIZERS = os.path.join(ROOT, "tests", "fixtures", "tokenizers")
KEEP = 300  # vocabulary ids kept: all 256 byte-level tokens and a few merges


def write(target, name, data):
    folder = os.path.join(SEEDS, target)
    os.makedirs(folder, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(folder, name), mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": "\n"})) as f:
        f.write(data)


def dumps(value, indent=None):
    return json.dumps(value, ensure_ascii=False, indent=indent)


def trim_tokenizer(name):
    with open(os.path.join(TOKENIZERS, name, "tokenizer.json"), encoding="utf-8") as f:
        t = json.load(f)
    model = t["model"]
    vocab = {p: i for p, i in model["vocab"].items() if i < KEEP}
    merges = []
    for m in model.get("merges") or []:
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(m)
    model["vocab"] = vocab
    model["merges"] = merges[:60]
    # Added tokens get ids right after the kept vocabulary (those inside it keep theirs); the post-processor follows.
    remap, added, next_id = {}, [], KEEP
    for a in t["added_tokens"][:6]:
        new = a["id"] if a["id"] < KEEP else next_id
        next_id += a["id"] >= KEEP
        remap[a["id"]] = new
        added.append(dict(a, id=new))
    t["added_tokens"] = added
    pp = t.get("post_processor")
    if pp and pp.get("type") == "TemplateProcessing":
        for s in pp["special_tokens"].values():
            s["ids"] = [remap.get(i, i) for i in s["ids"]]
    return t, remap


def trim_config(name, remap):
    path = os.path.join(TOKENIZERS, name, "tokenizer_config.json")
    with open(path, encoding="utf-8") as f:
        c = json.load(f)
    decoder = c.get("added_tokens_decoder")
    if isinstance(decoder, dict):
        c["added_tokens_decoder"] = {str(remap.get(int(k), int(k))): v for k, v in list(decoder.items())[:6]}
    if isinstance(c.get("chat_template"), str) and len(c["chat_template"]) > 6000:
        c["chat_template"] = c["chat_template"][:6000]
    return c


def tokenizer_seeds():
    for name in sorted(os.listdir(TOKENIZERS)):
        if not os.path.isdir(os.path.join(TOKENIZERS, name)):
            continue
        t, remap = trim_tokenizer(name)
        write("tokenizer-json", f"{name}.json", dumps(t, indent=1))
        write("tokenizer-config", f"{name}.json", dumps(trim_config(name, remap), indent=2))
        if name == "llama2":
            # The fixed tokenizer.json the tokenizer-config harness loads beside each input.
            harness = os.path.join(ROOT, "tests", "fuzz", "Harnesses", "Data")
            os.makedirs(harness, exist_ok=True)
            with open(os.path.join(harness, "llama2-tokenizer.json"), "w", encoding="utf-8", newline="\n") as f:
                f.write(dumps(t, indent=1))
    # Small synthetic shapes the real fixtures lack: WordLevel, Unigram, WordPiece.
    write("tokenizer-json", "wordlevel.json", dumps({
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 5, "content": "[PAD]", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}],
        "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}, "decoder": None,
        "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "hello": 1, "[CLS]": 2, "[SEP]": 3, "world": 4}, "unk_token": "[UNK]"}}, indent=1))
    write("tokenizer-json", "unigram.json", dumps({
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
        "normalizer": None, "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": None, "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": False,
                  "vocab": [["<unk>", 0.0], ["\u2581", -1.0], ["\u2581hello", -2.0], ["\u2581world", -2.5], ["h", -3.0], ["e", -3.0], ["l", -3.0], ["o", -3.0]]}}, indent=1))
    write("tokenizer-json", "wordpiece.json", dumps({
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": None, "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                  "vocab": {"[UNK]": 0, "hello": 1, "world": 2, "##s": 3}}}, indent=1))


def copy(target, source, name=None):
    folder = os.path.join(SEEDS, target)
    os.makedirs(folder, exist_ok=True)
    shutil.copyfile(os.path.join(ROOT, source), os.path.join(folder, name or os.path.basename(source)))


def safetensors_header(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        length = struct.unpack("<Q", f.read(8))[0]
        return length, f.read(length)


def safetensors_seeds():
    # Real headers with a data section of zeros cut to at most 4 KB: the header's offsets are kept as they are, so
    # most seeds are (correctly) truncated files, and one tiny real file is kept whole.
    copy("safetensors-header", "tests/fixtures/peft-adapters/gemma-bf16/adapter/adapter_model.safetensors", "gemma-adapter.safetensors")
    for case in ("gpt2-f32", "llama-bf16", "qwen2-f32-tied"):
        length, header = safetensors_header(f"tests/fixtures/reference/{case}/model/model.safetensors")
        write("safetensors-header", f"{case}.safetensors", struct.pack("<Q", length) + header + bytes(64))
    tiny = json.dumps({"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                       "b": {"dtype": "BF16", "shape": [3], "data_offsets": [16, 22]}}).encode()
    tiny += b" " * (-len(tiny) % 8)
    write("safetensors-header", "tiny.safetensors", struct.pack("<Q", len(tiny)) + tiny + bytes(22))


def main():
    shutil.rmtree(SEEDS, ignore_errors=True)
    tokenizer_seeds()
    safetensors_seeds()
    for case in ("gpt2-f32", "llama-f32-tied-llama3rope-bias-hd32", "mistral-f32-window4", "gemma-bf16-hd32", "qwen2-f32-tied"):
        copy("config-json", f"tests/fixtures/reference/{case}/model/config.json", f"{case}.json")
    # The architectures and rope layouts of issue 11, as their released checkpoints write them.
    for name in ("qwen3-8b", "gemma-2-2b", "gemma-3-1b", "gemma-3-4b", "phi-4-mini", "smollm3-3b", "olmo-2-7b"):
        copy("config-json", f"tests/fixtures/configs/{name}/config.json", f"{name}.json")
    for case in sorted(os.listdir(os.path.join(ROOT, "tests/fixtures/peft-adapters"))):
        copy("adapter-config", f"tests/fixtures/peft-adapters/{case}/adapter/adapter_config.json", f"{case}.json")
    copy("run-yaml", "examples/quickstart.run.yaml")
    copy("dataset-jsonl", "examples/data/quickstart.jsonl")
    # Shapes the example lacks: a list of target modules in block style, and every record kind with odd but valid text.
    write("run-yaml", "lists.run.yaml", "trainable_tokens:\n  token_indices:\n    - 5\n    - 6\n  target_modules: [embed_tokens, lm_head]\n"
          "  init_weights: false\ntraining:\n  base_model: ./m\n  dataset: ./d.jsonl\n  output_dir: ./out\n  max_steps: 4\n  dtype: bfloat16\n")
    write("dataset-jsonl", "kinds.jsonl", "\n".join(dumps(r) for r in [
        {"text": "caf\u00e9 \u2581 \U0001F600 \\n"},
        {"prompt": "Q?", "completion": "A."},
        {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]},
    ]) + "\n\n")


if __name__ == "__main__":
    main()
