# An acceptance suite for Trainable Tokens adapters: one line per guarantee, with the Should operators the
# TrainableTokens module registers in Pester 5 (-ChangeOnlyTokens, -PredictToken, -LowerLossThan).
#   Invoke-Pester ./examples/acceptance        (TrainableTokens installed, or $env:TRAINABLETOKENS_MODULE set)
# It trains two adapters on the tiny models of examples/ (Llama 3's reserved tokens 10002 and 10003 stand in for
# <think> and </think>). To check an adapter trained elsewhere, set $env:TRAINABLETOKENS_ADAPTER to its folder.
BeforeAll {
    Import-Module $(if ($env:TRAINABLETOKENS_MODULE) { $env:TRAINABLETOKENS_MODULE } else { 'TrainableTokens' })
    $examples = Split-Path $PSScriptRoot
    $model = Join-Path $examples 'models/tiny-llama3'
    $data = Join-Path $examples 'data/quickstart.jsonl'
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-acceptance-$([guid]::NewGuid().ToString('N'))"
    $think = '<|reserved_special_token_0|>'

    # The quickstart run (examples/quickstart.run.yaml), its adapter, and the model with that adapter merged in. A CI
    # job that trained the quickstart adapter already (examples/ci) passes it in $env:TRAINABLETOKENS_ADAPTER.
    $adapter = if ($env:TRAINABLETOKENS_ADAPTER) { Get-TokenAdapter $env:TRAINABLETOKENS_ADAPTER } else {
        $training = Start-TokenTraining -Path (Join-Path $examples 'quickstart.run.yaml') -OutputPath (Join-Path $work 'quickstart') -MaxSteps 12 -LearningRate 0.05
        Get-TokenAdapter $training.AdapterFolder
    }
    $merged = (Merge-TokenAdapter -Model $model -Adapter $adapter.Path -OutputPath (Join-Path $work 'merged')).OutputPath

    # A model predicts a new token only once the LM head's row of it is trained. A tied model's head is its
    # embedding, and a tiny random one mostly repeats its last token, so this is shown on an untied copy of the tiny
    # Llama 3 (same tokenizer) with the head's rows trained too (-IncludeOutputHead), on questions answered with <think>.
    $untied = Join-Path $work 'untied'
    New-TinyModel llama $untied -Untied -VocabSize 10256 -HiddenSize 32 -IntermediateSize 64 -NumLayers 2 -Seed 2 | Out-Null
    Copy-Item (Join-Path $model 'tokenizer*.json') $untied
    $run = New-TrainableTokensConfig -Token $think, '<|reserved_special_token_1|>' -Model $untied -IncludeOutputHead `
        -Dataset (Join-Path $PSScriptRoot 'think.jsonl') -OutputDir (Join-Path $work 'think') -MaxSteps 30 -BatchSize 4 -MaxSeqLength 64 `
        -LearningRate 0.1 -Path (Join-Path $work 'think.run.yaml')
    $thinking = Get-TokenAdapter (Start-TokenTraining -Path $run.FullName).AdapterFolder
}
AfterAll {
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'The quickstart adapter' {
    It 'is a valid PEFT adapter with finite rows that fits its model' {
        Test-TokenAdapter -Adapter $adapter.Path | Where-Object Name -In 'PeftLayout', 'RowsFinite', 'MatchesModel' |
            ForEach-Object { $_.Passed | Should -BeTrue -Because "$($_.Name): $($_.Detail)" }
    }

    It 'changes only the rows of the two new tokens' {
        $adapter | Should -ChangeOnlyTokens 10002, 10003
    }

    It 'lowers the loss on its data' {
        $adapter | Should -LowerLossThan $model -Dataset $data
    }
}

Describe 'The merged quickstart model' {
    It 'differs from the base model only in the rows of the two new tokens' {
        $merged | Should -ChangeOnlyTokens 10002, 10003 -BaseModel $model
    }

    It 'scores the data as the adapter does' {
        $m = Measure-TokenModel -Model $merged -Dataset $data
        $a = Measure-TokenModel -Adapter $adapter.Path -Dataset $data
        [math]::Abs($m.Loss - $a.Loss) | Should -BeLessThan 1e-4
    }
}

Describe 'An adapter that teaches a model to think first' {
    It 'opens a thought after a question it was not trained on' {
        $thinking | Should -PredictToken $think -After 'Question: What is 3 + 5?'
    }

    It 'which the base model does not' {
        $untied | Should -Not -PredictToken $think -After 'Question: What is 3 + 5?'
    }

    It 'changes only the rows of its tokens, in the embedding and the head' {
        $thinking | Should -ChangeOnlyTokens 10002, 10003
    }

    It 'lowers the loss on its data' {
        Measure-TokenModel -Adapter $thinking.Path -Dataset (Join-Path $PSScriptRoot 'think.jsonl') |
            Should -LowerLossThan (Measure-TokenModel -Model $untied -Dataset (Join-Path $PSScriptRoot 'think.jsonl'))
    }
}
