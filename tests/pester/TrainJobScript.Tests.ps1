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
