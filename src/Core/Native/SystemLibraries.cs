using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;

namespace TrainableTokens.Core.Native;

/// <summary>Finds the shared libraries the dynamic loader would pick on this machine.</summary>
public static class SystemLibraries
{
    /// <summary>The libstdc++.so.6 the loader would use, searched as ld.so does: LD_LIBRARY_PATH, the ld.so cache, then the default directories.</summary>
    public static string? FindLibstdcxx()
    {
        const string name = "libstdc++.so.6";
        foreach (var dir in (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        foreach (var cached in LdConfigEntries(name))
            if (File.Exists(cached)) return cached;
        foreach (var dir in new[] { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib" })
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static IEnumerable<string> LdConfigEntries(string name)
    {
        var results = new List<string>();
        foreach (var ldconfig in new[] { "/sbin/ldconfig", "/usr/sbin/ldconfig" })
        {
            if (!File.Exists(ldconfig)) continue;
            try
            {
                using var process = Process.Start(new ProcessStartInfo(ldconfig, "-p") { RedirectStandardOutput = true, UseShellExecute = false });
                if (process is null) continue;
                string output = process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                // Lines look like: "\tlibstdc++.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libstdc++.so.6"
                foreach (var line in output.Split('\n'))
                {
                    var trimmed = line.Trim();
                    if (!trimmed.StartsWith(name + " ", StringComparison.Ordinal) || !trimmed.Contains("x86-64")) continue;
                    int arrow = trimmed.IndexOf("=> ", StringComparison.Ordinal);
                    if (arrow > 0) results.Add(trimmed[(arrow + 3)..]);
                }
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                // ldconfig unusable: the default directories below still apply.
            }
            break;
        }
        return results;
    }
}
