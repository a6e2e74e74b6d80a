<#
.SYNOPSIS
    A fault campaign through the cmdlets, as a careless or hostile user would run it: mutated user files (config.json,
    tokenizer.json, tokenizer_config.json, adapter_config.json, adapter and model safetensors, run YAML, datasets) and
    special files (FIFOs, /dev/zero, /dev/urandom, folders). Counts crashes, hangs, unclear errors and changed inputs;
    writes bench/results/reliability-faults.json.
.DESCRIPTION
    Cases run in a child PowerShell, one after another; the parent watches a progress file. A child that dies is a
    crash (the case it was on is recorded, the child restarts after it); a case that makes no progress for
    -HangSeconds is a hang (the child is killed). An error is unclear when it is not one of the module's own error
    ids, or its message does not name the file (or its folder), or it is longer than 2,000 characters. Every input
    folder is hashed before and after: a changed input is a loss.
    Reproduce: dotnet pwsh -NoProfile -File ./bench/Faults.Bench.ps1 -ModuleManifest ./out/TrainableTokens/TrainableTokens.psd1 -Count 2000
#>
param(
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '../out/TrainableTokens/TrainableTokens.psd1'),
    [int] $Count = 1500,
    [int] $Seed = 9,
    [int] $HangSeconds = 60
)
$ErrorActionPreference = 'Stop'
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
$examples = (Resolve-Path (Join-Path $PSScriptRoot '../examples')).Path
$work = Join-Path ([IO.Path]::GetTempPath()) "tt-faults-$([guid]::NewGuid().ToString('N'))"
New-Item -ItemType Directory -Path $work | Out-Null
$random = [Random]::new($Seed)

# The base inputs: the tiny Llama 3 model (real tokenizer), an adapter for it, a run file and a dataset.
$model = Join-Path $work 'base/model'
Copy-Item -Recurse (Join-Path $examples 'models/tiny-llama3') $model
$runText = (Get-Content -Raw (Join-Path $examples 'quickstart.run.yaml')).
    Replace('./models/tiny-llama3', '{MODEL}').Replace('./data/quickstart.jsonl', '{DATA}').Replace('../out/quickstart-adapter', '{OUT}')
$dataText = Get-Content -Raw (Join-Path $examples 'data/quickstart.jsonl')
$adapterDir = Join-Path $work 'base/adapter'
Import-Module $ModuleManifest -Force
$seedRun = Join-Path $work 'base-seed.run.yaml'
Set-Content $seedRun ($runText.Replace('{MODEL}', $model).Replace('{DATA}', (Join-Path $examples 'data/quickstart.jsonl')).
    Replace('{OUT}', $adapterDir).Replace('num_train_epochs: 3.0', 'max_steps: 2'))
$null = Start-TokenTraining $seedRun -WarningAction SilentlyContinue
if (-not (Test-Path (Join-Path $adapterDir 'adapter_config.json'))) { throw 'Could not train the base adapter.' }

$seeds = @{
    'config.json'               = [IO.File]::ReadAllBytes((Join-Path $model 'config.json'))
    'tokenizer.json'            = [IO.File]::ReadAllBytes((Join-Path $model 'tokenizer.json'))
    'tokenizer_config.json'     = [IO.File]::ReadAllBytes((Join-Path $model 'tokenizer_config.json'))
    'adapter_config.json'       = [IO.File]::ReadAllBytes((Join-Path $adapterDir 'adapter_config.json'))
    'adapter_model.safetensors' = [IO.File]::ReadAllBytes((Join-Path $adapterDir 'adapter_model.safetensors'))
    'model.safetensors'         = [IO.File]::ReadAllBytes((Join-Path $model 'model.safetensors'))
    'run.yaml'                  = [Text.Encoding]::UTF8.GetBytes($runText)
    'data.jsonl'                = [Text.Encoding]::UTF8.GetBytes($dataText)
}
$targets = @($seeds.Keys | Sort-Object)
$tokens = @('{', '}', '[', ']', '"', ',', ':', '-1', '0', '1e999', '-0', 'NaN', 'null', 'true', '99999999999999999999', '2147483648',
    '4294967296', '"\ud800"', '\u0000', "`0", '[[[[[[[[', '{"a":', ' - ', '&a ', '*a', '!!binary', "`t", "`n", '[]', '{}')

function Get-Mutant([byte[]] $bytes) {
    $list = [Collections.Generic.List[byte]]::new($bytes)
    $n = 1 + $random.Next(4)
    for ($k = 0; $k -lt $n; $k++) {
        $at = if ($list.Count -gt 0) { $random.Next($list.Count) } else { 0 }
        switch ($random.Next(7)) {
            0 { if ($list.Count -gt 0) { $list[$at] = [byte]$random.Next(256) } }
            1 { if ($list.Count -gt 0) { $list.RemoveRange($at, [Math]::Min($list.Count - $at, 1 + $random.Next(64))) } }
            2 { $list.InsertRange($at, [Text.Encoding]::UTF8.GetBytes($tokens[$random.Next($tokens.Count)])) }
            3 { if ($list.Count -gt 8) { $len = [Math]::Min($list.Count - $at, 1 + $random.Next(256)); $list.InsertRange($at, $list.GetRange($at, $len).ToArray()) } }
            4 { $list.RemoveRange($at, $list.Count - $at) }                                   # truncate
            5 { $list.InsertRange($at, [Text.Encoding]::UTF8.GetBytes(('[' * (1000 + $random.Next(60000))))) }
            6 { if ($list.Count -gt 0) { $list[$at] = [byte](0x30 + $random.Next(10)) } }       # digit changes: ids, sizes
        }
    }
    , $list.ToArray()
}

# A case: a folder with links to the base files and one mutated (or special) file, and the command that reads it.
$cases = [Collections.Generic.List[object]]::new()
$special = @('fifo', '/dev/zero', '/dev/urandom', 'folder')
for ($i = 0; $i -lt $Count; $i++) {
    $target = $targets[$i % $targets.Count]
    $dir = Join-Path $work "cases/$i"
    $caseModel = Join-Path $dir 'model'; $caseAdapter = Join-Path $dir 'adapter'
    New-Item -ItemType Directory -Force -Path $caseModel, $caseAdapter | Out-Null
    foreach ($f in Get-ChildItem $model -File) { New-Item -ItemType HardLink -Path (Join-Path $caseModel $f.Name) -Target $f.FullName | Out-Null }
    foreach ($f in Get-ChildItem $adapterDir -File) { New-Item -ItemType HardLink -Path (Join-Path $caseAdapter $f.Name) -Target $f.FullName | Out-Null }
    $file = switch ($target) {
        { $_ -like 'adapter*' } { Join-Path $caseAdapter $target }
        { $_ -in 'run.yaml', 'data.jsonl' } { Join-Path $dir $target }
        default { Join-Path $caseModel $target }
    }
    $data = Join-Path $dir 'data.jsonl'
    $run = Join-Path $dir 'run.yaml'
    if ($target -ne 'data.jsonl') { [IO.File]::WriteAllText($data, $dataText) }
    if ($target -ne 'run.yaml') { [IO.File]::WriteAllText($run, $runText.Replace('{MODEL}', $caseModel).Replace('{DATA}', $data).Replace('{OUT}', (Join-Path $dir 'out'))) }
    if (Test-Path $file) { Remove-Item $file -Force }
    $kind = if ($random.Next(20) -eq 0) { $special[$random.Next($special.Count)] } else { 'mutant' }
    switch ($kind) {
        'fifo' { & mkfifo $file }
        'folder' { New-Item -ItemType Directory -Path $file | Out-Null }
        'mutant' {
            $bytes = Get-Mutant $seeds[$target]
            if ($target -eq 'run.yaml') { $bytes = [Text.Encoding]::UTF8.GetBytes([Text.Encoding]::UTF8.GetString($bytes).Replace('{MODEL}', $caseModel).Replace('{DATA}', $data).Replace('{OUT}', (Join-Path $dir 'out'))) }
            [IO.File]::WriteAllBytes($file, $bytes)
        }
        default { New-Item -ItemType SymbolicLink -Path $file -Target $kind | Out-Null }
    }
    $command = switch ($target) {
        'config.json' { "Invoke-TokenModel -Model '$caseModel' -InputId 1, 2, 3 -OutFile '$dir/f.safetensors'" }
        'model.safetensors' { "Invoke-TokenModel -Model '$caseModel' -InputId 1, 2, 3 -OutFile '$dir/f.safetensors'" }
        'tokenizer.json' { "ConvertTo-TokenId '$caseModel' 'Hello <think> world'" }
        'tokenizer_config.json' { "Add-TokenizerToken -Model '$caseModel' -Token '<t>' -OutputPath '$dir/added'" }
        'adapter_config.json' { "Merge-TokenAdapter -Model '$caseModel' -Adapter '$caseAdapter' -OutputPath '$dir/merged'" }
        'adapter_model.safetensors' { "Invoke-TokenModel -Model '$caseModel' -Adapter '$caseAdapter' -InputId 1, 2 -OutFile '$dir/f.safetensors'" }
        'run.yaml' { "Test-TrainableTokensConfig '$run'" }
        'data.jsonl' { "Measure-TokenDataset -Path '$data' -Model '$caseModel'" }
    }
    $cases.Add([pscustomobject]@{ Index = $i; Target = $target; Kind = $kind; File = $file; Folder = $dir; Command = $command })
}
$casesFile = Join-Path $work 'cases.json'
$cases | ConvertTo-Json -Depth 3 | Set-Content $casesFile
$baseHash = Get-ChildItem -Recurse -File (Join-Path $work 'base') | Sort-Object FullName | ForEach-Object { (Get-FileHash $_.FullName).Hash }

$childScript = Join-Path $work 'child.ps1'
@'
param($Module, $Cases, $Progress, $Results, [int] $Start)
Import-Module $Module
$cases = Get-Content -Raw $Cases | ConvertFrom-Json
for ($i = $Start; $i -lt $cases.Count; $i++) {
    $c = $cases[$i]
    [IO.File]::WriteAllText($Progress, "$i")
    $errors = @()
    try { $null = Invoke-Expression "$($c.Command) -ErrorAction Stop -WarningAction SilentlyContinue" 2>&1 }
    catch { $errors += $_ }
    $e = $errors | Select-Object -First 1
    $line = [ordered]@{ Index = $i; Ok = ($null -eq $e) }
    if ($e) {
        $line.ErrorId = "$($e.FullyQualifiedErrorId)".Split(',')[0]
        $line.Type = $e.Exception.GetType().FullName
        $line.Message = $e.Exception.Message
    }
    Add-Content -Path $Results -Value ($line | ConvertTo-Json -Compress)
}
[IO.File]::WriteAllText($Progress, "done")
'@ | Set-Content $childScript

$progress = Join-Path $work 'progress.txt'; $results = Join-Path $work 'results.jsonl'
$crashes = [Collections.Generic.List[object]]::new(); $hangs = [Collections.Generic.List[object]]::new()
$start = 0
$clock = [Diagnostics.Stopwatch]::StartNew()
while ($start -lt $cases.Count) {
    $info = [Diagnostics.ProcessStartInfo]::new([Environment]::ProcessPath)
    if ((Split-Path ([Environment]::ProcessPath) -Leaf) -like 'dotnet*') { $info.ArgumentList.Add((Join-Path $PSHOME 'pwsh.dll')) }
    foreach ($a in '-NoProfile', '-NonInteractive', '-File', $childScript, $ModuleManifest, $casesFile, $progress, $results, "$start") { $info.ArgumentList.Add($a) }
    $info.RedirectStandardOutput = $true; $info.RedirectStandardError = $true
    $p = [Diagnostics.Process]::Start($info)
    $null = $p.StandardOutput.ReadToEndAsync(); $null = $p.StandardError.ReadToEndAsync()
    $last = ''; $since = [Diagnostics.Stopwatch]::StartNew()
    while (-not $p.HasExited) {
        Start-Sleep -Milliseconds 200
        $now = if (Test-Path $progress) { [IO.File]::ReadAllText($progress) } else { '' }
        if ($now -ne $last) { $last = $now; $since.Restart() }
        elseif ($since.Elapsed.TotalSeconds -gt $HangSeconds) {
            $p.Kill($true); $p.WaitForExit()
            $hangs.Add($cases[[int]$last]); break
        }
    }
    $at = if (Test-Path $progress) { [IO.File]::ReadAllText($progress) } else { "$start" }
    if ($at -eq 'done') { break }
    if ($p.ExitCode -ne 0 -and -not ($hangs.Count -and $hangs[-1].Index -eq [int]$at)) { $crashes.Add([pscustomobject]@{ Case = $cases[[int]$at]; ExitCode = $p.ExitCode }) }
    $start = [int]$at + 1
}
$seconds = $clock.Elapsed.TotalSeconds

$own = @('InvalidConfig', 'InvalidModelFolder', 'InvalidSafetensorsFile', 'InvalidAdapter', 'InvalidTokenizer', 'InvalidDataset',
    'TokenIdOutOfRange', 'AdapterConflict', 'OutputConflict', 'OutputExists', 'UncopyableFile', 'SourceChanged', 'NotEnoughMemory',
    'RunFileInvalid', 'RunFileNotFound', 'DatasetNotFound', 'ConfigInvalid')
$unclear = [Collections.Generic.List[object]]::new(); $ok = 0; $errors = 0
foreach ($r in Get-Content $results | ForEach-Object { $_ | ConvertFrom-Json }) {
    $c = $cases[$r.Index]
    if ($r.Ok) { $ok++; continue }
    $errors++
    $names = $r.Message -and ($r.Message.Contains($c.Folder) -or $r.Message.Contains((Split-Path $c.File -Leaf)))
    $reasons = @()
    if ($r.ErrorId -notin $own -and $r.Type -notlike 'TrainableTokens.*') { $reasons += "error id $($r.ErrorId) ($($r.Type))" }
    if (-not $names) { $reasons += 'names no file' }
    if ("$($r.Message)".Length -gt 2000) { $reasons += "message of $("$($r.Message)".Length) characters" }
    if ($reasons) { $unclear.Add([pscustomobject]@{ Index = $r.Index; Target = $c.Target; Kind = $c.Kind; Why = $reasons -join '; '; Message = "$($r.Message)".Substring(0, [Math]::Min(300, "$($r.Message)".Length)) }) }
}
$after = Get-ChildItem -Recurse -File (Join-Path $work 'base') | Sort-Object FullName | ForEach-Object { (Get-FileHash $_.FullName).Hash }
$lost = @(Compare-Object $baseHash $after).Count

$summary = [ordered]@{
    command = "dotnet pwsh -NoProfile -File ./bench/Faults.Bench.ps1 -Count $Count -Seed $Seed"
    date = (Get-Date -Format 'yyyy-MM-dd')
    cases = $cases.Count; seconds = [Math]::Round($seconds, 1)
    accepted = $ok; errors = $errors; crashes = $crashes.Count; hangs = $hangs.Count; unclear = $unclear.Count; changed_inputs = $lost
    per_target = @($cases | Group-Object Target | ForEach-Object { [ordered]@{ target = $_.Name; cases = $_.Count } })
    crash_cases = @($crashes | ForEach-Object { [ordered]@{ index = $_.Case.Index; target = $_.Case.Target; kind = $_.Case.Kind; exit = $_.ExitCode } })
    hang_cases = @($hangs | ForEach-Object { [ordered]@{ index = $_.Index; target = $_.Target; kind = $_.Kind } })
    unclear_cases = @($unclear | Select-Object -First 40)
}
$outFile = Join-Path $PSScriptRoot 'results/reliability-faults.json'
$summary | ConvertTo-Json -Depth 5 | Set-Content $outFile
"{0} cases in {1:0} s: {2} accepted, {3} errors; {4} crashes, {5} hangs, {6} unclear errors, {7} changed inputs" -f `
    $cases.Count, $seconds, $ok, $errors, $crashes.Count, $hangs.Count, $unclear.Count, $lost
if ($unclear.Count) { $unclear | Select-Object -First 15 | Format-Table -AutoSize -Wrap | Out-String -Width 220 }
Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
