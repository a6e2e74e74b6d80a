@{
    Synopsis    = 'Trains a Trainable Tokens adapter from a run file or config object: AdamW on the chosen embedding rows only, with progress, checkpoints and Ctrl+C.'
    Description = @(
        'Start-TokenTraining takes a run file (-Path) or a run config object from New-TrainableTokensConfig (-Config, also from the pipeline). Parameters such as -Model, -Dataset, -OutputPath, -LearningRate or -Resume replace the run''s values; each goes through the same checks as a value in the file, and a problem with one is reported under the parameter''s name (for example -LearningRate). Relative paths in a run file are relative to its folder; those of a config object and of parameters to the current location.'
        'The run is checked first, exactly as Test-TrainableTokensConfig does with the same parameters (schema, model, device, dataset tokenised with the model''s tokenizer, output folder, the checkpoint to resume from). Every error is written as an error record and nothing is trained or written. Warnings are written as warnings and training goes on. The run file is read and the dataset tokenised once: training uses what the check prepared.'
        'Training follows Hugging Face''s Trainer: the model is loaded in training.dtype on training.device, the dataset is tokenised as Measure-TokenDataset shows, and AdamW (betas 0.9/0.999, eps 1e-8, training.weight_decay) updates only the adapter''s rows. The learning rate warms up linearly (warmup_steps, or warmup_ratio of all steps) and then follows lr_scheduler_type (linear, cosine, constant, constant_with_warmup). Gradients of gradient_accumulation_steps batches add up before each step and are clipped to max_grad_norm. The loss is next-token cross-entropy over the labelled tokens, computed a chunk of positions at a time so the whole logits never exist at once; gradient_checkpointing: true recomputes each decoder layer in the backward pass to save activation memory (the same adapter, about one more forward per step). With dtype bfloat16 the adapter''s rows and AdamW''s state stay float32. The same seed gives the same run.'
        'A run file with a lora section trains a LoRA adapter instead (PEFT''s LoraConfig: A and B of each targeted projection, dropout on while training and off for evaluation); its checkpoints, resume, evaluation, metrics, best checkpoint and early stopping work as for token rows, and the adapter is written in PEFT''s LoRA format (peft_type LORA, base_model.model.<module>.lora_A.weight and lora_B.weight). A checkpoint resumes only into a run of the same method and LoRA settings.'
        'Every save_steps steps, and after the last step, a checkpoint is written to output_dir/checkpoint-N, keeping the save_total_limit most recent (and the best one); at the end the adapter (adapter_config.json and adapter_model.safetensors, PEFT''s format) is written into output_dir. Each folder and file appears complete or not at all, even under kill -9; what a killed run leaves (hidden partial folders, stale locks) is removed by the next run on the same output_dir. Ctrl+C stops after the current step; checkpoints already written stay, the final adapter is not written.'
        'Evaluation: eval_split holds out a seeded fraction of the examples, or eval_dataset names a file in the same formats as dataset. eval_strategy (no, steps, epoch; null picks steps when eval_steps is set, else epoch when there is evaluation data) and eval_steps (null: logging_steps) say when; the model is also evaluated before training and after the last step. Eval loss is the mean loss per labelled token; perplexity is its exponential. load_best_model_at_end writes the best checkpoint''s adapter (by metric_for_best_model, default eval_loss; greater_is_better as in Hugging Face) and needs eval_strategy steps with save_steps a multiple of eval_steps; rotation never deletes the best checkpoint. early_stopping_patience (with early_stopping_threshold) stops after that many evaluations without improvement.'
        'Metrics: output_dir/metrics.jsonl gets one line per logging step and per evaluation, each with step, epoch, loss (the mean over the logging interval), eval_loss, eval_perplexity, learning_rate, grad_norm, tokens_per_second and elapsed_seconds (null where a value does not apply); loss_curve.svg beside it draws train and eval loss by step. Both are rewritten atomically as the run goes.'
        'Resuming: a checkpoint holds the adapter, optimizer.safetensors (AdamW''s moments), rng_state.safetensors and trainer_state.json (Hugging Face''s fields, log_history included, plus the place in the data order and fingerprints of the model and the tokenised data). resume_from_checkpoint (a checkpoint folder, or latest) continues exactly: the same adapter, metrics (apart from timings), best checkpoint and early stopping as an uninterrupted run. A checkpoint of another run (other token ids, model, data, seed or batch size) is refused saying which differs; a damaged one is refused naming the file, and with latest the newest good checkpoint too.'
        'Nothing you own is lost: output_dir must not be, contain or lie inside the base model, the dataset or the run file. With -Force a previous run''s checkpoints and adapter are set aside, not deleted, until the new adapter is complete; a run that fails (a full disk, for example), is cancelled or is killed gets them back. Other files in output_dir are never touched. Only one run at a time may write an output_dir: a second one is refused with the holder''s process id, host and start time (the lock goes away by itself when that process ends).'
        'Progress shows the step, loss and learning rate; -Verbose writes a line every logging_steps steps. The output is a result object with Steps, TotalSteps, FirstLoss, FinalLoss, Seconds, TokensPerSecond, AdapterFolder, Checkpoints and, with evaluation, EvalLossBefore, EvalLoss, BestEvalLoss and Improved.'
    )
    Parameters  = @{
        Path           = 'The run file (YAML) to train. Relative paths inside it are relative to its folder. A file or path piped in is taken as the run file.'
        Config         = 'A run config object from New-TrainableTokensConfig (without -Path), from the pipeline or by name.'
        Model          = 'A Hugging Face model folder to use instead of the run''s training.base_model.'
        Dataset        = 'A dataset file (JSON Lines, or text) to use instead of the run''s training.dataset.'
        OutputPath     = 'The output folder to use instead of the run''s training.output_dir (alias OutputDir).'
        MaxSteps       = 'Optimizer steps to train, instead of the run''s training.max_steps.'
        NumTrainEpochs = 'Passes over the data, instead of the run''s training.num_train_epochs. Given alone, it also clears the run''s max_steps, which would otherwise win.'
        LearningRate   = 'The peak learning rate, instead of the run''s training.learning_rate.'
        BatchSize      = 'Examples per forward pass, instead of the run''s training.per_device_train_batch_size (alias PerDeviceTrainBatchSize).'
        Device         = 'cpu, cuda or cuda:N, instead of the run''s training.device.'
        Dtype          = 'float32, bfloat16 or float16, instead of the run''s training.dtype.'
        Seed           = 'The random seed, instead of the run''s training.seed.'
        Resume         = 'latest (the newest complete checkpoint-N in the output folder) or a checkpoint folder to continue from, instead of the run''s training.resume_from_checkpoint.'
        Force          = 'Allow output_dir to hold an earlier run (as overwrite_output_dir: true). Its checkpoints and adapter are replaced only once the new adapter is complete; a failed, cancelled or killed run puts them back. Other files in output_dir are never touched.'
    }
    Inputs      = @(
        @{ Type = 'TrainableTokens.RunConfig'; Description = 'A run config from New-TrainableTokensConfig.' }
        @{ Type = 'System.IO.FileInfo'; Description = 'A run file (for example from Get-Item).' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.TrainingResult'; Description = 'Steps, TotalSteps, Epochs, FirstLoss, FinalLoss (the last logged interval mean), Seconds, TokensPerSecond, TrainedTokens, TokenIndices, AdapterFolder, Checkpoints, Cancelled, Message; EvalLossBefore, EvalLoss (of the adapter written), BestEvalLoss, Improved (EvalLoss below EvalLossBefore), BestCheckpoint, EarlyStopped; LossHistory (the lines of metrics.jsonl), MetricsFile and LossCurveFile.' }
    )
    Examples    = @(
        @{
            Title   = 'Train the quickstart run'
            Code    = 'Start-TokenTraining ./examples/quickstart.run.yaml -Verbose'
            Remarks = 'Checks the run file, trains the two reserved-token rows of the tiny Llama 3 model and writes the adapter to out/quickstart-adapter (output_dir is relative to the run file).'
        }
        @{
            Title   = 'See what would happen, then train and replace an earlier result'
            Code    = @'
Start-TokenTraining ./examples/quickstart.run.yaml -OutputPath ./out/again -WhatIf
$result = Start-TokenTraining ./examples/quickstart.run.yaml -OutputPath ./out/again -MaxSteps 10 -Force
"{0:0.000} -> {1:0.000} in {2:0.0} s" -f $result.FirstLoss, $result.FinalLoss, $result.Seconds
'@
            Remarks = '-WhatIf runs every check and trains nothing. -Force replaces an earlier run''s checkpoints and adapter in output_dir once the new adapter is complete.'
        }
        @{
            Title   = 'Continue a run that was stopped or killed'
            Code    = @'
Start-TokenTraining ./examples/quickstart.run.yaml -OutputPath ./out/resumed -MaxSteps 10
Start-TokenTraining ./examples/quickstart.run.yaml -OutputPath ./out/resumed -MaxSteps 20 -Resume latest -Force
'@
            Remarks = 'Starts from the newest complete checkpoint-N in output_dir, with its rows, optimizer state, step and place in the data: the result equals an uninterrupted run.'
        }
        @{
            Title   = 'Train from a config object, with settings from the command line'
            Code    = @'
New-TrainableTokensConfig -TokenIndex 10002, 10003 -MaxSeqLength 64 |
    Start-TokenTraining -Model ./examples/models/tiny-llama3 -Dataset ./examples/data/quickstart.jsonl -OutputPath ./out/think -LearningRate 0.01 -MaxSteps 20
'@
            Remarks = 'No run file needed: the config object and the parameters make the run, checked as a file would be.'
        }
        @{
            Title   = 'Evaluate, keep the best adapter, and read the metrics'
            Code    = @'
# the quickstart run file holds out a quarter of the examples: eval_split: 0.25
$result = Start-TokenTraining ./examples/quickstart.run.yaml -OutputPath ./out/evaluated
$result | Select-Object EvalLossBefore, EvalLoss, Improved, BestCheckpoint
Get-Content $result.MetricsFile | ConvertFrom-Json | Where-Object eval_loss | Format-Table step, eval_loss, eval_perplexity
'@
            Remarks = 'Improved is true when the adapter written has a lower eval loss than the model before training. loss_curve.svg beside metrics.jsonl shows both losses by step.'
        }
        @{
            Title   = 'Train, inspect and merge'
            Code    = @'
$result = Start-TokenTraining ./examples/quickstart.run.yaml -OutputPath ./out/adapter
$result | Get-TokenAdapter
$result | Merge-TokenAdapter -OutputPath ./out/tiny-llama3-think
'@
            Remarks = 'The result''s AdapterFolder binds to Get-TokenAdapter''s and Merge-TokenAdapter''s adapter parameter; the merge takes the model from the adapter. The adapter is in PEFT''s format: PeftModel.from_pretrained in Python reads it too.'
        }
    )
    Notes       = 'A checkpoint is resumed only by a run with the same token ids, model, tokenised data, seed, batch size and gradient accumulation; max_steps and num_train_epochs may change. With eval_split the examples are split after tokenisation (with packing, chunks are split).'
    Links       = @('Test-TrainableTokensConfig', 'Measure-TokenDataset', 'Get-TokenAdapter', 'Merge-TokenAdapter', 'about_TrainableTokens')
}
