# Exports the training jobs the device checks run with Hugging Face's Trainer + PEFT (tests/device/check_job.py):
# the quickstart's Trainable Tokens run and a LoRA + trainable tokens run, on the tiny Llama 3 model in examples/,
# each as Export-TokenTrainingJob writes it for one process under FSDP. Needs the built module.
param([Parameter(Mandatory)] [string] $OutDir)
$ErrorActionPreference = 'Stop'
$root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
Import-Module (Join-Path $root 'out/TrainableTokens/TrainableTokens.psd1') -Force
$examples = Join-Path $root 'examples'
New-Item -ItemType Directory -Force $OutDir | Out-Null
$scratch = Join-Path ([IO.Path]::GetTempPath()) "tt-jobcases-$([guid]::NewGuid().ToString('N'))"
New-Item -ItemType Directory $scratch | Out-Null
try {
    $lora = Join-Path $scratch 'lora-tokens.run.yaml'
    (Get-Content -Raw (Join-Path $examples 'lora.run.yaml')).
        Replace('./models/tiny-llama3', (Join-Path $examples 'models/tiny-llama3')).
        Replace('./data/quickstart.jsonl', (Join-Path $examples 'data/quickstart.jsonl')).
        Replace('../out/lora-adapter', (Join-Path $scratch 'unused')).
        Replace('  init_lora_weights: true', "  init_lora_weights: true`n  trainable_token_indices: [10002, 10003]") | Set-Content $lora
    Export-TokenTrainingJob (Join-Path $examples 'quickstart.run.yaml') -OutputPath (Join-Path $OutDir 'tokens-fsdp') -WarningAction SilentlyContinue
    Export-TokenTrainingJob $lora -OutputPath (Join-Path $OutDir 'lora-tokens-fsdp') -WarningAction SilentlyContinue
}
finally { Remove-Item -Recurse -Force $scratch -ErrorAction SilentlyContinue }
