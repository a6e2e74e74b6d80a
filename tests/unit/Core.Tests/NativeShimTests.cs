using System;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Native;

namespace TrainableTokens.Core.Tests;

public sealed class NativeShimTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-shim-").FullName;
    private static string BuiltLibrary => Path.Combine(AppContext.BaseDirectory, LibstdcxxShim.LibraryFileName);
    private static string SystemLibstdcxx => SystemLibraries.FindLibstdcxx() ?? throw new InvalidOperationException("no libstdc++ on this machine");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A copy of TorchSharp's library with the GLIBCXX_3.4.32 requirement strong again, as the package ships it.</summary>
    private string UnpatchedCopy()
    {
        var path = Path.Combine(_dir, LibstdcxxShim.LibraryFileName);
        var bytes = File.ReadAllBytes(BuiltLibrary);
        var need = ElfFile.Open(BuiltLibrary).ReadVersionNeeds().Single(n => n.Version == LibstdcxxShim.KnownVersion);
        bytes[need.FlagsOffset] &= unchecked((byte)~ElfFile.VerFlagWeak);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static bool MachineLacksKnownVersion() =>
        !ElfFile.Open(SystemLibstdcxx).ReadVersionDefinitions().Contains(LibstdcxxShim.KnownVersion);

    [Fact]
    public void Reads_the_libstdcxx_versions_TorchSharp_needs()
    {
        var needs = ElfFile.Open(BuiltLibrary).ReadVersionNeeds();
        Assert.Contains(needs, n => n.Library == "libstdc++.so.6" && n.Version == LibstdcxxShim.KnownVersion);
        Assert.Contains(needs, n => n.Library == "libc.so.6" && n.Version == "GLIBC_2.2.5");
    }

    [Fact]
    public void Only_ios_base_library_init_uses_GLIBCXX_3_4_32()
    {
        var elf = ElfFile.Open(BuiltLibrary);
        var need = elf.ReadVersionNeeds().Single(n => n.Version == LibstdcxxShim.KnownVersion);
        Assert.Equal(new[] { LibstdcxxShim.KnownSymbol }, elf.ReadUndefinedSymbolsWithVersion(need.Index));
    }

    [Fact]
    public void System_libstdcxx_defines_its_base_versions()
    {
        var defined = ElfFile.Open(SystemLibstdcxx).ReadVersionDefinitions();
        Assert.Contains("GLIBCXX_3.4", defined);
        Assert.Contains("CXXABI_1.3", defined);
    }

    [Fact]
    public void Plan_applies_the_shim_exactly_when_the_machine_lacks_the_version()
    {
        var plan = LibstdcxxShim.Plan(UnpatchedCopy(), SystemLibstdcxx);
        Assert.Equal(MachineLacksKnownVersion() ? ShimDecision.Apply : ShimDecision.NotNeeded, plan.Decision);
    }

    [Fact]
    public void Apply_changes_one_flag_byte_and_nothing_else()
    {
        var path = UnpatchedCopy();
        var before = File.ReadAllBytes(path);
        var need = ElfFile.Open(path).ReadVersionNeeds().Single(n => n.Version == LibstdcxxShim.KnownVersion);
        var plan = new ShimPlan(path, SystemLibstdcxx, ShimDecision.Apply, new[] { need }, "test");

        LibstdcxxShim.Apply(plan);

        var after = File.ReadAllBytes(path);
        Assert.Equal(before.Length, after.Length);
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToArray();
        Assert.Equal(new[] { (int)need.FlagsOffset }, changed);
        Assert.True(LibstdcxxShim.IsApplied(path));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void Apply_replaces_a_hard_link_instead_of_writing_through_it()
    {
        var path = UnpatchedCopy();
        var cacheCopy = Path.Combine(_dir, "cache-copy.so");
        Assert.Equal(0, Link(path, cacheCopy));
        var need = ElfFile.Open(path).ReadVersionNeeds().Single(n => n.Version == LibstdcxxShim.KnownVersion);

        LibstdcxxShim.Apply(new ShimPlan(path, SystemLibstdcxx, ShimDecision.Apply, new[] { need }, "test"));

        Assert.True(LibstdcxxShim.IsApplied(path));
        Assert.False(LibstdcxxShim.IsApplied(cacheCopy));
    }

    [Fact]
    public void A_library_missing_other_versions_is_refused_with_the_versions_named()
    {
        // libgcc_s defines no GLIBCXX versions at all: standing in for a far older libstdc++.
        var libgcc = Path.Combine(Path.GetDirectoryName(SystemLibstdcxx)!, "libgcc_s.so.1");
        var plan = LibstdcxxShim.Plan(UnpatchedCopy(), libgcc);
        Assert.Equal(ShimDecision.Refused, plan.Decision);
        Assert.Contains("GLIBCXX_3.4.30", plan.Reason);
        Assert.Contains("GCC 13", plan.Reason);
        Assert.Throws<InvalidOperationException>(() => LibstdcxxShim.Apply(plan));
    }

    [Fact]
    public void A_non_ELF_file_is_reported_by_name()
    {
        var path = Path.Combine(_dir, "not-elf.so");
        File.WriteAllText(path, "this is not a shared library");
        var error = Assert.Throws<InvalidDataException>(() => ElfFile.Open(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void A_truncated_ELF_file_is_reported_by_name()
    {
        var path = Path.Combine(_dir, "truncated.so");
        File.WriteAllBytes(path, File.ReadAllBytes(BuiltLibrary).AsSpan(0, 4096).ToArray());
        var error = Assert.Throws<InvalidDataException>(() => ElfFile.Open(path).ReadVersionNeeds());
        Assert.Contains(path, error.Message);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existing, string newPath);
}
