@{
    Synopsis    = 'Runs a forward pass of a Hugging Face model folder and writes the logits and hidden states to a safetensors file.'
    Description = @(
        'Invoke-TokenModel loads the model in -Model (config.json plus model.safetensors or a sharded checkpoint with model.safetensors.index.json), runs the token ids in -InputId through it as one sequence, and writes the outputs to -OutFile as safetensors: logits of shape [1, seq, vocab] and hidden_states.0 to hidden_states.N of shape [1, seq, hidden], all float32 whatever dtype the model ran in. hidden_states.0 is the embedding output (after Gemma''s scaling, or GPT-2''s position embeddings), hidden_states.i the output of layer i, and the last one is after the final norm, as Hugging Face transformers returns them with output_hidden_states=True.'
        'Use it to debug, or to compare with Python: in transformers, AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)(torch.tensor([ids]), output_hidden_states=True) gives the same logits to float32 tolerance, and the same embedding output exactly.'
        'Supported architectures (config.json model_type): llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, gemma3 (the text model of a Gemma3ForConditionalGeneration folder), phi3, smollm3, olmo2, gpt2. The cmdlet writes the file atomically: a failed run leaves no partial file.'
    )
    Parameters  = @{
        Model   = 'The Hugging Face model folder: config.json and model.safetensors (or model.safetensors.index.json with its shards). Binds a piped object''s Path (New-TinyModel), OutputPath (Merge-TokenAdapter) or FullName (a folder).'
        InputId = 'The token ids of one sequence, each below the model''s vocab_size. ConvertTo-TokenId gives them for a text: (ConvertTo-TokenId ./model ''Hello'').Ids, and its output piped in binds by its Ids property.'
        OutFile = 'The safetensors file to write. Its folder must exist, and it must not lie inside -Model or -Adapter. An existing file is replaced only with -Force.'
        Dtype   = 'The dtype to run the model in: float32 (default, the most precise), bfloat16 or float16. The weights are converted on load; the file always holds float32.'
        Device  = 'The libtorch device to run on: cpu (default), or cuda / cuda:N with the CUDA build of the module.'
        Adapter = 'Binds a piped object''s AdapterFolder (Start-TokenTraining''s result). A Trainable Tokens adapter folder (adapter_config.json + adapter_model.safetensors, as PEFT''s save_pretrained or this module writes it) to apply on top of the model. Its token ids and shapes are checked against the model. An adapter that also trains an untied LM head (target_modules [embed_tokens, lm_head]) changes the logits of its tokens at every position; a head bias is kept. A tied model''s adapter may hold the head''s copy of the rows under lm_head (PEFT 0.20+ writes it, and so does this module); it must equal the embedding''s. A LoRA adapter (peft_type LORA, PEFT''s lora_A/lora_B pairs) is applied to its target projections instead; the kind is read from adapter_config.json.'
        Force   = 'Overwrite -OutFile if it exists.'
    }
    Inputs      = @(
        @{ Type = 'TrainableTokens.TokenIds'; Description = 'ConvertTo-TokenId''s output: Ids binds to -InputId. One output file per object.' }
        @{ Type = 'TrainableTokens.AdapterMergeResult'; Description = 'Merge-TokenAdapter''s output: OutputPath binds to -Model.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.ForwardCaptureResult'; Description = 'OutFile, ModelType, SequenceLength, VocabSize, HiddenSize, Dtype, the names of the tensors written, and the load and forward times in seconds.' }
    )
    Examples    = @(
        @{
            Title   = 'Keep the logits of a short sequence'
            Code    = @'
New-Item -ItemType Directory -Force ./out | Out-Null
Invoke-TokenModel -Model ./examples/models/tiny-llama -InputId 1, 15, 27, 3 -OutFile ./out/forward.safetensors
'@
            Remarks = 'Writes logits [1, 4, vocab] and hidden_states.0 .. hidden_states.N [1, 4, hidden] to forward.safetensors (its folder must exist).'
        }
        @{
            Title   = 'Compare with Python'
            Code    = @'
New-Item -ItemType Directory -Force ./out | Out-Null
Invoke-TokenModel -Model ./examples/models/tiny-llama -InputId 1, 15, 27, 3 -OutFile ./out/ours.safetensors -Force
# python: from safetensors.torch import load_file; ours = load_file("out/ours.safetensors")
#         ref = model(torch.tensor([[1, 15, 27, 3]]), output_hidden_states=True)
#         (ours["logits"] - ref.logits).abs().max()
'@
            Remarks = 'The logits agree with transformers to float32 tolerance; hidden_states.0 agrees exactly.'
        }
        @{
            Title   = 'See what an adapter changes'
            Code    = @'
New-Item -ItemType Directory -Force ./out | Out-Null
Invoke-TokenModel -Model ./examples/models/tiny-llama3 -InputId 9906, 10002, 1917 -OutFile ./out/base.safetensors
Invoke-TokenModel -Model ./examples/models/tiny-llama3 -InputId 9906, 10002, 1917 -OutFile ./out/adapted.safetensors -Adapter ./examples/adapters/quickstart
'@
            Remarks = 'The two files differ in hidden_states.0 only at the position of the adapter''s token 10002 (and in the logits from there on).'
        }
        @{
            Title   = 'Run in bfloat16 and see what would be written first'
            Code    = 'Invoke-TokenModel -Model ./examples/models/tiny-llama3 -InputId 2, 40, 41 -OutFile ./out/bf16.safetensors -Dtype bfloat16 -WhatIf'
            Remarks = '-WhatIf reports the file that would be written and writes nothing.'
        }
        @{
            Title   = 'Ids from the tokenizer, adapter from a training run'
            Code    = @'
$trained = Start-TokenTraining ./examples/quickstart.run.yaml -MaxSteps 4 -OutputPath ./out/adapter
ConvertTo-TokenId ./examples/models/tiny-llama3 'Hello <|reserved_special_token_0|>' |
    Invoke-TokenModel -Model ./examples/models/tiny-llama3 -Adapter $trained.AdapterFolder -OutFile ./out/adapted.safetensors
'@
            Remarks = 'A piped object''s Ids bind to -InputId, an AdapterFolder to -Adapter, and a Path or OutputPath (New-TinyModel''s and Merge-TokenAdapter''s results) to -Model.'
        }
    )
    Notes       = 'The model is loaded lazily from the safetensors files, tensor by tensor, straight into native memory.'
    Links       = @('Get-TrainableTokensEnvironment', 'about_TrainableTokens')
}
