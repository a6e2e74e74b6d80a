using System;
using System.IO;
using System.Linq;
using SharpFuzz;
using TrainableTokens.Fuzz;

// fuzz <target>           the afl-fuzz loop (stdin per input); run by tests/fuzz/run.sh
// replay <target> <file>  one or more inputs outside afl-fuzz: prints each outcome, exit code 1 when any is a finding
//                         (TTFUZZ_STACK=1 also prints the exception each finding threw)
// list                    the target names
if (args.Length == 1 && args[0] == "list")
{
    foreach (var t in FuzzTargets.All) Console.WriteLine(t.Name);
    return 0;
}
if (args.Length == 2 && args[0] == "fuzz")
{
    var target = FuzzTargets.Get(args[1]);
    using var runner = new FuzzRunner(target);
    // Out of process: a stack overflow or a native abort kills only the child, which afl-fuzz then sees as a crash.
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        runner.Run(memory.GetBuffer().AsSpan(0, (int)memory.Length));
    });
    return 0;
}
if (args.Length >= 3 && args[0] == "replay")
{
    var target = FuzzTargets.Get(args[1]);
    TraceBuffer.Attach();
    using var runner = new FuzzRunner(target);
    var findings = 0;
    foreach (var file in args.Skip(2))
    {
        try
        {
            var outcome = runner.Run(File.ReadAllBytes(file));
            Console.WriteLine(outcome.Accepted ? $"ok accepted  {file}" : $"ok refused   {file}: {outcome.Message!.Replace(runner.InputPath, "<input>").ReplaceLineEndings(" ")}");
        }
        catch (FuzzFinding e)
        {
            findings++;
            Console.WriteLine($"FINDING      {file}: {e.Problem}");
            if (Environment.GetEnvironmentVariable("TTFUZZ_STACK") == "1") Console.WriteLine(e.InnerException);
        }
    }
    return findings == 0 ? 0 : 1;
}
Console.Error.WriteLine("Usage: TrainableTokens.Fuzz fuzz <target> | replay <target> <file>... | list");
return 2;

/// <summary>The instrumented engine records each branch in afl-fuzz's shared memory; outside afl-fuzz it needs a buffer of its own.</summary>
internal static class TraceBuffer
{
    public static unsafe void Attach()
    {
        if (SharpFuzz.Common.Trace.SharedMem == null)
            SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1 << 16);
    }
}
