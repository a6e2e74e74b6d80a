BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-untrained-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $tinyLlama3 = (Resolve-Path (Join-Path $PSScriptRoot '../../examples/models/tiny-llama3')).Path
    # Three tokens added with -InitFrom Mean share one row: untrained until a run trains them.
    $grown = Join-Path $work 'grown'
    Add-TokenizerToken -Model $tinyLlama3 -Token '<a1>', '<a2>', '<a3>' -OutputPath $grown | Out-Null
    # The same with a model that has its own LM head.
    $untied = Join-Path $work 'untied'
    New-TinyModel llama $untied -VocabSize 10256 -HiddenSize 16 -IntermediateSize 32 -NumLayers 1 -Untied | Out-Null
    Copy-Item (Join-Path $tinyLlama3 'tokenizer*.json') $untied
    $untiedGrown = Join-Path $work 'untied-grown'
    Add-TokenizerToken -Model $untied -Token '<b1>', '<b2>', '<b3>' -OutputPath $untiedGrown | Out-Null
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Find-UntrainedToken' {
    It 'writes one object per untrained token with Id, Token, EmbeddingNorm, HeadNorm and Reason' {
        $found = @(Find-UntrainedToken -Model $grown)
        $found.Id | Should -Be 10256, 10257, 10258
        $found.Token | Should -Be '<a1>', '<a2>', '<a3>'
        $found[0].EmbeddingNorm | Should -BeGreaterThan 0
        $found[0].HeadNorm | Should -BeNullOrEmpty -Because 'the head is tied to the embedding'
        $found[0].Reason | Should -Be 'embedding duplicate (3 identical rows)'
        "$($found[0].EmbeddingReason)" | Should -Be 'Duplicate'
    }

    It 'reports the rows of an untied head too' {
        $found = @(Find-UntrainedToken $untiedGrown)
        $found.Id | Should -Be 10256, 10257, 10258
        $found[0].HeadNorm | Should -BeGreaterThan 0
        $found[0].Reason | Should -Be 'embedding duplicate (3 identical rows); head duplicate (3 identical rows)'
    }

    It 'takes model folders from the pipeline and writes nothing for a model without untrained rows' {
        @(Get-Item $tinyLlama3 | Find-UntrainedToken).Count | Should -Be 0
        @(Get-Item $tinyLlama3, $grown | Find-UntrainedToken).Count | Should -Be 3
    }

    It 'writes an error naming a folder that does not exist, and goes on with the next' {
        $missing = Join-Path $work 'missing'
        $found = @(Find-UntrainedToken -Model $missing, $grown -ErrorVariable errors -ErrorAction SilentlyContinue)
        $found.Count | Should -Be 3
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'InvalidModelFolder,TrainableTokens.Cmdlets.FindUntrainedToken'
        $errors[0].Exception.Message | Should -BeLike "*$missing*"
        { Find-UntrainedToken -Model $missing -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidModelFolder,TrainableTokens.Cmdlets.FindUntrainedToken'
    }

    It 'shows a table with the norms' {
        $text = Find-UntrainedToken $grown | Out-String
        $text | Should -Match 'EmbeddingNorm'
        $text | Should -Match '\(tied\)'
    }
}
