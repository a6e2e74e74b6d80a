@{
    Synopsis    = 'Trains a Trainable Tokens adapter from a run file: AdamW on the chosen embedding rows only, with progress, checkpoints and Ctrl+C.'
    Description = @(
        'Start-TokenTraining checks the run file first, exactly as Test-TrainableTokensConfig does (schema, model, device, dataset tokenised with the model''s tokenizer, output folder). Every error is written as an error record and nothing is trained or written. Warnings are written as warnings and training goes on.'
        'Training follows Hugging Face''s Trainer: the model is loaded in training.dtype on training.device, the dataset is tokenised as Measure-TokenDataset shows, and AdamW (betas 0.9/0.999, eps 1e-8, training.weight_decay) updates only the adapter''s rows. The learning rate warms up linearly (warmup_steps, or warmup_ratio of all steps) and then follows lr_scheduler_type (linear, cosine, constant, constant_with_warmup). Gradients of gradient_accumulation_steps batches add up before each step and are clipped to max_grad_norm. The loss is next-token cross-entropy over the labelled tokens. The same seed gives the same run.'
        'Every save_steps steps a checkpoint is written to output_dir/checkpoint-N, keeping the save_total_limit most recent; at the end the adapter (adapter_config.json and adapter_model.safetensors, PEFT''s format) is written into output_dir. Each folder and file appears complete or not at all. Ctrl+C stops after the current step; checkpoints already written stay, the final adapter is not written.'
        'Progress shows the step, loss and learning rate; -Verbose writes a line every logging_steps steps. The output is a result object with Steps, TotalSteps, FirstLoss, FinalLoss, Seconds, TokensPerSecond, AdapterFolder and Checkpoints.'
    )
    Parameters  = @{
        Path  = 'The run file (YAML) to train. Relative paths inside it are relative to its folder.'
        Model = 'A Hugging Face model folder to train on instead of the run file''s training.base_model.'
        Force = 'Allow output_dir to exist and hold files (as overwrite_output_dir: true); its content is replaced when the first checkpoint or the adapter is written.'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'A run file path, by the Path or FullName property (for example from Get-Item).' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.Core.Training.TrainingResult'; Description = 'Steps, TotalSteps, Epochs, FirstLoss, FinalLoss, Seconds, TokensPerSecond, TrainedTokens, TokenIndices, AdapterFolder, Checkpoints, Cancelled and Message.' }
    )
    Examples    = @(
        @{
            Title   = 'Train the quickstart run'
            Code    = 'Start-TokenTraining ./examples/quickstart.run.yaml -Verbose'
            Remarks = 'Checks the run file, trains the two reserved-token rows of the tiny Llama 3 model and writes the adapter to out/quickstart-adapter.'
        }
        @{
            Title   = 'See what would happen, then train on another model and replace an earlier result'
            Code    = @'
Start-TokenTraining ./run.yaml -Model ./models/llama -WhatIf
$result = Start-TokenTraining ./run.yaml -Model ./models/llama -Force
"{0:0.000} -> {1:0.000} in {2:0.0} s" -f $result.FirstLoss, $result.FinalLoss, $result.Seconds
'@
            Remarks = '-WhatIf runs every check and trains nothing. -Force replaces the content of an existing output_dir.'
        }
        @{
            Title   = 'Train, inspect and merge'
            Code    = @'
$result = Start-TokenTraining ./run.yaml
Get-TokenAdapter $result.AdapterFolder
Merge-TokenAdapter -Model ./models/llama -Adapter $result.AdapterFolder -OutputPath ./models/llama-think
'@
            Remarks = 'The adapter is in PEFT''s format: PeftModel.from_pretrained in Python reads it too.'
        }
    )
    Notes       = 'eval_split and resume_from_checkpoint are not used by this version yet: all examples are trained on, and a run file with resume_from_checkpoint is refused.'
    Links       = @('Test-TrainableTokensConfig', 'Measure-TokenDataset', 'Get-TokenAdapter', 'Merge-TokenAdapter', 'about_TrainableTokens')
}
