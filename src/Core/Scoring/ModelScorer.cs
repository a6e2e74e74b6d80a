using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Training.Data;
using TrainableTokens.Core.Tuners;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Scoring;

/// <summary>
/// A model loaded once, with its adapters active, for scoring: the loss of a dataset (the trainer's eval loss, computed
/// by the same code), the log-probability of each token of a text, and the probability of a token after a prompt.
/// Every check (model folder, device, adapters against the model, token ids) runs before the model is loaded; each
/// score can be taken with the adapters or without them (the base model exactly).
/// </summary>
public sealed class ModelScorer : IDisposable
{
    private readonly CausalLanguageModel _model;
    private readonly AdapterStack _tuner;
    private readonly ModelTokenizer _tokenizer;
    private readonly string[] _names;

    private ModelScorer(string folder, ModelConfig config, IReadOnlyList<string> adapters, CausalLanguageModel model, AdapterStack tuner, ModelTokenizer tokenizer, string[] names)
    {
        ModelFolder = folder;
        Config = config;
        Adapters = adapters;
        _model = model;
        _tuner = tuner;
        _tokenizer = tokenizer;
        _names = names;
    }

    public string ModelFolder { get; }
    public ModelConfig Config { get; }
    public IReadOnlyList<string> Adapters { get; }

    /// <summary>Checks everything, then loads the model and its adapters.</summary>
    public static ModelScorer Open(ScoringModel request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var folder = Path.GetFullPath(request.ModelFolder);
        var config = ModelConfigReader.ReadFolder(folder);
        var adapters = request.AdapterFolders.Select(a => Path.GetFullPath(a)).ToList();
        foreach (var adapter in adapters) AdapterCompatibility.Ensure(adapter, folder, config);
        AdapterCompatibility.EnsureDisjoint(adapters);
        DeviceCheck.EnsureUsable(request.Device, request.Dtype);
        var dtype = ModelDtype.Parse(request.Dtype);
        var device = new Device(request.Device);
        var tokenizer = ModelTokenizer.Load(folder);
        CausalLanguageModel? model = null;
        AdapterStack? tuner = null;
        try
        {
            model = ModelLoader.Load(folder, dtype, device);
            tuner = AdapterStack.Load(model, adapters);
            var names = tuner.Names.ToArray();
            return new ModelScorer(folder, config, adapters, model, tuner, tokenizer, names);
        }
        catch
        {
            tuner?.Dispose();
            model?.Dispose();
            tokenizer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads and tokenises <paramref name="datasetFile"/> as training does (same reader, chat template, masking and
    /// cut to <paramref name="maxSeqLength"/>). Problems with the file are one <see cref="InvalidDatasetException"/>.
    /// </summary>
    public TokenizedDataset ReadDataset(string datasetFile, int maxSeqLength)
    {
        var path = Path.GetFullPath(datasetFile);
        CheckLength(maxSeqLength, "-MaxSeqLength", $"max_seq_length {maxSeqLength}");
        var errors = DatasetFileCheck.Check(path).Where(i => i.Severity == ConfigSeverity.Error).Select(i => i.Message).ToList();
        if (errors.Count > 0)
            throw new InvalidDatasetException(string.Join(" ", errors.Take(3)) + (errors.Count > 3 ? $" And {errors.Count - 3} more problems." : ""), path);
        var dataset = TokenizedDataset.Build(_tokenizer, DatasetReader.ReadFile(path), new DatasetOptions { MaxLength = maxSeqLength }, path);
        var tooLarge = dataset.Examples.SelectMany(e => e.InputIds).Where(id => id >= Config.VocabSize).Distinct().Take(5).ToList();
        if (tooLarge.Count > 0)
            throw new InvalidDatasetException($"'{path}' tokenises to ids {string.Join(", ", tooLarge)}, past the model's vocabulary ({Config.VocabSize}). Resize the model with Add-TokenizerToken.", path);
        return dataset;
    }

    /// <summary>The mean loss per labelled token of <paramref name="dataset"/>, in order, in batches of <paramref name="batchSize"/>.</summary>
    public DatasetScore Score(TokenizedDataset dataset, string source, int batchSize, bool withAdapters = true)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize < 1) throw new ArgumentException("The batch size must be at least 1.", nameof(batchSize));
        var (total, labelled) = Use(withAdapters, () => EvaluationLoss.Over(_model, dataset.Batches(batchSize, device: _model.Device)));
        if (labelled == 0)
            throw new InvalidDatasetException($"'{source}' has no token to score after the first of each example. Give texts of at least two tokens, or completions.", source);
        return new DatasetScore
        {
            Model = ModelFolder, Adapters = withAdapters ? Adapters : [], Dataset = source, Sequences = dataset.Examples.Count,
            ScoredTokens = labelled, Loss = total / labelled, MaxSeqLength = dataset.Options.MaxLength, BatchSize = batchSize,
        };
    }

    /// <summary>The log-probability of each token of <paramref name="text"/> after those before it.</summary>
    public TextScore ScoreText(string text, bool withAdapters = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = _tokenizer.Encode(text, addSpecialTokens: true);
        if (ids.Length < 2)
            throw new SequenceTooShortException($"-Text tokenises to {ids.Length} token(s); scoring needs at least two (the first has nothing before it to be predicted from). Give a longer text.", "-Text");
        CheckLength(ids.Length, "-Text", $"the text is {ids.Length} tokens long");
        var tokens = Use(withAdapters, () =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var logProbs = LogProbabilities(ids)[..^1];
            var next = tensor(ids[1..].Select(i => (long)i).ToArray(), device: _model.Device).unsqueeze(1);
            var chosen = logProbs.gather(1, next);
            var ranks = logProbs.gt(chosen).sum(1);
            var values = chosen.squeeze(1).cpu().data<float>().ToArray();
            var rankValues = ranks.cpu().data<long>().ToArray();
            return Enumerable.Range(1, ids.Length - 1)
                .Select(p => new TokenScore(p, ids[p], _tokenizer.IdToToken(ids[p]), values[p - 1], (int)rankValues[p - 1] + 1)).ToList();
        });
        return new TextScore { Model = ModelFolder, Adapters = withAdapters ? Adapters : [], Text = text, InputIds = ids, Tokens = tokens };
    }

    /// <summary>How likely each of <paramref name="tokens"/> (each one token of the tokenizer) is right after <paramref name="prompt"/>.</summary>
    public IReadOnlyList<NextTokenScore> ScoreNext(string prompt, IReadOnlyList<string> tokens, int top = 5, bool withAdapters = true)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var (tokenIds, problems) = TokenSelection.Resolve(ModelFolder, tokens);
        if (problems.Count > 0) throw problems[0];
        // The tokenizer may know tokens the model has no rows for yet (added, not resized).
        if (tokenIds.FirstOrDefault(id => id >= Config.VocabSize, -1) is var past and >= 0) throw new TokenIdOutOfRangeException(past, Config.VocabSize);
        var ids = _tokenizer.Encode(prompt, addSpecialTokens: true);
        if (ids.Length == 0) throw new SequenceTooShortException("-After tokenises to no token at all; give some text (or a tokenizer that adds a beginning-of-sequence token).", "-After");
        CheckLength(ids.Length + 1, "-After", $"the prompt is {ids.Length} tokens long, and the next token needs one position more");
        return Use(withAdapters, () =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var last = LogProbabilities(ids)[^1].cpu();
            var all = last.data<float>().ToArray();
            var k = Math.Min(Math.Max(top, 1), all.Length);
            var (values, indices) = last.topk(k);
            var best = values.data<float>().ToArray().Zip(indices.data<long>().ToArray())
                .Select(x => new TokenCandidate((int)x.Second, _tokenizer.IdToToken((int)x.Second), Math.Exp(x.First))).ToList();
            return tokens.Select((token, i) =>
            {
                var id = tokenIds[i];
                var value = all[id];
                var rank = 1 + all.Where((v, j) => v > value || (v == value && j < id)).Count();
                return new NextTokenScore
                {
                    Model = ModelFolder, Adapters = withAdapters ? Adapters : [], Prompt = prompt, Token = token, TokenId = id,
                    LogProbability = value, Rank = rank, Top = best,
                };
            }).ToList();
        });
    }

    /// <summary>Log-softmax over the vocabulary at every position of <paramref name="ids"/>, float32 [positions, vocab].</summary>
    private Tensor LogProbabilities(int[] ids)
    {
        // On the CPU: the model checks the ids there and moves them, so no forward reads the device back.
        var input = tensor(ids.Select(i => (long)i).ToArray(), new long[] { 1, ids.Length }, device: CPU);
        using var output = _model.Forward(input);
        return output.Logits[0].to(ScalarType.Float32).log_softmax(-1);
    }

    private T Use<T>(bool withAdapters, Func<T> score)
    {
        if (withAdapters || _names.Length == 0) return score();
        _tuner.Disable();
        try
        {
            return score();
        }
        finally
        {
            _tuner.Enable();
        }
    }

    private void CheckLength(int positions, string target, string what)
    {
        if (positions <= Config.MaxPositions) return;
        throw new SequenceTooLongException(
            $"{char.ToUpperInvariant(what[0])}{what[1..]}, but the model '{ModelFolder}' handles at most {Config.MaxPositions} positions (max_position_embeddings). Shorten it to {Config.MaxPositions} tokens or fewer.", target);
    }

    public void Dispose()
    {
        _tuner.Dispose();
        _model.Dispose();
        _tokenizer.Dispose();
    }
}
