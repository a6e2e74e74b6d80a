@{
    Synopsis    = 'Generates text from a Hugging Face model folder, with zero or more Trainable Tokens adapters, using a KV cache.'
    Description = @(
        'Invoke-TokenGeneration encodes a prompt (-Prompt text, -InputId ids, or -Messages rendered with the tokenizer''s chat template and the opening of the assistant''s turn), loads the model in -Model with the adapters in -Adapter applied, and generates up to -MaxNewTokens tokens. The prompt runs once; each new token then costs one position, because the keys and values of earlier positions are kept in a cache (a sliding-window layer keeps only about its window). Greedy output is the same, id for id, as running the whole sequence again for every token and taking the argmax.'
        'Decoding is greedy (the default) or sampled: -Temperature above 0 samples from softmax(logits / temperature), restricted to the -TopK most likely tokens and then to the smallest set whose probability reaches -TopP, in that order, as transformers applies them. -TopK, -TopP or -Seed without -Temperature sample at temperature 1. A seeded run gives the same tokens every time on the same device and dtype; an unseeded sampled run reports the seed it drew in the result, so it can be repeated.'
        'Generation stops at an end-of-sequence id (config.json''s and generation_config.json''s eos_token_id, which may be a list, and the tokenizer''s eos token; with -Messages also the chat template''s end-of-turn token, such as <|eot_id|> or <|im_end|>; -EosTokenId replaces them all), at the first of the -Stop strings in the decoded output, or after -MaxNewTokens. The eos id stays in GeneratedIds but not in Text; Text ends before a stop string.'
        'Every check that needs no weights runs first, and each failure is an error record with its own id: PromptTooLong (the prompt, or the prompt plus -MaxNewTokens, passes GPT-2''s n_positions or a rope model''s max_position_embeddings), InvalidGenerationSettings (-MaxNewTokens below 1, -Temperature below 0, -TopK below 0, -TopP outside (0, 1], an empty stop string), ChatTemplateUnavailable (-Messages with a tokenizer that has no chat template, or one this module cannot render: plain ChatML, Qwen3, Llama 3 and Gemma templates are rendered), InvalidAdapter (an adapter whose rows do not fit the model''s hidden size or vocabulary, i.e. one trained for another model), OverlappingAdapters (two adapters training the same token).'
        'With -Stream, each piece of text is written to the host as soon as it is generated (the information stream, tag TokenStream, without line breaks; redirect it with 6> or silence it with -InformationAction Ignore). Text that could still turn out to be the start of a stop string, or half of a character whose bytes span two tokens, is held back until it cannot, so the streamed text is exactly the result''s Text. The pipeline gets the same single result object with or without -Stream, so a script''s output does not change. Without -Stream a progress bar counts the tokens. Ctrl+C stops after the current token.'
    )
    Parameters  = @{
        Model        = 'The Hugging Face model folder: config.json, model.safetensors (or a sharded checkpoint) and, for -Prompt, -Messages and -Stop, tokenizer.json with tokenizer_config.json.'
        Prompt       = 'The prompt text. It is encoded as transformers'' tokenizer(text) does, with the tokenizer''s special tokens (a bos token where the model adds one). Text can also come from the pipeline.'
        InputId      = 'The prompt as token ids, each below the model''s vocab_size (ConvertTo-TokenId gives them). Works without a tokenizer; the result''s Text is then empty unless the folder has one.'
        Messages     = 'A conversation: hashtables or objects with role (system, user or assistant) and content, such as @{ role = ''user''; content = ''Hi'' }. Rendered with the tokenizer''s chat template plus the assistant turn''s opening (add_generation_prompt), then encoded without adding special tokens again.'
        Adapter      = 'One or more adapter folders (adapter_config.json + adapter_model.safetensors, as PEFT or Start-TokenTraining writes them; Trainable Tokens or LoRA, by their peft_type), all applied at once. Their token ids must not overlap, and each must fit the model (hidden size, vocabulary).'
        MaxNewTokens = 'The most tokens to generate (default 64, at least 1). The prompt plus this must fit the model''s positions.'
        Temperature  = '0 (the default) decodes greedily; above 0 samples, lower values sharpening the distribution. Must be finite and not below 0.'
        TopK         = 'Sample only among the k most likely tokens; 0 (the default) means no limit. Not below 0.'
        TopP         = 'Nucleus sampling: sample among the most likely tokens whose probability adds up to at least this; 1 (the default) means all. Above 0 and at most 1.'
        Seed         = 'The sampling seed. The same seed, prompt, settings, device and dtype give the same tokens.'
        Stop         = 'Texts that end generation when the decoded output contains one; the result''s Text is cut before it and StoppedAt names it.'
        EosTokenId   = 'The ids that end generation, replacing the model''s own (see the description).'
        Stream       = 'Write each piece of text to the host as it is generated (information stream, tag TokenStream). The result object is still written at the end.'
        NoCache      = 'Run the whole sequence again for every new token instead of using the KV cache: much slower, and the reference the cache is tested against (greedy ids are the same). For checking, debugging and bench/Generation.Bench.ps1.'
        Dtype        = 'The dtype to run the model in: float32 (default), bfloat16 or float16.'
        Device       = 'The libtorch device: cpu (default), or cuda / cuda:N with the CUDA build of the module.'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'A prompt text (-Prompt) from the pipeline; each one is generated from in turn, with the model and adapters loaded once for the whole pipeline. A prompt that fails its checks is an error of its own and the others still run.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.Core.Generation.GenerationResult'; Description = 'Text, GeneratedIds, PromptIds, StopReason (EndOfSequence, StopString, MaxNewTokens), StoppedAt, PromptTokens, GeneratedTokens, PromptSeconds, GenerationSeconds, TokensPerSecond (after the prompt), Decoding (greedy or sampled), Seed, Model, Adapters and UsedCache. Its ToString() is Text.' }
    )
    Examples    = @(
        @{
            Title   = 'Continue a prompt greedily'
            Code    = 'Invoke-TokenGeneration -Model ./examples/models/tiny-llama3 -Prompt ''The tiny model'' -MaxNewTokens 8'
            Remarks = 'The tiny example model has random weights, so the text is nonsense, but the same prompt always gives the same text.'
        }
        @{
            Title   = 'Sample reproducibly, stream the text, stop at a string'
            Code    = 'Invoke-TokenGeneration ./examples/models/tiny-llama3 ''Question:'' -Temperature 0.8 -TopP 0.9 -Seed 42 -Stop ''.'' -MaxNewTokens 16 -Stream'
            Remarks = 'The text appears as it is generated; running the command again with the same seed gives the same text.'
        }
        @{
            Title   = 'Chat: render messages with the tokenizer''s chat template'
            Code    = @'
$messages = @(
    @{ role = 'system'; content = 'Answer briefly.' }
    @{ role = 'user'; content = 'What does <|reserved_special_token_0|> start?' }
)
Invoke-TokenGeneration ./examples/models/tiny-llama3 -Messages $messages -MaxNewTokens 12
'@
            Remarks = 'The prompt ends with the assistant header; <|eot_id|>, the template''s end of turn, also ends generation.'
        }
        @{
            Title   = 'Generate with ids and keep only the ids'
            Code    = '(Invoke-TokenGeneration ./examples/models/tiny-llama3 -InputId 1, 15, 27, 3 -MaxNewTokens 4).GeneratedIds'
            Remarks = 'Four ids, the greedy continuation of the prompt ids.'
        }
        @{
            Title   = 'See what a trained adapter changes'
            Code    = @'
$run = Start-TokenTraining ./examples/quickstart.run.yaml -OutputPath ./out/generation-example-adapter -Force
$prompt = 'What does <|reserved_special_token_0|> start?'
$before = Invoke-TokenGeneration ./examples/models/tiny-llama3 $prompt -MaxNewTokens 8
$after = Invoke-TokenGeneration ./examples/models/tiny-llama3 $prompt -MaxNewTokens 8 -Adapter $run.AdapterFolder
$before.Text; $after.Text
'@
            Remarks = 'Trains the quickstart adapter (a few seconds), then generates from the same prompt without and with it. Several adapters with disjoint tokens can be given at once: -Adapter ./a, ./b.'
        }
    )
    Notes       = 'Time per new token with the cache against re-running the whole sequence is recorded in bench/results/generation.md (bench/Generation.Bench.ps1). Greedy decoding takes the argmax of the model''s logits in its dtype, as transformers'' greedy search does.'
    Links       = @('Invoke-TokenModel', 'ConvertTo-TokenId', 'Start-TokenTraining', 'about_TrainableTokens')
}
