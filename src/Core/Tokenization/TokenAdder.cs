using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// Adds tokens to a tokenizer folder or a whole model folder and writes the result atomically: the output folder
/// appears complete or not at all. Tokenizer files get the new tokens (<see cref="AddedTokensWriter"/>), a model's
/// weights grow to the new vocabulary (<see cref="EmbeddingResizer"/>), every other file is copied unchanged.
/// </summary>
public static class TokenAdder
{
    /// <summary>The command named in the output's marker: -Force replaces only folders it wrote.</summary>
    public const string Writer = "Add-TokenizerToken";

    private static readonly string[] PickleExtensions = { ".bin", ".pt", ".pth", ".ckpt", ".pkl" };

    public static AddTokensResult Run(AddTokensRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Tokens.Count == 0) throw new ArgumentException("Give at least one token to add.", nameof(request));
        if (request.PadToMultipleOf is <= 0) throw new ArgumentException("-PadToMultipleOf must be a positive number.", nameof(request));
        var source = Path.GetFullPath(request.Source);
        var output = Path.GetFullPath(request.Output);
        CheckOutput(source, output, request.Overwrite);
        using var tokenizer = ModelTokenizer.Load(source);
        var additions = AddedTokensWriter.Plan(tokenizer, request.Tokens, request.Special);
        var notes = additions.Where(a => a.Note is not null).Select(a => a.Note!).ToList();
        var isModel = IsModelFolder(source);
        EmbeddingResizePlan? plan = null;
        if (isModel)
            plan = Plan(request, tokenizer, additions, ModelConfigReader.ReadFolder(source), notes);
        else if (request.Init != NewRowInit.Mean || request.PadToMultipleOf is not null)
            notes.Add($"'{source}' holds no model weights (config.json with safetensors), so only the tokenizer was changed; -InitFrom and -PadToMultipleOf apply to model folders.");


        EmbeddingResizeResult? resized = null;
        var skipped = new List<string>();
        int writtenSize = 0;
        AtomicFolder.Write(output, temp =>
        {
            CopyOtherFiles(source, temp, isModel, skipped);
            AddedTokensWriter.Write(tokenizer, additions, temp);
            if (plan is not null) resized = EmbeddingResizer.Resize(source, temp, plan);
            // Checked before the folder is moved into place, so a wrong result never replaces anything.
            using var written = ModelTokenizer.Load(temp);
            foreach (var a in additions)
                if (written.TokenToId(a.Token) != a.Id)
                    throw new InvalidTokenizerException(
                        $"The written tokenizer gives '{a.Token}' id {written.TokenToId(a.Token)}, not {a.Id}; nothing was written. " +
                        "The tokenizer's normaliser changes the token: add it with -Special.", source);
            writtenSize = written.Size;
        }, request.Overwrite, Writer);
        foreach (var file in skipped)
            notes.Add($"'{file}' was not copied: PyTorch pickle weights are never read, and a copy would not match the resized safetensors weights.");

        return new AddTokensResult(output, additions, writtenSize, resized?.OldVocabSize, resized?.NewVocabSize,
            resized?.ResizedTensors ?? Array.Empty<string>(), notes);
    }

    /// <summary>Refuses an output that is, contains or lies inside the source, or that exists and may not be replaced.
    /// Cheap (no file is read), so cmdlets call it before -WhatIf returns.</summary>
    public static void CheckOutput(string source, string output, bool overwrite)
    {
        OutputGuard.EnsureApart(output, "-OutputPath", [new CommandInput("source folder", source)]);
        AtomicFolder.EnsureWritable(output, overwrite, Writer);
    }

    /// <summary>A folder with config.json and safetensors weights; anything else is treated as a tokenizer folder.</summary>
    public static bool IsModelFolder(string folder) =>
        File.Exists(Path.Combine(folder, ModelConfigReader.FileName)) &&
        (File.Exists(Path.Combine(folder, Checkpoint.SingleFileName)) || File.Exists(Path.Combine(folder, Checkpoint.IndexFileName)));

    private static EmbeddingResizePlan Plan(AddTokensRequest request, ModelTokenizer tokenizer, IReadOnlyList<TokenAddition> additions, ModelConfig config, List<string> notes)
    {
        var newIds = additions.Where(a => a.Added).Select(a => a.Id).ToList();
        var needed = Math.Max(config.VocabSize, tokenizer.Size + newIds.Count);
        var target = request.PadToMultipleOf is { } n ? (int)((needed + (long)n - 1) / n * n) : needed;
        var sources = new Dictionary<int, int[]>();
        var added = additions.Where(a => a.Added).ToList();
        if (request.Init is NewRowInit.Text or NewRowInit.Copy)
        {
            var given = request.Init == NewRowInit.Text ? request.InitTexts : request.InitTokens;
            var option = request.Init == NewRowInit.Text ? "-InitText" : "-InitToken";
            if (given.Count != 1 && given.Count != request.Tokens.Count)
                throw new ArgumentException($"-InitFrom {request.Init} needs {option} with one value for all tokens or one per token ({request.Tokens.Count}); {given.Count} were given.", nameof(request));
            for (var i = 0; i < additions.Count; i++)
            {
                if (!additions[i].Added) continue;
                var value = given.Count == 1 ? given[0] : given[i];
                sources[additions[i].Id] = request.Init == NewRowInit.Text
                    ? TextRows(tokenizer, value, config.VocabSize)
                    : new[] { CopyRow(tokenizer, value, config.VocabSize) };
            }
        }
        var inside = added.Where(a => a.Id < config.VocabSize && !sources.ContainsKey(a.Id)).Select(a => a.Id).ToList();
        if (added.Any(a => a.Id < config.VocabSize))
            notes.Add($"The model's vocab_size ({config.VocabSize}) already covers id(s) {string.Join(", ", added.Where(a => a.Id < config.VocabSize).Select(a => a.Id))}; " +
                "those rows (unused until now) were initialised like new rows, all others were copied unchanged.");
        return new EmbeddingResizePlan { NewVocabSize = target, Init = request.Init, RowSources = sources, ReinitialisedRows = inside, Seed = request.Seed };
    }

    private static int[] TextRows(ModelTokenizer tokenizer, string text, int vocabSize)
    {
        var ids = tokenizer.Encode(text, addSpecialTokens: false);
        if (ids.Length == 0)
            throw new ArgumentException($"-InitText '{text}' gives no tokens; give a word or phrase whose meaning the new token should start from.");
        foreach (var id in ids)
            if (id >= vocabSize) throw new TokenIdOutOfRangeException(id, vocabSize);
        return ids;
    }

    private static int CopyRow(ModelTokenizer tokenizer, string token, int vocabSize)
    {
        var id = tokenizer.TokenToId(token);
        if (id is null)
        {
            var ids = tokenizer.Encode(token, addSpecialTokens: false);
            if (ids.Length != 1)
                throw new ArgumentException(
                    $"-InitToken '{token}' is not one token of this tokenizer (it gives {ids.Length} tokens). Give a vocabulary entry, " +
                    "for example one ConvertTo-TokenId lists in its Tokens, or use -InitFrom Text to average several.");
            id = ids[0];
        }
        if (id >= vocabSize) throw new TokenIdOutOfRangeException(id.Value, vocabSize);
        return id.Value;
    }

    /// <summary>Copies every file the output does not rewrite (sub-folders whole), verified against the source; links
    /// out of the folder and files that change while they are copied are refused (<see cref="ModelFolderCopy"/>).</summary>
    private static void CopyOtherFiles(string source, string target, bool isModel, List<string> skipped)
    {
        var weights = isModel ? WeightFiles(source) : new HashSet<string>(StringComparer.Ordinal);
        bool Copied(string relative)
        {
            if (Path.GetDirectoryName(relative) is { Length: > 0 }) return true; // sub-folders are copied whole
            if (AddedTokensWriter.RewrittenFiles.Contains(relative) || weights.Contains(relative)) return false;
            if (isModel && relative == ModelConfigReader.FileName) return false;
            if (isModel && PickleExtensions.Contains(Path.GetExtension(relative), StringComparer.OrdinalIgnoreCase))
            {
                skipped.Add(relative);
                return false;
            }
            return true;
        }
        ModelFolderCopy.Plan(source, Copied).CopyTo(target);
    }

    private static HashSet<string> WeightFiles(string folder)
    {
        var names = new HashSet<string>(StringComparer.Ordinal) { Checkpoint.SingleFileName, Checkpoint.IndexFileName };
        var index = Path.Combine(folder, Checkpoint.IndexFileName);
        if (File.Exists(index))
            foreach (var (_, shard) in CheckpointIndex.Read(index)) names.Add(shard);
        return names;
    }
}
