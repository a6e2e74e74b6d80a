using System;
using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Tokenization;

namespace TrainableTokens.Core.Training.Data;

/// <summary>
/// Training records tokenised as Hugging Face's TRL does for causal LMs: text gets the tokenizer's special tokens and
/// an eos, loss on every token; prompt/completion is tokenised as prompt and as prompt+completion, with loss only after
/// the prompt's tokens; conversations are rendered with the chat template and tokenised without added special tokens.
/// Sequences are cut to <see cref="DatasetOptions.MaxLength"/> or packed into chunks of it. Holds plain ids, no tensors:
/// <see cref="Batches"/> makes them.
/// </summary>
public sealed class TokenizedDataset
{
    private TokenizedDataset(IReadOnlyList<TokenizedExample> examples, int padTokenId, DatasetOptions options, DatasetSummary summary)
    {
        Examples = examples;
        PadTokenId = padTokenId;
        Options = options;
        Summary = summary;
    }

    public IReadOnlyList<TokenizedExample> Examples { get; }
    /// <summary>The id padding uses: the tokenizer's pad token, else its eos token, else 0 (padding is masked either way).</summary>
    public int PadTokenId { get; }
    public DatasetOptions Options { get; }
    public DatasetSummary Summary { get; }

    /// <summary>Tokenises <paramref name="records"/>; <paramref name="source"/> names the data in errors (a file or "pipeline input").</summary>
    public static TokenizedDataset Build(ModelTokenizer tokenizer, IEnumerable<DatasetRecord> records, DatasetOptions options, string source)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(records);
        if (options.MaxLength < 1) throw new ArgumentException("The maximum sequence length must be at least 1.", nameof(options));
        var eos = tokenizer.EosTokenId;
        ChatTemplate? template = null;
        var examples = new List<TokenizedExample>();
        var formats = new Dictionary<DatasetFormat, int>();
        int count = 0, truncated = 0, empty = 0, prefixMismatches = 0;
        foreach (var record in records)
        {
            count++;
            formats[record.Format] = formats.GetValueOrDefault(record.Format) + 1;
            List<int> ids;
            int promptLength = 0;
            switch (record.Format)
            {
                case DatasetFormat.Messages:
                    template ??= ChatTemplate.For(tokenizer);
                    ids = tokenizer.Encode(template.Render(record.Messages!, record.Source, record.Line), addSpecialTokens: false).ToList();
                    break;
                case DatasetFormat.PromptCompletion:
                    var prompt = tokenizer.Encode(record.Prompt!, addSpecialTokens: true);
                    ids = tokenizer.Encode(record.Prompt + record.Completion, addSpecialTokens: true).ToList();
                    // As TRL: the loss starts after as many tokens as the prompt alone has, even when merges across the boundary differ.
                    if (ids.Count < prompt.Length || !ids.Take(prompt.Length).SequenceEqual(prompt)) prefixMismatches++;
                    promptLength = Math.Min(prompt.Length, ids.Count);
                    AppendEos(ids, eos, options);
                    break;
                default:
                    ids = tokenizer.Encode(record.Text ?? "", addSpecialTokens: true).ToList();
                    AppendEos(ids, eos, options);
                    break;
            }
            if (ids.Count == 0)
            {
                empty++;
                continue;
            }
            var labels = ids.Select((id, i) => i < promptLength ? TokenizedExample.IgnoreIndex : id).ToList();
            if (!options.Packing && ids.Count > options.MaxLength)
            {
                truncated++;
                ids.RemoveRange(options.MaxLength, ids.Count - options.MaxLength);
                labels.RemoveRange(options.MaxLength, labels.Count - options.MaxLength);
            }
            examples.Add(new TokenizedExample(ids, labels));
        }
        if (options.Packing) examples = Pack(examples, options.MaxLength);
        var labelled = examples.Sum(e => e.Labels.Count(l => l != TokenizedExample.IgnoreIndex));
        if (labelled == 0)
            throw new InvalidDatasetException(
                count == 0
                    ? $"'{source}' holds no records. Give at least one record with \"text\", \"prompt\"/\"completion\" or \"messages\" (a .txt file needs non-blank lines)."
                    : $"'{source}' tokenises to nothing to learn from: {count} record(s), {examples.Sum(e => e.InputIds.Count)} token(s), none of them in a completion or text. " +
                      "Check that completions and texts are not empty.", source);
        var summary = new DatasetSummary(count, examples.Count, examples.Sum(e => e.InputIds.Count), labelled, truncated, empty, prefixMismatches, formats, template?.Shape);
        return new TokenizedDataset(examples, tokenizer.PadTokenId ?? eos ?? 0, options, summary);
    }

    /// <summary>
    /// The examples in batches of <paramref name="batchSize"/> (the last may be smaller), in order or shuffled with
    /// <paramref name="seed"/>. Each batch owns its tensors: dispose it after the step.
    /// </summary>
    public IEnumerable<Batch> Batches(int batchSize, bool shuffle = false, int seed = 0, TorchSharp.torch.Device? device = null)
    {
        if (batchSize < 1) throw new ArgumentException("The batch size must be at least 1.", nameof(batchSize));
        var order = Enumerable.Range(0, Examples.Count).ToArray();
        if (shuffle) new Random(seed).Shuffle(order);
        var collator = new DataCollator(PadTokenId);
        for (var start = 0; start < order.Length; start += batchSize)
            yield return collator.Collate(order.Skip(start).Take(batchSize).Select(i => Examples[i]).ToList(), device);
    }

    private static void AppendEos(List<int> ids, int? eos, DatasetOptions options)
    {
        if (options.AddEos && eos is { } e && (ids.Count == 0 || ids[^1] != e)) ids.Add(e);
    }

    private static List<TokenizedExample> Pack(List<TokenizedExample> examples, int length)
    {
        var ids = examples.SelectMany(e => e.InputIds).ToList();
        var labels = examples.SelectMany(e => e.Labels).ToList();
        var packed = new List<TokenizedExample>();
        for (var start = 0; start < ids.Count; start += length)
        {
            var n = Math.Min(length, ids.Count - start);
            packed.Add(new TokenizedExample(ids.GetRange(start, n), labels.GetRange(start, n)));
        }
        return packed;
    }
}
