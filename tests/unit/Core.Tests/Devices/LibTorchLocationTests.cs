using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using TrainableTokens.Core.Native;
using TrainableTokens.Core.Runtime;

namespace TrainableTokens.Core.Tests.Devices;

/// <summary>Bringing libtorch from an installed PyTorch: where it is, what version it says it is, and the ldd -r style
/// check of TorchSharp's wrapper against it. Loading another libtorch needs a fresh process (tests/pester/LibTorch.Tests.ps1);
/// these use the libraries this process already has.</summary>
public sealed class LibTorchLocationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "tt-libtorch-" + Guid.NewGuid().ToString("N"));

    public LibTorchLocationTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Wrapper => Path.Combine(TorchRuntime.NativeDirectory, TorchRuntime.NativeLibraryFileName);

    [Fact]
    public void The_wrappers_needs_are_read_from_its_elf_dynamic_tables()
    {
        var elf = ElfFile.Open(Wrapper);
        var needed = elf.ReadNeededLibraries();
        Assert.Contains("libtorch.so", needed);
        Assert.Contains("libc10.so", needed);
        var symbols = elf.ReadRequiredSymbols();
        Assert.True(symbols.Count > 1000, $"only {symbols.Count} required symbols");
        Assert.Contains(symbols, s => s.StartsWith("_ZN2at", StringComparison.Ordinal));
        Assert.Contains(symbols, s => s.StartsWith("_ZN3c10", StringComparison.Ordinal));
        Assert.DoesNotContain("", symbols);
        // The one symbol bound to GLIBCXX_3.4.32 is required unless the native shim marked that version weak.
        Assert.Equal(!LibstdcxxShim.IsApplied(Wrapper), symbols.Contains(LibstdcxxShim.KnownSymbol));
    }

    [Fact]
    public void Every_symbol_of_the_wrapper_resolves_against_the_libtorch_it_was_built_for()
    {
        TorchRuntime.EnsureLoaded();
        var handles = Bundled();
        Assert.Empty(LibTorchCompatibility.MissingSymbols(Wrapper, TorchRuntime.NativeDirectory, handles));
    }

    [Fact]
    public void A_libtorch_without_the_wrappers_symbols_is_found_out()
    {
        TorchRuntime.EnsureLoaded();
        // libc10 standing in for libtorch_cpu and libtorch, as a mismatched wheel's libraries would: they load, but lack symbols.
        var c10 = NativeLibrary.Load(Path.Combine(TorchRuntime.NativeDirectory, "libc10.so"));
        var handles = new Dictionary<string, IntPtr> { ["libc10.so"] = c10, ["libtorch_cpu.so"] = c10, ["libtorch.so"] = c10 };
        var missing = LibTorchCompatibility.MissingSymbols(Wrapper, _dir, handles);
        Assert.True(missing.Count > 1000, $"only {missing.Count} missing");
        Assert.Contains(missing, s => s.StartsWith("_ZN2at", StringComparison.Ordinal));
    }

    [Fact]
    public void The_version_comes_from_torch_version_py_or_a_libtorch_build_version_file()
    {
        var pip = Directory.CreateDirectory(Path.Combine(_dir, "site-packages", "torch", "lib")).FullName;
        File.WriteAllText(Path.Combine(pip, "..", "version.py"), "from typing import Optional\n__version__ = '2.10.0+cu128'\ncuda: Optional[str] = '12.8'\n");
        Assert.Equal("2.10.0+cu128", LibTorchLocation.ReadVersion(pip));
        Assert.Equal("2.10.0", LibTorchLocation.Release("2.10.0+cu128"));
        var archive = Directory.CreateDirectory(Path.Combine(_dir, "libtorch", "lib")).FullName;
        File.WriteAllText(Path.Combine(archive, "..", "build-version"), "2.9.1+cpu\n");
        Assert.Equal("2.9.1+cpu", LibTorchLocation.ReadVersion(archive));
        Assert.Null(LibTorchLocation.ReadVersion(Directory.CreateDirectory(Path.Combine(_dir, "bare", "lib")).FullName));
    }

    [Fact]
    public void The_variable_names_a_torch_lib_folder_or_the_torch_package_folder_and_errors_name_it()
    {
        var bundled = LibTorchLocation.Resolve(TorchRuntime.NativeDirectory, null);
        Assert.Equal(LibTorchLocation.BundledSource, bundled.Source);
        Assert.Equal("2.10.0", bundled.Version);
        Assert.False(bundled.HasCuda);

        var missing = Assert.Throws<NativeRuntimeException>(() => LibTorchLocation.Resolve(TorchRuntime.NativeDirectory, Path.Combine(_dir, "nowhere")));
        Assert.Contains(LibTorchLocation.VariableName, missing.Message);
        Assert.Contains("not a folder", missing.Message);
        var empty = Assert.Throws<NativeRuntimeException>(() => LibTorchLocation.Resolve(TorchRuntime.NativeDirectory, _dir));
        Assert.Contains("has no libc10.so, libtorch_cpu.so, libtorch.so", empty.Message);

        var torch = Directory.CreateDirectory(Path.Combine(_dir, "torch")).FullName;
        var lib = Directory.CreateDirectory(Path.Combine(torch, "lib")).FullName;
        foreach (var name in LibTorchLocation.CoreLibraries.Concat(LibTorchLocation.CudaLibraries)) File.WriteAllBytes(Path.Combine(lib, name), []);
        File.WriteAllText(Path.Combine(torch, "version.py"), "__version__ = \"2.10.0+cu128\"\n");
        var user = LibTorchLocation.Resolve(TorchRuntime.NativeDirectory, torch);
        Assert.Equal(lib, user.Directory);
        Assert.Equal(LibTorchLocation.VariableName, user.Source);
        Assert.Equal("2.10.0+cu128", user.Version);
        Assert.True(user.HasCuda);
    }

    [Fact]
    public void Without_the_modules_load_context_a_bundled_libtorch_beside_TorchSharp_is_refused_not_loaded_twice()
    {
        // This test host loads TorchSharp in the default context with libtorch beside it: TorchSharp's static constructor
        // would load that copy too, and two libtorch_cpu in one process abort.
        var elsewhere = new LibTorchLocation(_dir, LibTorchLocation.VariableName, "2.10.0", false);
        var e = Assert.Throws<NativeRuntimeException>(() => TorchRuntime.EnsureNoBundledCopyWouldLoad(elsewhere));
        Assert.Contains("without the module's load context", e.Message);
        Assert.Contains(LibTorchLocation.VariableName, e.Message);
        // The bundled folder itself is no second copy.
        TorchRuntime.EnsureNoBundledCopyWouldLoad(elsewhere with { Directory = TorchRuntime.NativeDirectory });
    }

    private static Dictionary<string, IntPtr> Bundled() =>
        LibTorchLocation.CoreLibraries.ToDictionary(n => n, n => NativeLibrary.Load(Path.Combine(TorchRuntime.NativeDirectory, n)));
}
