BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-measure-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    $model = Join-Path $examples 'models/tiny-llama3'
    $data = Join-Path $examples 'data/quickstart.jsonl'
    # The quickstart run, evaluated on the whole dataset (eval_dataset) before and after training.
    $runFile = New-QuickstartRunFile (Join-Path $work 'q.run.yaml') (Join-Path $work 'adapter') @{
        'num_train_epochs: 3.0' = 'max_steps: 4'; 'eval_split: 0.25' = "eval_dataset: $data"
    }
    $training = Start-TokenTraining -Path $runFile
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Measure-TokenModel' {
    It 'gives the trainer''s eval loss before and after training, with -Compare from one model load' {
        $training.EvalLossBefore | Should -Not -BeNullOrEmpty
        $c = Measure-TokenModel -Model $model -Adapter $training.AdapterFolder -Dataset $data -MaxSeqLength 64 -Compare
        $c.GetType().FullName | Should -Be 'TrainableTokens.Core.Scoring.DatasetScoreComparison'
        [math]::Abs($c.BaseLoss - $training.EvalLossBefore) | Should -BeLessThan 1e-9
        [math]::Abs($c.AdaptedLoss - $training.EvalLoss) | Should -BeLessThan 1e-9
        $c.Improved | Should -Be ($training.EvalLoss -lt $training.EvalLossBefore)
        $c.Adapted.Perplexity | Should -Be ([math]::Exp($c.AdaptedLoss))
        $c.Base.Adapters | Should -BeNullOrEmpty
        "$c" | Should -Match '^loss \d+\.\d+ -> \d+\.\d+ \([+-]\d'
    }

    It 'takes the model from a piped adapter''s base_model_name_or_path' {
        $score = Get-TokenAdapter $training.AdapterFolder | Measure-TokenModel -Dataset $data -MaxSeqLength 64
        $score.Model | Should -Be $model
        [math]::Abs($score.Loss - $training.EvalLoss) | Should -BeLessThan 1e-9
        $piped = $training | Measure-TokenModel -Dataset $data -MaxSeqLength 64
        $piped.Loss | Should -Be $score.Loss
    }

    It 'scores each token of a text, and prints them readably' {
        $score = Measure-TokenModel $model -Text 'The tiny model learns what the new token means.'
        $score.Tokens.Count | Should -Be ($score.InputIds.Count - 1)
        [math]::Abs($score.Loss + ($score.Tokens.LogProbability | Measure-Object -Sum).Sum / $score.Tokens.Count) | Should -BeLessThan 1e-9
        $score.Perplexity | Should -Be ([math]::Exp($score.Loss))
        $text = $score | Format-List | Out-String
        $text | Should -Not -Match 'TrainableTokens\.Core|System\.'
        $text | Should -Match "1646 'Ġmodel' -\d+\.\d+"
    }

    It 'gives the probability and rank of tokens after a prompt' {
        $scores = Measure-TokenModel $model -After 'What does <|reserved_special_token_0|> start?' -Token '<|reserved_special_token_1|>', ' A' -Top 3
        $scores.Count | Should -Be 2
        $scores[0].TokenId | Should -Be 10003
        $scores[0].Top.Count | Should -Be 3
        $best = Measure-TokenModel $model -After 'What does <|reserved_special_token_0|> start?' -Token $scores[0].Top[0].Token
        $best.Rank | Should -Be 1
        $best.IsTop | Should -BeTrue
    }

    It 'refuses an adapter for another model before loading it, naming what does not fit' {
        $wide = New-TestAdapter (Join-Path $work 'wide') -TokenIndex 10002 -Hidden 64
        $err = $null
        Measure-TokenModel -Model $model -Adapter $wide.FullName -Dataset $data -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidAdapter*'
        $err[0].Exception.Message | Should -Match 'hidden size 32'
        $beyond = New-TestAdapter (Join-Path $work 'beyond') -TokenIndex 20000 -Hidden 32
        { Measure-TokenModel -Model $model -Adapter $beyond.FullName -Text 'a b c' -ErrorAction Stop } | Should -Throw '*vocabulary of 10256*'
        $other = New-TestAdapter (Join-Path $work 'gpt2') -TokenIndex 10002 -Hidden 32 -Module 'transformer.wte'
        { Measure-TokenModel -Model $model -Adapter $other.FullName -Text 'a b c' -ErrorAction Stop } | Should -Throw '*transformer.wte*'
    }

    It 'gives clear errors for a missing dataset, a text past the model''s positions, and missing inputs' {
        { Measure-TokenModel $model -Dataset (Join-Path $work 'none.jsonl') -ErrorAction Stop } | Should -Throw '*does not exist*'
        $err = $null
        Measure-TokenModel $model -Text ('word ' * 300) -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SequenceTooLong*'
        $err[0].Exception.Message | Should -Match 'at most 128 positions'
        { Measure-TokenModel $model -Dataset $data -MaxSeqLength 1000 -ErrorAction Stop } | Should -Throw '*at most 128 positions*'
        { Measure-TokenModel $model -Dataset $data -Compare -ErrorAction Stop } | Should -Throw '*-Compare*-Adapter*'
        { Measure-TokenModel -Text 'a b' -ErrorAction Stop } | Should -Throw '*Give -Model*'
        $nobase = New-TestAdapter (Join-Path $work 'nobase') -TokenIndex 10002 -Hidden 32
        { Measure-TokenModel -Adapter $nobase.FullName -Text 'a b' -ErrorAction Stop } | Should -Throw '*base_model_name_or_path*-Model*'
        { Measure-TokenModel $model -After 'Hi' -Token 'two words' -ErrorAction Stop } | Should -Throw '*not one token*'
    }
}

Describe 'The help examples of Measure-TokenModel and Test-TokenAdapter' {
    BeforeAll {
        # A copy of the repository's examples/ with the quickstart trained, as a user has it after the README's first steps.
        $root = Join-Path $work 'repo'
        New-Item -ItemType Directory -Path $root | Out-Null
        Copy-Item -Recurse $examples (Join-Path $root 'examples')
        $null = Start-TokenTraining -Path (Join-Path $root 'examples/quickstart.run.yaml')
        Join-Path $root 'out/quickstart-adapter/adapter_config.json' | Should -Exist
    }

    # Read from the help sources (module/help), which the build turns into Get-Help's examples, so discovery needs no module.
    It '<Name> example <Number> runs as written from the repository root' -ForEach @(
        foreach ($name in 'Measure-TokenModel', 'Test-TokenAdapter') {
            $i = 0
            foreach ($example in (Import-PowerShellDataFile (Join-Path $PSScriptRoot "../../module/help/$name.psd1")).Examples) {
                @{ Name = $name; Number = ++$i; Code = $example.Code }
            }
        }
    ) {
        Push-Location $root
        try {
            $ErrorActionPreference = 'Stop'
            # Errors stop it; a check failing would make example 2 throw. Example 2 writes nothing when every check passes.
            $null = & ([scriptblock]::Create($Code)) | Out-String
        }
        finally { Pop-Location }
    }
}
