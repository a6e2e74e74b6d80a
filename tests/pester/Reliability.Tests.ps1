# Nothing a user owns is lost: outputs that would overwrite inputs are refused, -Force replaces only what the command
# wrote, a full disk names the user's path and leaves no partial folder, earlier outputs stay intact.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-reliab-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    $models = Join-Path $work 'models'
    $model = (New-TinyModel llama (Join-Path $models 'm') -Tied -Seed 5).Path
    $adapter = (New-TestAdapter -Path (Join-Path $work 'a') -TokenIndex 3, 4).FullName
    'not a model, but mine' | Set-Content (Join-Path $models 'notes.txt')

    function Get-Tree([string] $Path) {
        Get-ChildItem -Recurse -Force -File $Path | Sort-Object FullName | ForEach-Object { '{0} {1}' -f $_.FullName, (Get-FileHash $_.FullName).Hash }
    }
    function New-RunFile([string] $Path, [string] $OutputDir) {
        New-QuickstartRunFile $Path $OutputDir @{ 'num_train_epochs: 3.0' = 'max_steps: 3' }
    }
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Outputs never replace inputs' {
    It 'Merge-TokenAdapter -Force onto the folder that holds the model refuses and keeps every file' {
        $before = Get-Tree $models
        Merge-TokenAdapter -Model $model -Adapter $adapter -OutputPath $models -Force -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'OutputConflict,*'
        $err[0].Exception.Message | Should -Match 'contains the model folder'
        Get-Tree $models | Should -Be $before
    }

    It 'Merge-TokenAdapter refuses an output inside the adapter, and says so under -WhatIf too' {
        { Merge-TokenAdapter -Model $model -Adapter $adapter -OutputPath (Join-Path $adapter 'out') -WhatIf -ErrorAction Stop } |
            Should -Throw '*is inside the adapter folder*'
    }

    It 'Add-TokenizerToken -Force onto the folder that holds the model refuses and keeps every file' {
        $before = Get-Tree $models
        { Add-TokenizerToken -Model $model -Token '<x>' -OutputPath $models -Force -ErrorAction Stop } | Should -Throw '*contains the source folder*'
        Get-Tree $models | Should -Be $before
    }

    It '-Force does not replace a folder or a file the command did not write' {
        $mine = New-Item -ItemType Directory -Path (Join-Path $work 'my-folder')
        'keep' | Set-Content (Join-Path $mine 'keep.txt')
        { Merge-TokenAdapter -Model $model -Adapter $adapter -OutputPath $mine.FullName -Force -ErrorAction Stop } | Should -Throw '*was not written by Merge-TokenAdapter*'
        Get-Content (Join-Path $mine 'keep.txt') | Should -Be 'keep'
        $file = Join-Path $work 'afile'
        'data' | Set-Content $file
        { Merge-TokenAdapter -Model $model -Adapter $adapter -OutputPath $file -Force -ErrorAction Stop } | Should -Throw '*is a file*'
        Get-Content $file | Should -Be 'data'
        @(Get-ChildItem -Force $work -Filter '.afile*').Count | Should -Be 0
        { New-TinyModel llama $mine.FullName -Force -ErrorAction Stop } | Should -Throw '*was not written by New-TinyModel*'
    }

    It '-Force replaces an output the same command wrote' {
        $out = Join-Path $work 'merged'
        $null = Merge-TokenAdapter -Model $model -Adapter $adapter -OutputPath $out
        $null = Merge-TokenAdapter -Model $model -Adapter $adapter -OutputPath $out -Force
        Join-Path $out 'model.safetensors' | Should -Exist
    }

    It 'Start-TokenTraining refuses an output_dir that holds its run file' {
        $dir = New-Item -ItemType Directory -Path (Join-Path $work 'project')
        $run = New-RunFile (Join-Path $dir 'run.yaml') '.'
        Start-TokenTraining -Path $run -Force -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        ($err.Exception.Message -join "`n") | Should -Match 'contains the run file'
        @(Get-ChildItem -Force $dir).Name | Should -Be @('run.yaml')
    }

    It 'Invoke-TokenModel refuses an -OutFile inside the model folder' {
        $before = Get-Tree $model
        { Invoke-TokenModel -Model $model -InputId 1 -OutFile (Join-Path $model 'model.safetensors') -Force -ErrorAction Stop } | Should -Throw '*is inside the model folder*'
        Get-Tree $model | Should -Be $before
    }
}

Describe 'A full disk' {
    BeforeAll {
        # A small tmpfs: a disk that really fills. Needs root (CI and these machines run as root).
        $disk = New-Item -ItemType Directory -Path (Join-Path $work 'disk')
        & mount -t tmpfs -o size=8m tmpfs $disk.FullName
        if ($LASTEXITCODE -ne 0) { throw "mount -t tmpfs failed (exit $LASTEXITCODE): the full-disk tests need root." }
        $disk = $disk.FullName
        function Fill-Disk {
            $filler = Join-Path $disk "filler-$([guid]::NewGuid().ToString('N'))"
            & dd if=/dev/zero "of=$filler" bs=64k 2>$null
            (Get-PSDrive -PSProvider FileSystem | Out-Null)
            (& df --output=avail -B1 $disk | Select-Object -Last 1).Trim() | Should -Be '0'
        }
        function Clear-Disk { Remove-Item (Join-Path $disk 'filler-*') -Force }
        function Get-Leftovers { @(Get-ChildItem -Recurse -Force $disk | Where-Object Name -Match '\.(partial|old|deleting|tmp|lock)$|^\.previous\.') }
    }
    AfterAll { & umount $disk }

    It 'training: a clear error naming the output, the earlier adapter intact, no partial folder' {
        $run = New-RunFile (Join-Path $work 'disk.run.yaml') (Join-Path $disk 'adapter')
        (Get-Content -Raw $run).Replace('save_steps: 10', 'save_steps: 1') | Set-Content $run
        $first = Start-TokenTraining -Path $run
        $first.Steps | Should -Be 3
        $before = Get-Tree (Join-Path $disk 'adapter')
        Fill-Disk
        try {
            Start-TokenTraining -Path $run -Force -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'DiskFull,*'
            $err[0].Exception.Message | Should -Match ([regex]::Escape((Join-Path $disk 'adapter')))
            $err[0].Exception.Message | Should -Not -Match '\.partial'
            Get-Tree (Join-Path $disk 'adapter') | Should -Be $before
            Get-Leftovers | Should -BeNullOrEmpty
        }
        finally { Clear-Disk }
    }

    It 'Merge-TokenAdapter, Add-TokenizerToken and New-TinyModel: DiskFull naming the output, earlier outputs intact' {
        $merged = Join-Path $disk 'merged'
        $added = Join-Path $disk 'added'
        $tiny = Join-Path $disk 'tiny'
        $null = Merge-TokenAdapter -Model $model -Adapter $adapter -OutputPath $merged
        $null = Add-TokenizerToken -Model (Join-Path $examples 'models/tiny-llama3') -Token '<x>' -OutputPath $added
        $null = New-TinyModel llama $tiny
        $before = Get-Tree $disk
        Fill-Disk
        try {
            $cases = @(
                { Merge-TokenAdapter -Model $model -Adapter $adapter -OutputPath $merged -Force -ErrorAction Stop },
                { Merge-TokenAdapter -Model $model -Adapter $adapter -OutputPath (Join-Path $disk 'merged2') -ErrorAction Stop },
                { Add-TokenizerToken -Model (Join-Path $examples 'models/tiny-llama3') -Token '<y>' -OutputPath $added -Force -ErrorAction Stop },
                { New-TinyModel llama $tiny -Force -ErrorAction Stop })
            foreach ($case in $cases) {
                $e = $null
                try { & $case } catch { $e = $_ }
                $e | Should -Not -BeNullOrEmpty -Because "$case"
                $e.FullyQualifiedErrorId | Should -BeLike 'DiskFull,*' -Because "$case"
                $e.Exception.Message | Should -Match ([regex]::Escape($disk)) -Because "$case"
                $e.Exception.Message | Should -Not -Match '\.partial|\.[0-9a-f]{32}\.' -Because "$case"
            }
            Get-Tree $disk | Where-Object { $_ -notmatch 'filler-' } | Should -Be ($before)
            Get-Leftovers | Should -BeNullOrEmpty
            Test-Path (Join-Path $disk 'merged2') | Should -BeFalse
        }
        finally { Clear-Disk }
    }
}
