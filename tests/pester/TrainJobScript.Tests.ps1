BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:Python = Get-Command python3 -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
}

Describe "The exported job's train.py" {
    It 'passes its Python unit tests (tests/python, standard library only)' {
        if (-not $script:Python) {
            throw 'python3 is needed to test the exported job''s train.py (tests/python); install Python 3.11 or later (with PyYAML) and run again.'
        }
        Push-Location $script:RepoRoot
        try {
            $output = & $script:Python.Source -m unittest discover -s tests/python -v 2>&1 | ForEach-Object { "$_" }
            $code = $LASTEXITCODE
        }
        finally { Pop-Location }
        $text = $output -join [Environment]::NewLine
        if ($code -ne 0) { throw "python3 -m unittest discover -s tests/python failed (exit $code):$([Environment]::NewLine)$text" }
        # unittest exits 0 when it finds no tests at all: make sure it ran some.
        $text | Should -Match 'Ran [1-9]\d* tests?'
        $text | Should -Match '(?m)^OK'
    }

    It 'compiles with py_compile' {
        if (-not $script:Python) { throw 'python3 is needed to compile the exported job''s train.py; install Python 3.11 or later.' }
        $cache = Join-Path ([System.IO.Path]::GetTempPath()) "tt-train-$([guid]::NewGuid().ToString('N')).pyc"
        try {
            $script = Join-Path $script:RepoRoot 'src/Core/Jobs/Python/train.py'
            $output = & $script:Python.Source -c 'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)' $script $cache 2>&1
            $LASTEXITCODE | Should -Be 0 -Because ($output -join ' ')
        }
        finally { Remove-Item $cache -ErrorAction SilentlyContinue }
    }

    It 'reads a job Export-TokenTrainingJob wrote, with the stand-ins for torch, transformers and peft (--dry-run)' {
        if (-not $script:Python) { throw 'python3 is needed to run the exported job''s train.py; install Python 3.11 or later (with PyYAML).' }
        Import-Module $ModuleManifest -Force
        $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-trainjob-$([guid]::NewGuid().ToString('N'))"
        try {
            $examples = Join-Path $script:RepoRoot 'examples'
            $lora = Join-Path $work 'lora.yaml'
            New-Item -ItemType Directory $work | Out-Null
            # A LoRA run with token rows beside the quickstart's Trainable Tokens run: both job.json shapes.
            (Get-Content -Raw (Join-Path $examples 'lora.run.yaml')).
                Replace('./models/tiny-llama3', (Join-Path $examples 'models/tiny-llama3')).
                Replace('./data/quickstart.jsonl', (Join-Path $examples 'data/quickstart.jsonl')).
                Replace('../out/lora-adapter', (Join-Path $work 'unused')).
                Replace('  init_lora_weights: true', "  init_lora_weights: true`n  trainable_token_indices: [10002, 10003]") | Set-Content $lora
            $jobs = @(
                Export-TokenTrainingJob (Join-Path $examples 'quickstart.run.yaml') -OutputPath (Join-Path $work 'tt') 3>$null
                Export-TokenTrainingJob $lora -OutputPath (Join-Path $work 'lora') -Processes 2 3>$null
            )
            $env:PYTHONPATH = Join-Path $script:RepoRoot 'tests/python/fake_modules'
            foreach ($job in $jobs) {
                $output = & $script:Python.Source (Join-Path $job.Path 'train.py') --dry-run 2>&1 | ForEach-Object { "$_" }
                $LASTEXITCODE | Should -Be 0 -Because ($output -join [Environment]::NewLine)
                $text = ($output | Where-Object { $_ -notmatch '^train\.py: (note|warning)' }) -join [Environment]::NewLine
                $settings = $text | ConvertFrom-Json
                $settings.method | Should -Be $job.Method
                $settings.train_examples | Should -Be $job.TrainExamples
                $settings.training_arguments.max_steps | Should -Be $job.MaxSteps
                $settings.training_arguments.per_device_train_batch_size | Should -BeGreaterThan 0
                $settings.epochs_exported | Should -BeGreaterOrEqual 1
            }
            # The tiny model's rows 10002 and 10003 are trained, so the job starts them as PEFT does, from copies: no initial rows.
            $first = (& $script:Python.Source (Join-Path $jobs[0].Path 'train.py') --dry-run 2>$null) -join "`n" | ConvertFrom-Json
            @($first.initial_rows).Count | Should -Be 0
            (Get-Content (Join-Path $jobs[0].Path 'job.json') -Raw | ConvertFrom-Json).initial_rows | Should -BeNullOrEmpty
        }
        finally {
            Remove-Item Env:PYTHONPATH -ErrorAction SilentlyContinue
            Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
        }
    }

    It 'is in the built engine, byte for byte, with the accelerate templates' {
        $core = Get-ChildItem -Path $ModuleDirectory -Recurse -Filter 'TrainableTokens.Core.dll' | Select-Object -First 1
        $core | Should -Not -BeNullOrEmpty
        $names = 'train.py', 'fsdp.yaml', 'deepspeed.yaml', 'zero3.json'
        # A fresh process: the engine assembly is loaded there only to read its resources.
        $result = Invoke-FreshPwsh @"
`$a = [System.Reflection.Assembly]::LoadFile('$($core.FullName)')
foreach (`$n in '$($names -join "','")') {
    `$s = `$a.GetManifestResourceStream("TrainableTokens.Jobs.`$n")
    if (-not `$s) { "missing:`$n"; continue }
    `$m = [System.IO.MemoryStream]::new(); `$s.CopyTo(`$m)
    "sha:`${n}:" + [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData(`$m.ToArray()))
}
"@
        $sources = @{
            'train.py' = 'src/Core/Jobs/Python/train.py'; 'fsdp.yaml' = 'src/Core/Jobs/Templates/fsdp.yaml'
            'deepspeed.yaml' = 'src/Core/Jobs/Templates/deepspeed.yaml'; 'zero3.json' = 'src/Core/Jobs/Templates/zero3.json'
        }
        foreach ($n in $names) {
            $expected = (Get-FileHash -Algorithm SHA256 -Path (Join-Path $script:RepoRoot $sources[$n])).Hash
            $result.Output | Should -Contain "sha:${n}:$expected"
        }
    }
}
