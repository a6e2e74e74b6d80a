using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Tokenization;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Adds tokens to a model folder (tokenizer files and a resized embedding) or a tokenizer-only folder, writing a new
/// folder atomically, and returns each token with its id.
/// </summary>
[Cmdlet(VerbsCommon.Add, "TokenizerToken", SupportsShouldProcess = true)]
[OutputType(typeof(AddedToken))]
public sealed class AddTokenizerToken : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Path", "FullName")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelFolderCompleter))]
    public string Model { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string[] Token { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string OutputPath { get; set; } = "";

    [Parameter]
    public SwitchParameter Special { get; set; }

    [Parameter]
    [ValidateSet("Mean", "Text", "Copy", "Random")]
    public string InitFrom { get; set; } = "Mean";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] InitText { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] InitToken { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateRange(1, 1_000_000)]
    public int PadToMultipleOf { get; set; }

    [Parameter]
    public int Seed { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Outputs written by this pipeline, with the model each came from.</summary>
    private readonly Dictionary<string, string> _written = new();

    protected override void ProcessRecord()
    {
        var model = GetUnresolvedProviderPathFromPSPath(Model);
        var output = GetUnresolvedProviderPathFromPSPath(OutputPath);
        if (_written.TryGetValue(output, out var writtenFrom))
        {
            // An earlier result pipes one object per token, each naming the same model: that model is done.
            if (writtenFrom == model) return;
            WriteError(new ErrorRecord(new IOException($"'{output}' already holds '{writtenFrom}' with the tokens added in this pipeline; '{model}' would replace it. " +
                "Give each model its own -OutputPath (ForEach-Object)."), "OutputPathReused", ErrorCategory.ResourceExists, output));
            return;
        }
        if (InitFrom == "Text" && InitText.Length == 0)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("-InitFrom Text needs -InitText: the text whose tokens' mean each new row starts from."),
                "InitTextMissing", ErrorCategory.InvalidArgument, null));
        if (InitFrom == "Copy" && InitToken.Length == 0)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("-InitFrom Copy needs -InitToken: the existing token whose row each new row copies."),
                "InitTokenMissing", ErrorCategory.InvalidArgument, null));
        try
        {
            CheckOutput(model, output, Force);
            if (!ShouldProcess(output, $"Write {model} with token(s) {string.Join(", ", Token)} added")) return;
            _written[output] = model;
            foreach (var item in Run(model, output, this))
            {
                if (item is string warning) WriteWarning(warning);
                else WriteObject(item);
            }
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CheckOutput(string model, string output, bool force) => TokenAdder.CheckOutput(model, output, force);

    /// <summary>The tokens as objects, preceded by the notes (strings) to show as warnings.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static object[] Run(string model, string output, AddTokenizerToken p)
    {
        var result = TokenAdder.Run(new AddTokensRequest
        {
            Source = model,
            Output = output,
            Tokens = p.Token,
            Special = p.Special,
            Init = Enum.Parse<NewRowInit>(p.InitFrom),
            InitTexts = p.InitText,
            InitTokens = p.InitToken,
            PadToMultipleOf = p.PadToMultipleOf > 0 ? p.PadToMultipleOf : null,
            Seed = p.Seed,
            Overwrite = p.Force,
        });
        var tokens = result.Tokens.Select(t => (object)new AddedToken
        {
            Token = t.Token,
            Id = t.Id,
            Special = t.Special,
            Added = t.Added,
            Model = result.Output,
            TokenizerSize = result.TokenizerSize,
            VocabSize = result.NewVocabSize,
        });
        return result.Notes.Cast<object>().Concat(tokens).ToArray();
    }
}
