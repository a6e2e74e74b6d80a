# kill -9 at random moments of a training run (most of its time goes to writing and rotating checkpoints): after each
# kill every folder is complete or absent, and resuming again and again reaches exactly the uninterrupted result.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-kill-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null

    function New-RunFile([string] $Name, [string] $OutputDir, [string] $SaveSteps, [string] $Resume = 'null') {
        New-QuickstartRunFile (Join-Path $work "$Name.run.yaml") $OutputDir @{
            'num_train_epochs: 3.0' = 'max_steps: 400'; 'eval_split: 0.25' = 'eval_split: 0.0'; 'save_steps: 10' = "save_steps: $SaveSteps"
            'logging_steps: 1' = "logging_steps: 1`n  resume_from_checkpoint: $Resume"
        }
    }
    $child = Join-Path $work 'child.ps1'
    @'
param($Module, $Run, $Resume, $Out)
$ErrorActionPreference = 'Stop'
Import-Module $Module
$complete = @(Get-ChildItem $Out -Directory -Filter 'checkpoint-*' -ErrorAction SilentlyContinue | Where-Object { Test-Path (Join-Path $_.FullName 'adapter_config.json') })
$r = if ($complete.Count -gt 0) { Start-TokenTraining -Path $Resume } else { Start-TokenTraining -Path $Run -Force }
"DONE $($r.Steps)"
'@ | Set-Content $child

    function Start-Child([string] $Run, [string] $Resume, [string] $Out) {
        $info = [System.Diagnostics.ProcessStartInfo]::new([Environment]::ProcessPath)
        if ((Split-Path ([Environment]::ProcessPath) -Leaf) -like 'dotnet*') { $info.ArgumentList.Add((Join-Path $PSHOME 'pwsh.dll')) }
        foreach ($a in '-NoProfile', '-NonInteractive', '-File', $child, $ModuleManifest, $Run, $Resume, $Out) { $info.ArgumentList.Add($a) }
        $info.RedirectStandardOutput = $true
        $info.RedirectStandardError = $true
        [System.Diagnostics.Process]::Start($info)
    }

    # Every visible folder complete: a checkpoint has all four files and loads; a top-level config has its weights.
    function Assert-Complete([string] $Out) {
        if (-not (Test-Path $Out)) { return 0 }
        $checkpoints = @(Get-ChildItem $Out -Directory -Filter 'checkpoint-*')
        $checkpoints.Count | Should -BeLessOrEqual 2 -Because 'save_total_limit is 2'
        foreach ($c in $checkpoints) {
            foreach ($f in 'adapter_config.json', 'adapter_model.safetensors', 'trainer_state.json', 'optimizer.safetensors') {
                Join-Path $c.FullName $f | Should -Exist -Because "$($c.Name) must be complete"
            }
            (Get-TokenAdapter $c.FullName).TokenIndices | Should -Be @(10002, 10003)
            $null = Get-Content -Raw (Join-Path $c.FullName 'trainer_state.json') | ConvertFrom-Json
        }
        if (Test-Path (Join-Path $Out 'adapter_config.json')) { (Get-TokenAdapter $Out).TokenIndices | Should -Be @(10002, 10003) }
        @(Get-ChildItem -Force $Out | Where-Object Name -Like '.*').Count
    }
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Start-TokenTraining under kill -9' {
    It 'leaves every folder complete or absent after each of 20 kills, and resuming reaches the uninterrupted adapter' {
        $reference = Start-TokenTraining -Path (New-RunFile 'reference' (Join-Path $work 'reference') 1000)
        $reference.Steps | Should -Be 400
        $out = Join-Path $work 'killed'
        $run = New-RunFile 'killed' $out 1
        $resume = New-RunFile 'killed-resume' $out 1 'latest'
        $random = [System.Random]::new(20261201)
        $kills = 0; $withLeftovers = 0; $finished = 0
        # Kill i lands after checkpoint ~15*i, a random 0-15 ms later: mid-step, mid-checkpoint write or mid-rotation
        # (save_steps 1, save_total_limit 2); the first ones land during start-up, model loading or the first steps.
        for ($i = 0; $i -lt 20; $i++) {
            $target = 15 * $i + $random.Next(0, 10)
            $p = Start-Child $run $resume $out
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            while (-not $p.HasExited -and [DateTime]::UtcNow -lt $deadline) {
                $newest = if ([System.IO.Directory]::Exists($out)) {
                    @([System.IO.Directory]::GetDirectories($out, 'checkpoint-*') | ForEach-Object { [int]([System.IO.Path]::GetFileName($_).Substring(11)) } | Sort-Object)[-1]
                } else { 0 }
                if ($i -eq 0 -or $newest -ge $target) { Start-Sleep -Milliseconds ($random.Next(0, 16) + $(if ($i -eq 0) { 900 } else { 0 })); break }
                Start-Sleep -Milliseconds 5
            }
            if ($p.HasExited) { $finished++; $p.ExitCode | Should -Be 0 -Because $p.StandardError.ReadToEnd() } else { $p.Kill(); $p.WaitForExit(); $kills++ }
            $hidden = Assert-Complete $out
            if ($hidden -gt 0) { $withLeftovers++ }
        }
        $last = Start-Child $run $resume $out
        $stdout = $last.StandardOutput.ReadToEnd(); $stderr = $last.StandardError.ReadToEnd()
        $last.WaitForExit()
        $last.ExitCode | Should -Be 0 -Because "$stdout $stderr"
        Assert-Complete $out | Should -Be 0 -Because "the last run removed every leftover ($((Get-ChildItem -Force $out | Where-Object Name -Like '.*').Name -join ', '))"
        Write-Host "kill test: $kills kills, $finished runs ended before their kill, $withLeftovers kills left hidden leftovers (repaired by the next run)"
        $kills | Should -BeGreaterOrEqual 20
        (Get-FileHash (Join-Path $out 'adapter_model.safetensors')).Hash | Should -Be (Get-FileHash (Join-Path $reference.AdapterFolder 'adapter_model.safetensors')).Hash
    }
}
