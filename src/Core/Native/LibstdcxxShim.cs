using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace TrainableTokens.Core.Native;

/// <summary>What the shim decided for one library.</summary>
public enum ShimDecision
{
    /// <summary>The machine's libstdc++ has every version the library needs.</summary>
    NotNeeded,
    /// <summary>The only missing version is already marked weak.</summary>
    AlreadyApplied,
    /// <summary>The missing version is the known-harmless one; it will be marked weak.</summary>
    Apply,
    /// <summary>Something else is missing; patching would hide a real incompatibility.</summary>
    Refused,
}

/// <summary>The outcome of <see cref="LibstdcxxShim.Plan"/>: what to do and why, in words a build log can show.</summary>
public sealed record ShimPlan(string LibraryPath, string SystemLibstdcxx, ShimDecision Decision, IReadOnlyList<ElfVersionNeed> Missing, string Reason);

/// <summary>
/// TorchSharp's libLibTorchSharp.so is built with GCC 15 and asks for GLIBCXX_3.4.32, which Debian 12 and
/// Ubuntu 22.04 lack. Only <c>std::ios_base_library_init</c> carries that version and nothing binds it at run
/// time, so marking that one requirement weak lets the library load. This class decides whether that is needed
/// and safe, and applies it to a built copy (never to a package cache).
/// </summary>
public static class LibstdcxxShim
{
    public const string LibraryFileName = "libLibTorchSharp.so";
    public const string KnownVersion = "GLIBCXX_3.4.32";
    public const string KnownSymbol = "_ZSt21ios_base_library_initv";
    private const string Libstdcxx = "libstdc++.so.6";

    /// <summary>Decides what to do for <paramref name="libraryPath"/> against the libstdc++ at <paramref name="systemLibstdcxx"/>.</summary>
    public static ShimPlan Plan(string libraryPath, string systemLibstdcxx)
    {
        var elf = ElfFile.Open(libraryPath);
        var defined = ElfFile.Open(systemLibstdcxx).ReadVersionDefinitions();
        var missing = elf.ReadVersionNeeds()
            .Where(n => n.Library == Libstdcxx && !defined.Contains(n.Version))
            .ToList();
        if (missing.Count == 0)
            return new ShimPlan(libraryPath, systemLibstdcxx, ShimDecision.NotNeeded, missing,
                $"{systemLibstdcxx} provides every libstdc++ version {Path.GetFileName(libraryPath)} needs.");
        if (missing.All(m => m.IsWeak))
            return new ShimPlan(libraryPath, systemLibstdcxx, ShimDecision.AlreadyApplied, missing,
                $"{string.Join(", ", missing.Select(m => m.Version))} is already weak in {libraryPath}.");

        var unknown = missing.Where(m => m.Version != KnownVersion).Select(m => m.Version).ToList();
        if (unknown.Count > 0)
            return Refuse(libraryPath, systemLibstdcxx, missing,
                $"{Path.GetFileName(libraryPath)} needs {string.Join(", ", unknown)} from libstdc++, which {systemLibstdcxx} lacks, " +
                $"and only {KnownVersion} is known to be safe to mark weak.");

        var symbols = elf.ReadUndefinedSymbolsWithVersion(missing[0].Index);
        if (symbols.Count != 1 || symbols[0] != KnownSymbol)
            return Refuse(libraryPath, systemLibstdcxx, missing,
                $"{KnownVersion} in {Path.GetFileName(libraryPath)} is used by [{string.Join(", ", symbols)}], " +
                $"not only by {KnownSymbol}, so marking it weak could break symbol binding.");

        return new ShimPlan(libraryPath, systemLibstdcxx, ShimDecision.Apply, missing,
            $"{systemLibstdcxx} lacks {KnownVersion}; its only user is {KnownSymbol}, which nothing binds at run time.");
    }

    /// <summary>Marks the missing requirement weak. Writes a patched copy beside the file and renames it over, so a
    /// hard link into a package cache is replaced, never modified, and a failure leaves the original intact.</summary>
    public static void Apply(ShimPlan plan)
    {
        if (plan.Decision != ShimDecision.Apply)
            throw new InvalidOperationException($"The shim plan for {plan.LibraryPath} is {plan.Decision}, not Apply: {plan.Reason}");
        var bytes = File.ReadAllBytes(plan.LibraryPath);
        foreach (var need in plan.Missing)
        {
            ushort flags = (ushort)(BitConverter.ToUInt16(bytes, (int)need.FlagsOffset) | ElfFile.VerFlagWeak);
            bytes[need.FlagsOffset] = (byte)flags;
            bytes[need.FlagsOffset + 1] = (byte)(flags >> 8);
        }
        AtomicFile.WriteAllBytes(plan.LibraryPath, bytes);
    }

    /// <summary>True when <paramref name="libraryPath"/> carries the weak GLIBCXX_3.4.32 requirement this shim writes.</summary>
    public static bool IsApplied(string libraryPath) =>
        File.Exists(libraryPath) &&
        ElfFile.Open(libraryPath).ReadVersionNeeds().Any(n => n.Library == Libstdcxx && n.Version == KnownVersion && n.IsWeak);

    private static ShimPlan Refuse(string lib, string sys, IReadOnlyList<ElfVersionNeed> missing, string why) =>
        new(lib, sys, ShimDecision.Refused, missing,
            why + " Install a newer libstdc++ (GCC 13 or later) on this machine, or build on a newer distribution.");
}
