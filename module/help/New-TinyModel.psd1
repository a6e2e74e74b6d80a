@{
    Synopsis    = 'Writes a small random Hugging Face model folder, deterministic from a seed.'
    Description = @(
        'New-TinyModel writes config.json (with the fields transformers writes for the architecture) and model.safetensors, or a sharded checkpoint with model.safetensors.index.json, for a model of a few thousand parameters of any supported architecture (llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, gemma3, phi3, smollm3, olmo2, gpt2). A gemma3 folder is laid out as a Hub Gemma3ForConditionalGeneration checkpoint: the text model in text_config and under language_model.model., with a tiny vision_config and two vision-side tensors the text model never reads. The same seed and sizes give the same weights on every run.'
        'Use it to try the cmdlets without downloading anything, in Pester acceptance suites, and to check compatibility with Python: transformers'' AutoModelForCausalLM.from_pretrained loads the folder unchanged. The folder is written atomically: it appears complete or not at all.'
    )
    Parameters  = @{
        ModelType        = 'The architecture (config.json model_type): llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, gemma3, phi3, smollm3, olmo2 or gpt2.'
        Path             = 'The folder to create (missing parent folders are created). An existing folder is replaced only with -Force, and only if New-TinyModel wrote it or it is empty.'
        Seed             = 'The random seed of the weights (default 0).'
        Dtype            = 'The dtype the weights are saved in: float32 (default), bfloat16 or float16.'
        Tied             = 'Tie the LM head to the input embedding (no lm_head.weight in the checkpoint). Without -Tied or -Untied the architecture''s Hugging Face default applies (tied for the gemma family, smollm3 and gpt2).'
        Untied           = 'Give the LM head its own weight (lm_head.weight).'
        MaxShardBytes    = 'Split the checkpoint into shards of at most this many bytes, with model.safetensors.index.json, as save_pretrained does for large models.'
        VocabSize        = 'The vocabulary size (default 128).'
        HiddenSize       = 'The hidden size (default 64).'
        IntermediateSize = 'The MLP''s inner size (default 128).'
        NumLayers        = 'The number of decoder layers (default 2).'
        NumHeads         = 'The number of attention heads (default 4).'
        NumKeyValueHeads = 'The number of key/value heads for grouped-query attention (default 2; must divide -NumHeads; ignored for gpt2).'
        MaxPositions     = 'max_position_embeddings (n_positions for gpt2), default 128.'
        SlidingWindow    = 'The sliding-window size written to config.json: every layer of mistral and phi3, the upper half of qwen3''s layers (use_sliding_window), and the sliding layers of gemma2 and gemma3 (default 4096).'
        Tokenizer        = 'A model or tokenizer folder whose tokenizer files (tokenizer.json, tokenizer_config.json and the rest) are copied in, so the new model can be trained as it is: the vocabulary grows to the tokenizer''s size (an explicit -VocabSize smaller than that is an error), and config.json''s bos_token_id and eos_token_id come from the tokenizer.'
        Force            = 'Replace -Path if it exists and New-TinyModel wrote it.'
    }
    Inputs      = @(
        @{ Type = 'None'; Description = 'This cmdlet takes no pipeline input.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.TinyModel'; Description = 'Path, ModelType, VocabSize, HiddenSize, NumLayers, Dtype, TieWordEmbeddings and the files written.' }
    )
    Examples    = @(
        @{
            Title   = 'A tiny Llama to try things on'
            Code    = 'New-TinyModel llama ./out/tiny-llama -Seed 1'
            Remarks = 'Writes ./out/tiny-llama/config.json and model.safetensors.'
        }
        @{
            Title   = 'A sharded bfloat16 Gemma with a tied head'
            Code    = 'New-TinyModel gemma ./out/tiny-gemma -Dtype bfloat16 -MaxShardBytes 20000 -Force'
            Remarks = 'Splits the weights over several model-0000N-of-0000M.safetensors files listed in model.safetensors.index.json.'
        }
        @{
            Title   = 'A tiny model that trains as it is, with a real tokenizer'
            Code    = @'
New-TinyModel qwen2 ./out/tiny-qwen2 -Tokenizer ./examples/models/tiny-llama3 -Untied
New-TrainableTokensConfig -TokenIndex 10002, 10003 -Model ./out/tiny-qwen2 -IncludeOutputHead -MaxSeqLength 64 |
    Start-TokenTraining -Dataset ./examples/data/quickstart.jsonl -OutputPath ./out/tiny-qwen2-adapter -MaxSteps 20
'@
            Remarks = 'Without -Tokenizer a tiny model has no tokenizer.json, which training needs to tokenise the data.'
        }
        @{
            Title   = 'Run the new model'
            Code    = 'New-TinyModel qwen2 ./out/tiny-qwen2 -Force | Invoke-TokenModel -InputId 1, 2, 3 -OutFile ./out/q.safetensors'
            Remarks = 'The object on the pipeline carries the folder''s Path, which binds to -Model.'
        }
    )
    Notes       = 'Weights are N(0, 0.02) for projections, N(0, 0.5) for embeddings, and near 1 (near 0 for Gemma) for norm weights, so that every part of the forward pass matters in a comparison.'
    Links       = @('Invoke-TokenModel', 'about_TrainableTokens')
}
