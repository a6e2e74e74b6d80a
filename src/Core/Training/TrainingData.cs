using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Training.Data;

namespace TrainableTokens.Core.Training;

/// <summary>
/// The examples a run trains on and those it evaluates on: the tokenised dataset, less a seeded eval_split fraction, or
/// the whole dataset with eval_dataset tokenised the same way. Each part has a fingerprint of its token ids and labels,
/// which a checkpoint records so that it is resumed only on the same data.
/// </summary>
internal sealed class TrainingData
{
    private TrainingData(IReadOnlyList<TokenizedExample> train, IReadOnlyList<TokenizedExample> eval, int padTokenId, string? evalSource)
    {
        Train = train;
        Eval = eval;
        PadTokenId = padTokenId;
        EvalSource = evalSource;
        TrainFingerprint = Fingerprint(train);
        EvalFingerprint = eval.Count == 0 ? null : Fingerprint(eval);
    }

    public IReadOnlyList<TokenizedExample> Train { get; }
    public IReadOnlyList<TokenizedExample> Eval { get; }
    public int PadTokenId { get; }
    /// <summary>The eval_dataset file, or null for a split (or no evaluation).</summary>
    public string? EvalSource { get; }
    public string TrainFingerprint { get; }
    public string? EvalFingerprint { get; }

    /// <summary>The train and eval parts of a run's data: <paramref name="dataset"/> is the tokenised training dataset,
    /// <paramref name="evalDataset"/> the tokenised eval_dataset (<paramref name="evalPath"/>) when there is one.</summary>
    public static TrainingData Prepare(TokenizedDataset dataset, TokenizedDataset? evalDataset, string? evalPath, TrainingConfig train)
    {
        if (evalDataset is not null)
        {
            if (evalDataset.Examples.All(e => e.Labels.Skip(1).All(l => l == TokenizedExample.IgnoreIndex)))
                throw new InvalidDatasetException($"The eval_dataset '{evalPath}' has no tokens to score after the first of each example. Give examples with a completion or text of at least two tokens.", evalPath);
            return new TrainingData(dataset.Examples, evalDataset.Examples, dataset.PadTokenId, evalPath);
        }
        return Split(dataset.Examples, dataset.PadTokenId, train.EvalSplit, train.Seed);
    }

    /// <summary>Holds out ceil(<paramref name="fraction"/> x n) examples, chosen by <paramref name="seed"/>, as Hugging Face's
    /// train_test_split counts them; both parts keep the dataset's order (training shuffles per epoch).</summary>
    public static TrainingData Split(IReadOnlyList<TokenizedExample> examples, int padTokenId, double fraction, int seed)
    {
        if (fraction <= 0) return new TrainingData(examples, [], padTokenId, null);
        var n = examples.Count;
        var held = (int)Math.Ceiling(fraction * n);
        if (held >= n)
            throw new TrainingFailedException("EvalSplitTooLarge", ErrorKind.InvalidArgument,
                $"training.eval_split {fraction} holds out {held} of the dataset's {n} examples, which leaves none to train on. Lower eval_split, or give eval_dataset.",
                "training.eval_split");
        var order = Enumerable.Range(0, n).ToArray();
        new Random(seed).Shuffle(order);
        var heldOut = order.Take(held).ToHashSet();
        var eval = Enumerable.Range(0, n).Where(heldOut.Contains).Select(i => examples[i]).ToList();
        if (eval.All(e => e.Labels.Skip(1).All(l => l == TokenizedExample.IgnoreIndex)))
            throw new TrainingFailedException("EvalSplitTooLarge", ErrorKind.InvalidArgument,
                $"The {held} example(s) eval_split holds out have no tokens to score (only prompt tokens after max_seq_length). Raise eval_split or max_seq_length, or give eval_dataset.",
                "training.eval_split");
        return new TrainingData(Enumerable.Range(0, n).Where(i => !heldOut.Contains(i)).Select(i => examples[i]).ToList(), eval, padTokenId, null);
    }

    /// <summary>The training examples in batches, shuffled with <paramref name="seed"/> as <see cref="TokenizedDataset.Batches"/> does.</summary>
    public IEnumerable<Batch> TrainBatches(int batchSize, int seed, TorchSharp.torch.Device device) => Batches(Train, batchSize, seed, device);

    /// <summary>The order an epoch visits <paramref name="count"/> training examples in: shuffled with
    /// <paramref name="seed"/> (the run's seed plus the epoch's index). An exported job is given the same orders.</summary>
    public static int[] EpochOrder(int count, int seed)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new Random(seed).Shuffle(order);
        return order;
    }

    /// <summary>The evaluation examples in order.</summary>
    public IEnumerable<Batch> EvalBatches(int batchSize, TorchSharp.torch.Device device) => Batches(Eval, batchSize, null, device);

    private IEnumerable<Batch> Batches(IReadOnlyList<TokenizedExample> examples, int batchSize, int? seed, TorchSharp.torch.Device device)
    {
        var order = seed is { } s ? EpochOrder(examples.Count, s) : Enumerable.Range(0, examples.Count).ToArray();
        var collator = new DataCollator(PadTokenId);
        for (var start = 0; start < order.Length; start += batchSize)
            yield return collator.Collate(order.Skip(start).Take(batchSize).Select(i => examples[i]).ToList(), device);
    }

    private static string Fingerprint(IReadOnlyList<TokenizedExample> examples)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var number = new byte[4];
        void Add(int value)
        {
            BitConverter.TryWriteBytes(number, value);
            hash.AppendData(number);
        }
        Add(examples.Count);
        foreach (var e in examples)
        {
            Add(e.InputIds.Count);
            foreach (var id in e.InputIds) Add(id);
            foreach (var label in e.Labels) Add(label);
        }
        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }
}
