BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-folders-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'A checkpoint cut short while it loads' {
    It 'makes Invoke-TokenModel fail with InvalidSafetensorsFile, and the PowerShell process lives' {
        # ~25 MB of weights: each load is long enough for the cuts below to land in the middle of it.
        $model = (New-TinyModel llama (Join-Path $work 'cut') -Tied -VocabSize 4096 -HiddenSize 512 -IntermediateSize 1024 -Seed 2).Path
        $weights = Join-Path $model 'model.safetensors'
        $original = [System.IO.File]::ReadAllBytes($weights)
        $script = Join-Path $work 'loads.ps1'
        @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
`$ok = 0; `$errors = @{}
`$watch = [Diagnostics.Stopwatch]::StartNew()
for (`$i = 0; `$i -lt 150 -and `$watch.Elapsed.TotalSeconds -lt 40; `$i++) {
    try { `$null = Invoke-TokenModel -Model '$model' -InputId 1, 2, 3 -OutFile '$work/out.safetensors' -Force -ErrorAction Stop; `$ok++ }
    catch {
        `$errors[`$_.FullyQualifiedErrorId] = 1 + `$errors[`$_.FullyQualifiedErrorId]
        if (`$_.FullyQualifiedErrorId -notlike 'InvalidSafetensorsFile,*') { "UNEXPECTED `$(`$_.FullyQualifiedErrorId): `$(`$_.Exception.Message)" }
    }
}
"OK `$ok"
foreach (`$e in `$errors.GetEnumerator()) { "ERR `$(`$e.Key) `$(`$e.Value)" }
"@ | Set-Content $script
        $processPath = [Environment]::ProcessPath
        $start = [System.Diagnostics.ProcessStartInfo]::new($processPath)
        if ((Split-Path $processPath -Leaf) -like 'dotnet*') { $start.ArgumentList.Add((Join-Path $PSHOME 'pwsh.dll')) }
        foreach ($a in '-NoProfile', '-NonInteractive', '-File', $script) { $start.ArgumentList.Add($a) }
        $start.RedirectStandardOutput = $true
        $start.RedirectStandardError = $true
        $child = [System.Diagnostics.Process]::Start($start)
        $stdout = $child.StandardOutput.ReadToEndAsync()
        $stderr = $child.StandardError.ReadToEndAsync()

        # Cut the file short and put the same bytes back, again and again, until the loads are done.
        $random = [Random]::new(9)
        $cuts = 0
        $stream = [System.IO.File]::Open($weights, 'Open', 'Write', 'ReadWrite, Delete')
        try {
            while (-not $child.WaitForExit($random.Next(0, 12))) {
                $cut = $random.Next([int]($original.Length / 4), $original.Length)
                $stream.SetLength($cut)
                [System.Threading.Thread]::Sleep($random.Next(0, 3))
                $stream.Position = $cut
                $stream.Write($original, $cut, $original.Length - $cut)
                $cuts++
                if ($cuts -gt 20000) { $child.Kill(); throw 'The loads did not finish.' }
            }
        }
        finally { $stream.Dispose() }
        $lines = $stdout.Result -split "`n" | ForEach-Object Trim | Where-Object { $_ }

        Write-Host "  $cuts cuts; $($lines -join "; ")"
        # A signal (SIGBUS is exit code 135) would end the process before it prints its counts.
        $child.ExitCode | Should -Be 0 -Because "the loads' process must live (stderr: $($stderr.Result))"
        $lines | Where-Object { $_ -like 'UNEXPECTED*' } | Should -BeNullOrEmpty
        $lines | Where-Object { $_ -like 'OK *' } | Should -Not -BeNullOrEmpty
        $failed = $lines | Where-Object { $_ -like 'ERR InvalidSafetensorsFile,*' }
        $failed | Should -Not -BeNullOrEmpty -Because "some of the loads must have met a cut ($cuts cuts; $($lines -join '; '))"
    }
}

Describe 'Merge-TokenAdapter and symbolic links' {
    BeforeAll {
        $built = (New-TinyModel llama (Join-Path $work 'built') -Tied -Seed 5).Path
        $adapter = (New-TestAdapter -Path (Join-Path $work 'adapter') -TokenIndex 9, 4).FullName
    }

    It 'refuses a README.md linked to /etc/passwd, names the link and the fix, and writes nothing' {
        $model = Join-Path $work 'linked'
        Copy-Item -Recurse $built $model
        New-Item -ItemType SymbolicLink -Path (Join-Path $model 'README.md') -Target '/etc/passwd' | Out-Null
        $before = @(Get-ChildItem -Force $work).Name
        $err = $null
        Merge-TokenAdapter -Model $model -Adapter $adapter -OutputPath (Join-Path $work 'merged-linked') -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'UncopyableFile,TrainableTokens.Cmdlets.MergeTokenAdapter'
        $err[0].Exception.Message | Should -BeLike "*'$(Join-Path $model 'README.md')' is a symbolic link to '/etc/passwd'*remove the link*"
        @(Get-ChildItem -Force $work).Name | Should -Be $before
    }

    It 'merges a model in a Hugging Face cache snapshot, whose files are links into blobs/' {
        $repository = Join-Path $work 'hub/models--org--tiny'
        $snapshot = New-Item -ItemType Directory -Path (Join-Path $repository 'snapshots/5eed')
        New-Item -ItemType Directory -Path (Join-Path $repository 'blobs') | Out-Null
        foreach ($file in Get-ChildItem $built -File) {
            $blob = (Get-FileHash $file.FullName -Algorithm SHA256).Hash.ToLowerInvariant()
            Copy-Item $file.FullName (Join-Path $repository "blobs/$blob")
            New-Item -ItemType SymbolicLink -Path (Join-Path $snapshot $file.Name) -Target "../../blobs/$blob" | Out-Null
        }
        $out = Join-Path $work 'merged-cache'
        Merge-TokenAdapter -Model $snapshot.FullName -Adapter $adapter -OutputPath $out | Out-Null
        Merge-TokenAdapter -Model $built -Adapter $adapter -OutputPath (Join-Path $work 'merged-plain') | Out-Null
        foreach ($file in Get-ChildItem $out -File) {
            $file.LinkType | Should -BeNullOrEmpty
            $file.Length | Should -Be (Get-Item (Join-Path $work "merged-plain/$($file.Name)")).Length
            (Get-FileHash $file.FullName).Hash | Should -Be (Get-FileHash (Join-Path $work "merged-plain/$($file.Name)")).Hash
        }
    }
}
