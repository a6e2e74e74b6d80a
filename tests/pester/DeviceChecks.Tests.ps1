# The GPU machine's check script and harness (tests/device), tested here without a GPU or Python's torch: the script's
# shell logic in dry mode and against fake libtorch folders, the harness's CPU commands against the recorded results.
BeforeDiscovery {
    $script:HasPython = [bool](Get-Command python3 -ErrorAction SilentlyContinue)
}

BeforeAll {
    $script:Root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:Script = Join-Path $Root 'tests/device/run-device-checks.sh'

    # Runs the device script with the given environment; returns its exit code, summary lines and the OUT folder.
    function Invoke-DeviceScript([hashtable] $Environment) {
        $out = Join-Path $TestDrive ('out-' + [guid]::NewGuid().ToString('n'))
        $work = Join-Path $TestDrive ('work-' + [guid]::NewGuid().ToString('n'))
        $settings = @{ OUT = $out; DEVICE_CHECK_WORK = $work } + $Environment
        $saved = @{}
        foreach ($name in $settings.Keys) { $saved[$name] = [Environment]::GetEnvironmentVariable($name); [Environment]::SetEnvironmentVariable($name, [string]$settings[$name]) }
        try { $log = & bash $Script 2>&1 | Out-String; $code = $LASTEXITCODE }
        finally { foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) } }
        [pscustomobject]@{ Code = $code; Log = $log; Out = $out; Work = $work; Summary = @(Get-Content (Join-Path $out 'summary.txt')) }
    }

    # A carry folder with a stand-in harness and LoRA cases: enough for the script's plan in dry mode.
    function New-FakeCarry {
        $carry = Join-Path $TestDrive ('carry-' + [guid]::NewGuid().ToString('n'))
        & bash -c @'
set -e
mkdir -p "$1/h/harness" "$1/l/lora-cases/case-a"
printf '#!/bin/sh\necho "stand-in harness $*"\n' > "$1/h/harness/DeviceHarness"; chmod +x "$1/h/harness/DeviceHarness"
tar czf "$1/harness.tgz" -C "$1/h" harness
echo '{}' > "$1/l/lora-cases/case-a/case.json"; tar czf "$1/lora-cases.tgz" -C "$1/l" lora-cases
mkdir -p "$1/j/jobs/tokens-fsdp"; echo '{}' > "$1/j/jobs/tokens-fsdp/job.json"; tar czf "$1/jobs.tgz" -C "$1/j" jobs
'@ _ $carry
        $carry
    }
}

Describe 'run-device-checks.sh' {
    It 'plans every step in dry mode: ours and PEFT on the same shapes, Qwen3 8B at 2048 tokens, the CPU at one thread count' {
        $run = Invoke-DeviceScript @{ DEVICE_CHECK_DRY = '1'; DEVICE_CHECK_CARRY = (New-FakeCarry) }
        $run.Code | Should -Be 0
        $planned = $run.Summary | Where-Object { $_ -like 'dry  *' } | ForEach-Object { ($_ -split ':')[0].Substring(5) }
        $planned | Should -Contain 'abi'
        $planned.IndexOf('abi') | Should -BeLessThan $planned.IndexOf('forward-cuda')
        # The exported job: trained by Trainer + PEFT, then imported and compared here, on the CPU and on cuda.
        $jobRun = $run.Summary | Where-Object { $_ -like 'dry  job-run-tokens-fsdp:*' }
        $jobRun | Should -Match 'check_job.py .*jobs/tokens-fsdp/ .*examples/models/tiny-llama3'
        foreach ($name in 'job-ours-cpu', 'job-ours-cuda', 'forward-cuda', 'train-cuda', 'lora-peft', 'lora-ours-cuda', 'bench-ours-cuda-qwen3-8b', 'bench-peft-cuda-qwen3-8b', 'bench-ours-cpu-llama-3.2-1b', 'bench-peft-cpu-llama-3.2-1b') {
            $planned | Should -Contain $name
        }
        $ours = $run.Summary | Where-Object { $_ -like 'dry  bench-ours-cuda-qwen3-8b:*' }
        $peft = $run.Summary | Where-Object { $_ -like 'dry  bench-peft-cuda-qwen3-8b:*' }
        foreach ($line in $ours, $peft) { $line | Should -Match '--seq 2048' ; $line | Should -Match '--dtype bfloat16'; $line | Should -Match 'qwen3-8b/config.json' }
        $threads = $run.Summary | Where-Object { $_ -like 'dry  bench-*-cpu-*' } | ForEach-Object { [regex]::Match($_, '--threads (\d+)').Groups[1].Value }
        $threads.Count | Should -Be 2
        $threads[0] | Should -Not -BeNullOrEmpty
        $threads[1] | Should -Be $threads[0]
    }

    It 'leaves at most 8 files in OUT, each a name the device tool brings back' {
        $run = Invoke-DeviceScript @{ DEVICE_CHECK_DRY = '1'; DEVICE_CHECK_CARRY = (New-FakeCarry) }
        $files = @(Get-ChildItem -Recurse -File $run.Out)
        $files.Count | Should -BeLessOrEqual 8
        $files | ForEach-Object { $_.Name | Should -Match '^[A-Za-z0-9._-]+$' }
        Join-Path $run.Out 'details.tgz' | Should -Exist
    }

    It 'skips what the budget leaves no time for, says so, and still packs its results' {
        $run = Invoke-DeviceScript @{ DEVICE_CHECK_DRY = '1'; DEVICE_CHECK_CARRY = (New-FakeCarry); DEVICE_CHECK_BUDGET_S = '25' }
        $run.Code | Should -Be 0
        ($run.Summary | Where-Object { $_ -like 'dry  *' }) | Should -BeNullOrEmpty
        ($run.Summary | Where-Object { $_ -like 'skip *: out of time*' }).Count | Should -BeGreaterThan 5
        Join-Path $run.Out 'details.tgz' | Should -Exist
    }

    It 'names what was not carried instead of failing' {
        $run = Invoke-DeviceScript @{ DEVICE_CHECK_DRY = '1'; DEVICE_CHECK_CARRY = (Join-Path $TestDrive 'nothing-here') }
        $run.Code | Should -Be 0
        $run.Summary | Should -Contain "skip harness steps: $(Join-Path $TestDrive 'nothing-here')/harness.tgz was not carried (run tests/device/prepare-device-run.sh)"
        ($run.Summary -join "`n") | Should -Match 'skip lora: .*lora-cases.tgz was not carried'
    }

    It 'rebuilds the native wrapper from the carried sources when the libtorch lacks one of its symbols, leaves out a source that does not compile, and uses it' {
        # A wrapper linked against an "old" libtorch (old_api), a machine libtorch that has only new_api, and wrapper
        # sources that call new_api: ldd -r finds old_api missing, the script compiles the sources against the
        # machine's headers and libraries, and the harness runs with the rebuilt library.
        $fake = Join-Path $TestDrive 'fake'
        & bash -c @'
set -e
cd "$1"; mkdir -p old new/torch/lib new/torch/include/torch carry h/harness ts/src/Native/LibTorchSharp
echo 'int old_api(void){return 1;}' > old.c; echo 'int new_api(void){return 2;}' > new.c; echo 'int c10_x(void){return 0;}' > c10.c
gcc -shared -fPIC -o old/libtorch_cpu.so old.c
for d in new/torch/lib; do gcc -shared -fPIC -o $d/libtorch_cpu.so new.c; gcc -shared -fPIC -o $d/libc10.so c10.c; gcc -shared -fPIC -o $d/libtorch.so c10.c; done
echo 'extern "C" int new_api(void);' > new/torch/include/torch/torch.h
echo 'extern "C" int old_api(void); extern "C" int THSTorch_x(void){return old_api();}' > w.cpp
g++ -shared -fPIC -o h/harness/libLibTorchSharp.so w.cpp -Lold -ltorch_cpu
printf '#!/bin/sh\necho "stand-in harness $*"\n' > h/harness/DeviceHarness; chmod +x h/harness/DeviceHarness
tar czf carry/harness.tgz -C h harness
echo '#pragma once' > ts/src/Native/Stdafx.h
printf '#include "../Stdafx.h"\n#include "torch/torch.h"\nextern "C" int THSTorch_x(void){return new_api();}\n' > ts/src/Native/LibTorchSharp/THSTorch.cpp
echo 'int crc(void){return 0;}' > ts/src/Native/LibTorchSharp/crc32c.c
echo 'this is not C++' > ts/src/Native/LibTorchSharp/THSVision.cpp
echo 'stand-in sources' > ts/COMMIT; tar czf carry/torchsharp-native.tgz -C ts .
'@ _ (New-Item -ItemType Directory -Force $fake).FullName
        $LASTEXITCODE | Should -Be 0
        $run = Invoke-DeviceScript @{ DEVICE_CHECK_ONLY = 'abi harness-env'; DEVICE_CHECK_LIBTORCH = "$fake/new/torch/lib"; DEVICE_CHECK_CARRY = "$fake/carry"; DEVICE_CHECK_PYTHON = 'false' }
        $run.Code | Should -Be 0
        ($run.Summary -join "`n") | Should -Match '(?m)^ok   abi \(' -Because $run.Log
        $abi = Get-Content -Raw (Join-Path $run.Work 'details/abi.log')
        $abi | Should -Match ': 1 undefined symbols'
        $abi | Should -Match 'undefined symbol: old_api'
        $abi | Should -Match 'left out THSVision.cpp: .*error'
        $abi | Should -Match 'built .*libLibTorchSharp.so: 0 undefined symbols'
        $abi | Should -Match 'the harness now uses the rebuilt wrapper'
        Get-Content -Raw (Join-Path $run.Work 'details/harness-env.log') | Should -Match ([regex]::Escape("stand-in harness --libtorch $fake/new/torch/lib env"))
    }

    It 'stops the harness steps when the wrapper cannot be rebuilt (no sources carried), and says why' {
        $fake = Join-Path $TestDrive 'fake-nosrc'
        & bash -c @'
set -e
cd "$1"; mkdir -p old new carry h/harness
echo 'int old_api(void){return 1;}' > old.c; echo 'int c10_x(void){return 0;}' > c10.c
gcc -shared -fPIC -o old/libtorch_cpu.so old.c
gcc -shared -fPIC -o new/libtorch_cpu.so c10.c
echo 'extern "C" int old_api(void); extern "C" int THSTorch_x(void){return old_api();}' > w.cpp
g++ -shared -fPIC -o h/harness/libLibTorchSharp.so w.cpp -Lold -ltorch_cpu
printf '#!/bin/sh\necho "stand-in harness $*"\n' > h/harness/DeviceHarness; chmod +x h/harness/DeviceHarness
tar czf carry/harness.tgz -C h harness
'@ _ (New-Item -ItemType Directory -Force $fake).FullName
        $run = Invoke-DeviceScript @{ DEVICE_CHECK_ONLY = 'abi harness-env'; DEVICE_CHECK_LIBTORCH = "$fake/new"; DEVICE_CHECK_CARRY = "$fake/carry"; DEVICE_CHECK_PYTHON = 'false' }
        $run.Code | Should -Be 0
        ($run.Summary -join "`n") | Should -Match 'FAIL abi: exit 1'
        $run.Summary | Should -Contain 'skip harness steps: the wrapper does not load with this libtorch (details/abi.log)'
        Join-Path $run.Work 'details/harness-env.log' | Should -Not -Exist
        Get-Content -Raw (Join-Path $run.Work 'details/abi.log') | Should -Match 'torchsharp-native.tgz was not carried'
    }
}

Describe 'DeviceHarness on this CPU (the libtorch named by --libtorch)' {
    BeforeAll {
        $nuget = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
        $script:Libtorch = Join-Path $nuget 'libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native'
        $build = & dotnet build (Join-Path $Root 'tests/device/Harness') -c Release -nologo -v quiet 2>&1 | Out-String
        if ($LASTEXITCODE -ne 0) { throw "The harness does not build: $build" }
        $script:Harness = Join-Path $Root 'tests/device/Harness/bin/Release/net10.0/linux-x64/DeviceHarness'
        function Invoke-Harness { $text = & $Harness --libtorch $Libtorch @args 2>&1 | Out-String; [pscustomobject]@{ Code = $LASTEXITCODE; Text = $text } }
    }

    It 'reproduces the CPU forward outputs recorded in tests/device/expected and transformers'' reference outputs' {
        $run = Invoke-Harness forward --fixtures (Join-Path $Root 'tests/fixtures/reference') --device cpu --out (Join-Path $TestDrive 'forward') --expected (Join-Path $Root 'tests/device/expected/forward')
        $run.Code | Should -Be 0 -Because $run.Text
        $run.Text | Should -Match 'forward on CPU: 11 cases, 0 failed'
        $run.Text | Should -Match 'ok   forward llama-bf16 \(bfloat16, CPU\): vs transformers logits .*; vs recorded CPU logits 0.000E\+000'
    }

    It 'fails a forward case whose recorded output differs' {
        $expected = Join-Path $TestDrive 'expected-forward'
        Copy-Item -Recurse (Join-Path $Root 'tests/device/expected/forward') $expected
        Copy-Item (Join-Path $expected 'gemma-f32.safetensors') (Join-Path $expected 'gpt2-f32.safetensors') -Force
        $run = Invoke-Harness forward --fixtures (Join-Path $Root 'tests/fixtures/reference') --device cpu --out (Join-Path $TestDrive 'forward2') --expected $expected
        $run.Code | Should -Be 1
        $run.Text | Should -Match 'FAIL forward gpt2-f32 '
        $run.Text | Should -Match '11 cases, 1 failed'
    }

    It 'reproduces the recorded CPU training run: the same losses and trained rows' {
        $run = Invoke-Harness train --examples (Join-Path $Root 'examples') --device cpu --out (Join-Path $TestDrive 'train') --expected (Join-Path $Root 'tests/device/expected/train')
        $run.Code | Should -Be 0 -Because $run.Text
        $run.Text | Should -Match 'ok   train on cpu vs recorded CPU: losses max\|diff\| 0.000E\+000, trained rows max\|diff\| 0.000E\+000'
    }

    It 'loads a LoRA adapter in PEFT''s format and compares logits; a combined adapter is "not supported by this build", not a failure' {
        $cases = Join-Path $TestDrive 'lora-cases'
        $write = Invoke-Harness lora-write --out $cases
        $write.Code | Should -Be 0 -Because $write.Text
        # Stand-ins for what check_lora_peft.py writes: our own adapter and logits as "PEFT's", and a copy whose config
        # asks for trainable tokens.
        $peft = Join-Path $TestDrive 'peft-lora'
        foreach ($name in 'lora-untied', 'lora-tied-all-linear-rslora') {
            New-Item -ItemType Directory -Force (Join-Path $peft $name) | Out-Null
            Copy-Item -Recurse (Join-Path $cases "$name/ours-adapter") (Join-Path $peft "$name/adapter")
            Copy-Item (Join-Path $cases "$name/ours-with-adapter.safetensors") (Join-Path $peft "$name/reference.safetensors")
        }
        New-Item -ItemType Directory -Force (Join-Path $peft 'lora-tt-list-untied') | Out-Null
        Copy-Item -Recurse (Join-Path $cases 'lora-untied/ours-adapter') (Join-Path $peft 'lora-tt-list-untied/adapter')
        $config = Join-Path $peft 'lora-tt-list-untied/adapter/adapter_config.json'
        (Get-Content -Raw $config) -replace '"trainable_token_indices": null', '"trainable_token_indices": [5, 6]' | Set-Content $config
        $run = Invoke-Harness lora-check --cases $peft --models $cases --device cpu
        $run.Code | Should -Be 0 -Because $run.Text
        $run.Text | Should -Match 'ok   peft->ours lora-untied \(CPU\): logits max\|diff\| 0.000E\+000; merged logits max\|diff\| \d'
        $run.Text | Should -Match 'ok   peft->ours lora-tied-all-linear-rslora'
        $run.Text | Should -Match 'n/s  peft->ours lora-tt-list-untied: not supported by this build'
        $run.Text | Should -Match 'lora peft->ours: 2 compared, 0 failed'
        Join-Path $cases 'lora-tt-map-untied/case.json' | Should -Exist
        (Get-Content -Raw (Join-Path $cases 'lora-tt-map-untied/case.json') | ConvertFrom-Json).peft_config.trainable_token_indices.lm_head | Should -Be @(7)
    }

    It 'imports an exported job''s adapter and compares its logits with PEFT''s; a job that did not run is skipped' {
        Import-Module (Join-Path $Root 'out/TrainableTokens/TrainableTokens.psd1') -Force
        $examples = Join-Path $Root 'examples'
        $jobs = Join-Path $TestDrive 'jobs'
        $runs = Join-Path $TestDrive 'job-runs'
        $null = Export-TokenTrainingJob (Join-Path $examples 'quickstart.run.yaml') -OutputPath (Join-Path $jobs 'tokens') -WarningAction SilentlyContinue
        $null = Export-TokenTrainingJob (Join-Path $examples 'quickstart.run.yaml') -OutputPath (Join-Path $jobs 'not-run') -WarningAction SilentlyContinue
        # Stand-ins for what check_job.py leaves: the job's adapter (here the engine's, as PEFT would save it) and
        # "PEFT's" logits, all zero, which ours cannot match: the comparison must fail, and say by how much.
        $trained = Start-TokenTraining (Join-Path $examples 'quickstart.run.yaml') -MaxSteps 1 -OutputPath (Join-Path $TestDrive 'engine-adapter') -WarningAction SilentlyContinue
        $output = Join-Path $runs 'tokens/output'
        New-Item -ItemType Directory -Force $output, (Join-Path $runs 'not-run') | Out-Null
        Copy-Item (Join-Path $trained.AdapterFolder 'adapter_model.safetensors') $output
        $config = Get-Content -Raw (Join-Path $trained.AdapterFolder 'adapter_config.json') | ConvertFrom-Json
        $config.peft_version = '0.21.0'
        $config | ConvertTo-Json -Depth 5 | Set-Content (Join-Path $output 'adapter_config.json')
        $vocab = (Get-Content -Raw (Join-Path $examples 'models/tiny-llama3/config.json') | ConvertFrom-Json).vocab_size
        $count = 12 * $vocab
        $header = '{"logits":{"dtype":"F32","shape":[1,12,' + $vocab + '],"data_offsets":[0,' + ($count * 4) + ']}}'
        while (($header.Length % 8) -ne 0) { $header += ' ' }
        $stream = [IO.File]::Create((Join-Path $runs 'tokens/peft-logits.safetensors'))
        try {
            $stream.Write([BitConverter]::GetBytes([uint64]$header.Length), 0, 8)
            $bytes = [Text.Encoding]::UTF8.GetBytes($header); $stream.Write($bytes, 0, $bytes.Length)
            $stream.Write([byte[]]::new($count * 4), 0, $count * 4)
        }
        finally { $stream.Dispose() }
        $run = Invoke-Harness job-check --jobs $jobs --runs $runs --model (Join-Path $examples 'models/tiny-llama3') --device cpu
        $run.Code | Should -Be 1 -Because $run.Text
        $run.Text | Should -Match 'FAIL job tokens \(CPU\): Import-TokenTrainingJob took it \(0 repair\(s\); config differences: none\); logits max\|diff\| vs PEFT \d'
        $run.Text | Should -Match 'skip job not-run: the job did not run'
        $run.Text | Should -Match 'jobs: 1 compared, 1 failed'
        Join-Path $runs 'tokens/imported-cpu/adapter_model.safetensors' | Should -Exist
    }

    It 'summarises the benchmark per shape: ours against PEFT, an out-of-memory run as such' -Skip:(-not $HasPython) {
        $bench = Join-Path $TestDrive 'bench.jsonl'
        @(
            '{"impl":"trainable-tokens-ours","label":"qwen3-8b","device":"cuda","batch":1,"seq":2048,"ok":true,"median_step_s":0.5,"peak_memory_bytes":32212254720}'
            '{"impl":"trainable-tokens-peft","label":"qwen3-8b","device":"cuda","batch":1,"seq":2048,"ok":false,"oom":true,"peak_memory_bytes":1}'
            '{"impl":"trainable-tokens-ours","label":"llama-3.2-1b","device":"cpu","batch":1,"seq":128,"ok":true,"median_step_s":2.0,"peak_memory_bytes":3221225472}'
            '{"impl":"trainable-tokens-peft","label":"llama-3.2-1b","device":"cpu","batch":1,"seq":128,"ok":true,"median_step_s":3.0,"peak_memory_bytes":6442450944}'
        ) | Set-Content $bench
        $lines = & python3 (Join-Path $Root 'tests/device/summarise_bench.py') $bench
        $lines[0] | Should -Be 'bench qwen3-8b cuda 1x2048: ours 0.500 s/step, peak 30.00 GiB; peft out of memory'
        $lines[1] | Should -Be "bench llama-3.2-1b cpu 1x128: ours 2.000 s/step, peak 3.00 GiB; peft 3.000 s/step, peak 6.00 GiB; ours 1.50x PEFT's speed, PEFT's peak +3.00 GiB against ours"
    }

    It 'the Python sides parse' -Skip:(-not $HasPython) {
        foreach ($file in 'tests/device/peft_step_bench.py', 'tests/device/summarise_bench.py', 'tests/device/check_job.py', 'tests/reference/check_lora_peft.py', 'tests/reference/check_against_peft.py', 'tests/reference/check_against_transformers.py') {
            $text = & python3 -c "import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])" (Join-Path $Root $file) 2>&1 | Out-String
            $LASTEXITCODE | Should -Be 0 -Because "$file`: $text"
        }
    }
}
