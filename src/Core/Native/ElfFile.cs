using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace TrainableTokens.Core.Native;

/// <summary>One symbol version a shared library asks another library for (an entry of <c>.gnu.version_r</c>).</summary>
/// <param name="Library">The library that must provide it, e.g. <c>libstdc++.so.6</c>.</param>
/// <param name="Version">The version name, e.g. <c>GLIBCXX_3.4.32</c>.</param>
/// <param name="Index">The version index that <c>.gnu.version</c> uses for symbols bound to it.</param>
/// <param name="Flags">The entry's flags; <see cref="ElfFile.VerFlagWeak"/> makes a missing version non-fatal.</param>
/// <param name="FlagsOffset">Where in the file the 16-bit flags field lies.</param>
public sealed record ElfVersionNeed(string Library, string Version, int Index, ushort Flags, long FlagsOffset)
{
    public bool IsWeak => (Flags & ElfFile.VerFlagWeak) != 0;
}

/// <summary>
/// Reads the few parts of a 64-bit little-endian ELF shared library that decide whether it loads against a given
/// libstdc++: the versions it needs, the versions a library defines, and which undefined symbols use a version.
/// Hand-written (about 200 lines) because it must patch two bytes in place without rewriting the file, which the
/// ELF libraries on NuGet do not promise.
/// </summary>
public sealed class ElfFile
{
    public const ushort VerFlagWeak = 0x2;
    private const uint ShtDynsym = 11;
    private const uint ShtDynamic = 6;
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;

    private readonly string _path;
    private readonly List<Section> _sections;

    private ElfFile(string path, List<Section> sections)
    {
        _path = path;
        _sections = sections;
    }

    public string Path => _path;

    private readonly record struct Section(uint Type, long Offset, long Size, uint Link, uint Info, long EntrySize);

    /// <summary>Opens the file and reads its section table; throws <see cref="InvalidDataException"/> naming the file when it is not a 64-bit LE ELF.</summary>
    public static ElfFile Open(string path)
    {
        using var stream = File.OpenRead(path);
        var header = ReadExactly(stream, 0, 64, path);
        if (header[0] != 0x7f || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F')
            throw new InvalidDataException($"'{path}' is not an ELF file.");
        if (header[4] != 2 || header[5] != 1)
            throw new InvalidDataException($"'{path}' is not a 64-bit little-endian ELF file.");
        long shoff = (long)BitConverter.ToUInt64(header, 0x28);
        int shentsize = BitConverter.ToUInt16(header, 0x3A);
        int shnum = BitConverter.ToUInt16(header, 0x3C);
        if (shentsize < 64 || shoff <= 0 || shoff + (long)shentsize * shnum > stream.Length)
            throw new InvalidDataException($"'{path}' has a section table outside the file.");
        var sections = new List<Section>(shnum);
        var table = ReadExactly(stream, shoff, shentsize * shnum, path);
        for (int i = 0; i < shnum; i++)
        {
            int b = i * shentsize;
            var s = new Section(
                BitConverter.ToUInt32(table, b + 0x04),
                (long)BitConverter.ToUInt64(table, b + 0x18),
                (long)BitConverter.ToUInt64(table, b + 0x20),
                BitConverter.ToUInt32(table, b + 0x28),
                BitConverter.ToUInt32(table, b + 0x2C),
                (long)BitConverter.ToUInt64(table, b + 0x38));
            if (s.Type != 8 /* NOBITS */ && s.Offset + s.Size > stream.Length)
                throw new InvalidDataException($"'{path}': section {i} lies past the end of the file.");
            sections.Add(s);
        }
        return new ElfFile(path, sections);
    }

    /// <summary>Every version this library needs from other libraries (<c>.gnu.version_r</c>).</summary>
    public IReadOnlyList<ElfVersionNeed> ReadVersionNeeds()
    {
        var result = new List<ElfVersionNeed>();
        var section = Find(ShtGnuVerneed);
        if (section is null) return result;
        using var stream = File.OpenRead(_path);
        var data = ReadExactly(stream, section.Value.Offset, checked((int)section.Value.Size), _path);
        var strings = ReadSection(stream, _sections[(int)section.Value.Link]);
        int entry = 0;
        for (uint n = 0; n < section.Value.Info; n++)
        {
            CheckRange(data, entry, 16);
            int count = BitConverter.ToUInt16(data, entry + 2);
            string file = CString(strings, BitConverter.ToUInt32(data, entry + 4));
            int aux = entry + (int)BitConverter.ToUInt32(data, entry + 8);
            for (int a = 0; a < count; a++)
            {
                CheckRange(data, aux, 16);
                ushort flags = BitConverter.ToUInt16(data, aux + 4);
                ushort other = BitConverter.ToUInt16(data, aux + 6);
                string name = CString(strings, BitConverter.ToUInt32(data, aux + 8));
                result.Add(new ElfVersionNeed(file, name, other, flags, section.Value.Offset + aux + 4));
                uint nextAux = BitConverter.ToUInt32(data, aux + 12);
                if (nextAux == 0) break;
                aux += (int)nextAux;
            }
            uint next = BitConverter.ToUInt32(data, entry + 12);
            if (next == 0) break;
            entry += (int)next;
        }
        return result;
    }

    /// <summary>Every version name this library defines (<c>.gnu.version_d</c>), e.g. <c>GLIBCXX_3.4.30</c>.</summary>
    public IReadOnlySet<string> ReadVersionDefinitions()
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        var section = Find(ShtGnuVerdef);
        if (section is null) return result;
        using var stream = File.OpenRead(_path);
        var data = ReadExactly(stream, section.Value.Offset, checked((int)section.Value.Size), _path);
        var strings = ReadSection(stream, _sections[(int)section.Value.Link]);
        int entry = 0;
        for (uint n = 0; n < section.Value.Info; n++)
        {
            CheckRange(data, entry, 20);
            int aux = entry + (int)BitConverter.ToUInt32(data, entry + 12);
            CheckRange(data, aux, 8);
            result.Add(CString(strings, BitConverter.ToUInt32(data, aux)));
            uint next = BitConverter.ToUInt32(data, entry + 16);
            if (next == 0) break;
            entry += (int)next;
        }
        return result;
    }

    /// <summary>Names of the undefined dynamic symbols bound to version index <paramref name="versionIndex"/>.</summary>
    public IReadOnlyList<string> ReadUndefinedSymbolsWithVersion(int versionIndex)
    {
        var result = new List<string>();
        var dynsym = Find(ShtDynsym);
        var versym = Find(ShtGnuVersym);
        if (dynsym is null || versym is null) return result;
        using var stream = File.OpenRead(_path);
        var symbols = ReadSection(stream, dynsym.Value);
        var versions = ReadSection(stream, versym.Value);
        var strings = ReadSection(stream, _sections[(int)dynsym.Value.Link]);
        long entrySize = dynsym.Value.EntrySize == 0 ? 24 : dynsym.Value.EntrySize;
        long count = Math.Min(symbols.Length / entrySize, versions.Length / 2);
        for (int i = 1; i < count; i++)
        {
            int b = checked((int)(i * entrySize));
            ushort shndx = BitConverter.ToUInt16(symbols, b + 6);
            int version = BitConverter.ToUInt16(versions, i * 2) & 0x7fff;
            if (shndx == 0 && version == versionIndex)
                result.Add(CString(strings, BitConverter.ToUInt32(symbols, b)));
        }
        return result;
    }

    /// <summary>The names of every undefined dynamic symbol the loader must find elsewhere for this library to work:
    /// not weak symbols, and not those bound to a version requirement marked weak (as the native shim marks
    /// GLIBCXX_3.4.32), which may stay unresolved.</summary>
    public IReadOnlyList<string> ReadRequiredSymbols()
    {
        var result = new List<string>();
        var dynsym = Find(ShtDynsym);
        if (dynsym is null) return result;
        var weakVersions = ReadVersionNeeds().Where(n => n.IsWeak).Select(n => n.Index).ToHashSet();
        var versym = Find(ShtGnuVersym);
        using var stream = File.OpenRead(_path);
        var symbols = ReadSection(stream, dynsym.Value);
        var versions = versym is null ? [] : ReadSection(stream, versym.Value);
        var strings = ReadSection(stream, _sections[(int)dynsym.Value.Link]);
        long entrySize = dynsym.Value.EntrySize == 0 ? 24 : dynsym.Value.EntrySize;
        for (long i = 1; i < symbols.Length / entrySize; i++)
        {
            int b = checked((int)(i * entrySize));
            byte info = symbols[b + 4];
            ushort shndx = BitConverter.ToUInt16(symbols, b + 6);
            uint nameOffset = BitConverter.ToUInt32(symbols, b);
            const int StbWeak = 2;
            if (shndx != 0 || nameOffset == 0 || info >> 4 == StbWeak) continue;
            if (i * 2 + 2 <= versions.Length && weakVersions.Contains(BitConverter.ToUInt16(versions, (int)i * 2) & 0x7fff)) continue;
            result.Add(CString(strings, nameOffset));
        }
        return result;
    }

    /// <summary>The libraries this one names as needed (<c>DT_NEEDED</c> entries of its dynamic section), in order.</summary>
    public IReadOnlyList<string> ReadNeededLibraries()
    {
        var result = new List<string>();
        var dynamic = Find(ShtDynamic);
        if (dynamic is null) return result;
        using var stream = File.OpenRead(_path);
        var data = ReadSection(stream, dynamic.Value);
        var strings = ReadSection(stream, _sections[(int)dynamic.Value.Link]);
        for (int b = 0; b + 16 <= data.Length; b += 16)
        {
            long tag = BitConverter.ToInt64(data, b);
            if (tag == 0) break; // DT_NULL
            if (tag == 1) result.Add(CString(strings, (uint)BitConverter.ToUInt64(data, b + 8))); // DT_NEEDED
        }
        return result;
    }

    private Section? Find(uint type)
    {
        foreach (var s in _sections)
            if (s.Type == type) return s;
        return null;
    }

    private byte[] ReadSection(Stream stream, Section s) => ReadExactly(stream, s.Offset, checked((int)s.Size), _path);

    private static byte[] ReadExactly(Stream stream, long offset, int count, string path)
    {
        if (offset < 0 || offset + count > stream.Length)
            throw new InvalidDataException($"'{path}' is truncated: needed bytes {offset}..{offset + count} of {stream.Length}.");
        var buffer = new byte[count];
        stream.Position = offset;
        stream.ReadExactly(buffer, 0, count);
        return buffer;
    }

    private void CheckRange(byte[] data, int offset, int size)
    {
        if (offset < 0 || offset + size > data.Length)
            throw new InvalidDataException($"'{_path}' has a malformed symbol-version table.");
    }

    private string CString(byte[] table, uint offset)
    {
        if (offset >= table.Length)
            throw new InvalidDataException($"'{_path}' has a string offset outside its string table.");
        int end = Array.IndexOf(table, (byte)0, (int)offset);
        if (end < 0) end = table.Length;
        return Encoding.ASCII.GetString(table, (int)offset, end - (int)offset);
    }
}
