using System;
using System.Collections.Generic;
using System.IO;

namespace TrainableTokens.Core.Tests.Reference;

/// <summary>
/// A folder's weights for the reference, rounded to the dtype the model runs in (from_pretrained(torch_dtype=...)
/// casts every weight) and looked up by their name below the decoder's prefix.
/// </summary>
internal sealed class NaiveWeights
{
    readonly Dictionary<string, NaiveTensor> _all;
    readonly string _prefix;
    public Precision Precision { get; }
    public NaiveTensor Embedding { get; }
    public NaiveTensor LmHead { get; }

    NaiveWeights(Dictionary<string, NaiveTensor> all, string prefix, string headName, NaiveConfig config, Precision precision)
    {
        _all = all;
        _prefix = prefix;
        Precision = precision;
        Embedding = Get(config.ModelType == "gpt2" ? "wte.weight" : "embed_tokens.weight");
        LmHead = config.TieWordEmbeddings ? Embedding
            : all.TryGetValue(headName, out var head) ? head
            : throw new InvalidDataException($"tie_word_embeddings is false but the folder has no {headName}");
    }

    public static NaiveWeights Load(string folder, NaiveConfig config, Precision precision)
    {
        var all = NaiveSafetensors.ReadFolder(folder);
        foreach (var t in all.Values) precision.RoundAll(t.Values);
        string prefix, head = "lm_head.weight";
        if (config.ModelType == "gpt2") prefix = all.ContainsKey("transformer.wte.weight") ? "transformer." : "";
        else if (config.Multimodal)
        {
            // Hub checkpoints of Gemma3ForConditionalGeneration store language_model.model.*, language_model.lm_head;
            // transformers 5 saves model.language_model.* and lm_head (its _checkpoint_conversion_mapping).
            if (all.ContainsKey("language_model.model.embed_tokens.weight")) { prefix = "language_model.model."; head = "language_model.lm_head.weight"; }
            else prefix = "model.language_model.";
        }
        else prefix = "model.";
        return new NaiveWeights(all, prefix, head, config, precision);
    }

    public NaiveTensor Get(string name) =>
        _all.TryGetValue(_prefix + name, out var t) ? t : throw new InvalidDataException($"the folder has no weight {_prefix + name}");
}
