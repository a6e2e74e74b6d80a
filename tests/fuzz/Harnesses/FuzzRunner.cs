using System;
using System.IO;
using TrainableTokens.Core;

namespace TrainableTokens.Fuzz;

/// <summary>
/// Runs inputs through one <see cref="FuzzTarget"/> in a private temporary folder and applies the pass condition: the
/// parser returns, or throws a <see cref="TrainableTokensException"/> whose message names the file and stays short.
/// Anything else throws <see cref="FuzzFinding"/>. Hangs and process crashes are caught outside: by afl-fuzz's timeout
/// and crash detection, and by the replay test's per-input time limit.
/// </summary>
public sealed class FuzzRunner : IDisposable
{
    /// <summary>Longer messages bury the point; readers give the first few problems and a count of the rest.</summary>
    public const int MaxMessageLength = 2000;

    private readonly FuzzTarget _target;
    private readonly string _folder;

    public FuzzRunner(FuzzTarget target)
    {
        _target = target ?? throw new ArgumentNullException(nameof(target));
        _folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ttfuzz-{target.Name}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_folder);
        target.Prepare(_folder);
        InputPath = System.IO.Path.Combine(_folder, target.FileName);
    }

    /// <summary>Where each input is written before the parser reads it.</summary>
    public string InputPath { get; }

    public FuzzOutcome Run(ReadOnlySpan<byte> input)
    {
        using (var file = new FileStream(InputPath, FileMode.Create, FileAccess.Write, FileShare.Read))
            file.Write(input);
        try
        {
            _target.Parse(_folder, InputPath);
            return FuzzOutcome.Accept;
        }
        catch (TrainableTokensException e)
        {
            if (!e.Message.Contains(InputPath, StringComparison.Ordinal))
                throw new FuzzFinding(_target.Name, $"{e.GetType().Name} does not name the file: {Shorten(e.Message)}", e);
            if (e.Message.Length > MaxMessageLength)
                throw new FuzzFinding(_target.Name, $"{e.GetType().Name} message is {e.Message.Length} characters: {Shorten(e.Message)}", e);
            return new FuzzOutcome(false, e.Message);
        }
        catch (Exception e)
        {
            throw new FuzzFinding(_target.Name, $"{e.GetType().FullName}: {Shorten(e.Message)}", e);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private string Shorten(string message)
    {
        var text = message.Replace(_folder, "<input>", StringComparison.Ordinal).ReplaceLineEndings(" ");
        return text.Length <= 300 ? text : text[..300] + "...";
    }
}
