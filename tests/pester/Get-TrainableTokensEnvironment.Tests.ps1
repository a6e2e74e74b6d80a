BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
}
AfterAll { Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue }

Describe 'Get-TrainableTokensEnvironment' {
    BeforeAll { $environment = Get-TrainableTokensEnvironment }

    It 'returns one object, not formatted text' {
        @($environment).Count | Should -Be 1
        $environment.GetType().FullName | Should -Be 'TrainableTokens.Core.Runtime.EnvironmentReport'
    }

    It 'runs a real libtorch matrix product that matches .NET exactly' {
        $environment.ComputeCheckPassed | Should -BeTrue
    }

    It 'reports the libtorch, TorchSharp and module versions' {
        $environment.LibTorchVersion | Should -Be '2.10.0'
        $environment.TorchSharpVersion | Should -Be '0.107.0'
        $environment.ModuleVersion | Should -Be (Import-PowerShellDataFile $ModuleManifest).ModuleVersion
    }

    It 'says which libtorch is in use and where it came from' {
        $environment.LibTorchSource | Should -Be 'bundled'
        $environment.LibTorchDirectory | Should -Be (Join-Path $ModuleDirectory 'Dependencies')
        $environment.CudaAvailable | Should -BeFalse
    }

    It 'reports the CPU backend and the threads libtorch uses' {
        $environment.BuildFlavour | Should -Be 'cpu'
        $environment.Backend | Should -Be 'CPU'
        $environment.CpuThreads | Should -BeGreaterOrEqual 1
        $environment.CudaDevices -is [System.Collections.IEnumerable] | Should -BeTrue
        if (-not (Test-Path /dev/nvidiactl)) { $environment.CudaDevices.Count | Should -Be 0 }
    }

    It 'says the native shim was applied exactly when this machine''s libstdc++ lacks GLIBCXX_3.4.32' {
        # Independent of the module's own ELF reader: look for the version string in the library file itself.
        $libstdcxx = $environment.Libstdcxx
        $libstdcxx | Should -Exist
        $hasVersion = [System.Text.Encoding]::ASCII.GetString([System.IO.File]::ReadAllBytes($libstdcxx)).Contains("GLIBCXX_3.4.32`0")
        $environment.NativeShimApplied | Should -Be (-not $hasVersion)
    }

    It 'loads the engine in the module''s own assembly load context, not the default one' {
        $context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($environment.GetType().Assembly)
        $context.Name | Should -Be 'TrainableTokens'
        $context | Should -Not -Be ([System.Runtime.Loader.AssemblyLoadContext]::Default)
        $defaultNames = [System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies.GetName().Name
        $defaultNames | Should -Not -Contain 'TorchSharp'
        $defaultNames | Should -Not -Contain 'TrainableTokens.Core'
    }

    It 'formats as a list that shows the essentials' {
        $text = $environment | Out-String
        $text | Should -Match 'LibTorchVersion\s*:\s*2\.10\.0'
        $text | Should -Match 'ComputeCheckPassed\s*:\s*True'
    }
}
