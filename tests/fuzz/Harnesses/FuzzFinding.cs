using System;
using TrainableTokens.Core;

namespace TrainableTokens.Fuzz;

/// <summary>
/// An input broke the pass condition: the parser threw something other than a <see cref="TrainableTokensException"/>,
/// or one whose message does not name the file or is too long to read. Thrown out of the harness so afl-fuzz records a
/// crash; <see cref="Exception.InnerException"/> is what the parser threw.
/// </summary>
public sealed class FuzzFinding : Exception
{
    public FuzzFinding(string target, string problem, Exception inner)
        : base($"{target}: {problem}", inner)
    {
        Problem = problem;
    }

    /// <summary>What is wrong, in one line, without the path of the temporary input (so equal findings group).</summary>
    public string Problem { get; }
}
