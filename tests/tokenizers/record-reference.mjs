// Records the reference ids that the xunit tests compare TrainableTokens' tokenizer with. The ids come from
// Hugging Face's own JavaScript tokenizers (@huggingface/tokenizers, the tokenizer of transformers.js), an
// implementation independent of the Rust library the module uses; chat templates are rendered with
// @huggingface/jinja, the Jinja engine transformers.js uses for chat templates.
//
// usage (from this folder): npm ci && node record-reference.mjs ../fixtures/tokenizers
// or, for tokenizer folders elsewhere: node record-reference.mjs FIXTURE_DIR [OUT_FILE]
import fs from "node:fs";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";

const [root, outFile] = process.argv.slice(2);
if (!root) {
  console.error("usage: node record-reference.mjs FIXTURE_DIR [OUT_FILE]");
  process.exit(2);
}
const readJson = (p) => JSON.parse(fs.readFileSync(p, "utf8"));

// Varied text: unicode (composed and decomposed), emoji with joiners and flags, code, runs of spaces, tabs and
// newlines, numbers, contractions, and every family's special tokens written out.
export const strings = [
  "Hello world",
  "",
  " ",
  "\n",
  "a",
  "  leading spaces and trailing   ",
  "x                 y",
  "Tabs\tand\nnewlines\n\n\nand  \n  mixed\r\nCRLF\n\n\n\n\n\n\n",
  "unicode: naïve café, Zürich, Ελληνικά, русский, 日本語のテキスト, 한국어, العربية, हिन्दी",
  "decomposed: e\u0301 vs é, full width: Ａｂｃ１２３, no-break:\u00a0x, zero width:\u200bx",
  "emoji: 🤗🚀 👩‍👩‍👧 ✨ 🇩🇪 👍🏽 ❤️",
  "def square(x: int) -> int:\n    return x ** 2  # square\n\nfor i in range(10):\n\tprint(f\"{i}: {square(i)}\")\n",
  "const f = (a, b) => { return a?.b ?? [1, 2, 3].map(n => n * 2); };\n    // 4-space indent\n        deeper();",
  "numbers: 1234567890 3.14159 -42 1e-10 2024-11-26 100,000.00 0x1F",
  "CamelCaseIdentifiers and snake_case_names, don't won't it's I'M THEY'LL we'd",
  "URL https://example.com/path?q=1&r=2#frag and user@example.org",
  "specials: <s> </s> <unk> <|endoftext|> <|begin_of_text|> <|eot_id|> <|im_start|>user\nhi<|im_end|> <bos><start_of_turn>model\nok<end_of_turn>",
  "<think>Let me reason about this.</think>The answer is 42.",
  "Pre<think>x</think>post and <think> spaced </think> again",
];

// Tokens added to each tokenizer the way transformers' add_tokens does: the next free id, normalized unless special.
export const additions = [
  { content: "<think>", special: false },
  { content: "</think>", special: false },
  { content: "<|tool|>", special: true },
];

function withAddedTokens(tokenizerJson) {
  const json = structuredClone(tokenizerJson);
  const known = new Set([...Object.keys(json.model.vocab), ...json.added_tokens.map((a) => a.content)]);
  let next = [...Object.values(json.model.vocab), ...json.added_tokens.map((a) => a.id)].reduce((a, b) => Math.max(a, b), -1) + 1;
  const added = [];
  for (const a of additions) {
    if (known.has(a.content)) continue;
    const token = { id: next++, content: a.content, single_word: false, lstrip: false, rstrip: false, normalized: !a.special, special: a.special };
    json.added_tokens.push(token);
    added.push(token);
  }
  return { json, added };
}

function record(tokenizer) {
  return strings.map((text) => {
    const withSpecials = tokenizer.encode(text, { add_special_tokens: true }).ids;
    const plain = tokenizer.encode(text, { add_special_tokens: false });
    return {
      text,
      ids: withSpecials,
      ids_no_special: plain.ids,
      tokens_no_special: plain.tokens,
      decoded: withSpecials.length ? tokenizer.decode(withSpecials, { skip_special_tokens: false }) : "",
      decoded_skip_special: withSpecials.length ? tokenizer.decode(withSpecials, { skip_special_tokens: true }) : "",
    };
  });
}

// A ChatML template written for these tests (the shape Qwen2 and many fine-tunes use).
const chatmlTemplate =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const conversations = [
  [
    { role: "user", content: "What is 2+2?" },
    { role: "assistant", content: "It is 4." },
  ],
  [
    { role: "system", content: "You are terse." },
    { role: "user", content: "  Name a colour.  " },
    { role: "assistant", content: "Blue.\n" },
    { role: "user", content: "Another?" },
    { role: "assistant", content: "<think>\nThey want a second one.\n</think>\n\nRed." },
  ],
];

function renderChats(template, config) {
  const t = new Template(template);
  return conversations.map((messages) => ({
    messages,
    rendered: t.render({ messages, add_generation_prompt: false, bos_token: config.bos_token ?? "", eos_token: config.eos_token ?? "" }),
  }));
}

const result = { generator: "tests/tokenizers/record-reference.mjs", library: "@huggingface/tokenizers 0.2.0, @huggingface/jinja 0.5.11", tokenizers: {} };
for (const name of fs.readdirSync(root).filter((n) => fs.existsSync(path.join(root, n, "tokenizer.json"))).sort()) {
  const tokenizerJson = readJson(path.join(root, name, "tokenizer.json"));
  const config = readJson(path.join(root, name, "tokenizer_config.json"));
  const base = new Tokenizer(tokenizerJson, config);
  const { json, added } = withAddedTokens(tokenizerJson);
  const extended = new Tokenizer(json, config);
  const entry = { cases: record(base), added: { tokens: added, cases: record(extended) } };
  if (typeof config.chat_template === "string") entry.chat = renderChats(config.chat_template, config);
  entry.chatml = renderChats(chatmlTemplate, config);
  result.tokenizers[name] = entry;
  console.log(`${name}: ${strings.length} strings, added ${added.map((a) => `${a.content}=${a.id}`).join(" ") || "nothing"}`);
}
result.chatml_template = chatmlTemplate;
fs.writeFileSync(outFile ?? path.join(root, "reference-ids.json"), JSON.stringify(result, null, 1) + "\n");
