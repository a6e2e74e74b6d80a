using System;
using System.Collections.Generic;

namespace TrainableTokens.Core.IO;

/// <summary>An input of a command, named for messages: ("model folder", "./models/m").</summary>
public sealed record CommandInput(string Role, string Path);

/// <summary>
/// Refuses an output that equals, contains or lies inside one of the command's inputs (links resolved): replacing
/// such an output would delete the input. Called before anything is written, and before -WhatIf returns.
/// </summary>
public static class OutputGuard
{
    public static void EnsureApart(string output, string optionName, IEnumerable<CommandInput> inputs)
    {
        var outReal = RealPath.Of(output);
        foreach (var input in inputs)
        {
            var inReal = RealPath.Of(input.Path);
            string? relation = null;
            if (string.Equals(outReal, inReal, StringComparison.Ordinal)) relation = "is";
            else if (RealPath.IsInside(inReal, outReal)) relation = "contains";
            else if (RealPath.IsInside(outReal, inReal)) relation = "is inside";
            if (relation is null) continue;
            throw new OutputConflictException(
                $"The output {optionName} '{output}' {relation} the {input.Role} '{input.Path}'" +
                (outReal != System.IO.Path.GetFullPath(output).TrimEnd(System.IO.Path.DirectorySeparatorChar) ? $" (it resolves to '{outReal}')" : "") +
                $", so writing it could delete that input. Nothing was written. Choose an output path outside every input, for example a new folder beside it.",
                output);
        }
    }
}
