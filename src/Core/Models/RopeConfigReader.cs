using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;

namespace TrainableTokens.Core.Models;

/// <summary>
/// Reads config.json's rotary settings into <see cref="ModelConfig.Rope"/>, <see cref="ModelConfig.SlidingRope"/> and
/// <see cref="ModelConfig.PartialRotaryFactor"/>, as transformers 5 standardises them (configuration_utils'
/// rope mixin, modeling_rope_utils.py), from either layout:
/// <list type="bullet">
/// <item>4.x: <c>rope_theta</c> plus <c>rope_scaling</c> {rope_type or type, ...}; Gemma 3's sliding layers use
/// <c>rope_local_base_freq</c> with the default type.</item>
/// <item>5.x: <c>rope_parameters</c> {rope_type, rope_theta, ...}, or one such block per layer type
/// (<c>{"full_attention": {...}, "sliding_attention": {...}}</c>).</item>
/// </list>
/// original_max_position_embeddings (llama3, yarn, longrope) comes from the top level when config.json has it there
/// (Phi-3 always does: its config class defaults it to 4096), else from the block, else max_position_embeddings.
/// Every problem is an <see cref="InvalidModelFolderException"/> naming config.json and the field.
/// </summary>
internal static class RopeConfigReader
{
    private static readonly string[] LayerKinds = { "full_attention", "sliding_attention" };

    /// <summary><paramref name="config"/> with its rope fields read from <paramref name="f"/> (config.json's top level).</summary>
    public static ModelConfig With(ModelConfigReader.Fields f, ModelConfig config)
    {
        var type = config.ModelType;
        bool gemma3 = type is "gemma3_text" or "gemma3";
        // The config classes' defaults: Gemma 3 has a global and a local base, SmolLM3 a large one, the rest 10000.
        double globalTheta = gemma3 ? 1_000_000 : type == "smollm3" ? 2_000_000 : 10_000;
        const double localTheta = 10_000;

        var scaling = f.Object("rope_scaling");
        var parameters = f.Object("rope_parameters");
        bool perLayer = scaling is null && parameters is { } p && p.EnumerateObject().Any() && p.EnumerateObject().All(e => LayerKinds.Contains(e.Name));
        var partial = PartialRotaryFactor(f, perLayer ? null : parameters, perLayer ? parameters : null);
        int rotaryDim = RotaryEmbedding.RotaryDimOf(config.HeadDim, partial);
        bool headDimValid = config.HeadDim > 0 && config.HeadDim % 2 == 0 && config.HeadDim <= ModelConfigLimits.MaxHeadDim;
        if (headDimValid)
            f.Require(rotaryDim >= 2 && rotaryDim % 2 == 0, "partial_rotary_factor",
                $"is {Number(partial)}, which rotates {rotaryDim} of head_dim {config.HeadDim} dimensions; it must rotate an even number, at least 2");
        var context = new Context(config, headDimValid ? rotaryDim : null);

        RopeParameters rope, sliding;
        if (perLayer)
        {
            var topTheta = Theta(f, "rope_theta", globalTheta);
            var blocks = new ModelConfigReader.Fields(parameters!.Value, f.Path, "rope_parameters.");
            rope = Block(Nested(blocks, "full_attention", f.Path), topTheta, null, context);
            var slidingTheta = gemma3 ? Theta(f, "rope_local_base_freq", localTheta) : topTheta;
            sliding = Block(Nested(blocks, "sliding_attention", f.Path), slidingTheta, null, context);
        }
        else
        {
            var name = scaling is not null ? "rope_scaling" : "rope_parameters";
            var block = new ModelConfigReader.Fields(scaling ?? parameters ?? default, f.Path, name + ".");
            var original = f.Int("original_max_position_embeddings") is { } top
                ? (top, "original_max_position_embeddings")
                : type == "phi3" ? (4096, "original_max_position_embeddings") : ((int, string)?)null;
            rope = Block(block, Theta(f, "rope_theta", globalTheta), original, context);
            sliding = gemma3 ? RopeParameters.Default with { Theta = Theta(f, "rope_local_base_freq", localTheta) } : rope;
        }
        return config with { Rope = rope, SlidingRope = sliding.Equals(rope) ? null : sliding, PartialRotaryFactor = partial };
    }

    /// <summary>What a block's checks need from the rest of the config.</summary>
    private sealed record Context(ModelConfig Config, int? RotaryDim);

    private static double Theta(ModelConfigReader.Fields f, string name, double fallback)
    {
        if (f.Double(name) is not { } value) return fallback;
        f.Require(double.IsFinite(value) && value > 0, name, $"is {Number(value)}; it must be a positive number such as 10000.0");
        return value;
    }

    private static ModelConfigReader.Fields Nested(ModelConfigReader.Fields blocks, string kind, string path) =>
        new(blocks.Object(kind) ?? default, path, $"rope_parameters.{kind}.");

    /// <summary>partial_rotary_factor from the top level (transformers copies it into the rope block, over the block's
    /// own), else from rope_parameters, else 1.</summary>
    private static double PartialRotaryFactor(ModelConfigReader.Fields f, JsonElement? flat, JsonElement? perLayer)
    {
        var (value, field) = f.Double("partial_rotary_factor") is { } top ? (top, "partial_rotary_factor") : (default(double?), "");
        if (value is null && flat is { } block && new ModelConfigReader.Fields(block, f.Path).Double("partial_rotary_factor") is { } inBlock)
            (value, field) = (inBlock, "rope_parameters.partial_rotary_factor");
        if (value is null && perLayer is { } layers && new ModelConfigReader.Fields(layers, f.Path, "rope_parameters.").Object("full_attention") is { } full
            && new ModelConfigReader.Fields(full, f.Path).Double("partial_rotary_factor") is { } inFull)
            (value, field) = (inFull, "rope_parameters.full_attention.partial_rotary_factor");
        if (value is not { } factor) return 1;
        if (!(double.IsFinite(factor) && factor > 0 && factor <= 1))
            throw new InvalidModelFolderException($"'{f.Path}': {field} is {Number(factor)}; it must be a number above 0 and at most 1 (the share of each head that rotates). {Fix}", f.Path);
        return factor;
    }

    private const string Fix = "Fix the value in config.json, or download the model again.";

    private static readonly string Supported = string.Join(", ", RopeParameters.SupportedTypes);

    /// <param name="s">The block (its fields are prefixed with the block's name in messages).</param>
    /// <param name="original">A top-level original_max_position_embeddings, which wins over the block's.</param>
    private static RopeParameters Block(ModelConfigReader.Fields s, double outerTheta, (int Value, string Field)? original, Context context)
    {
        var c = context.Config;
        // transformers reads "rope_type" first and falls back to the older "type"; the message names the key the file uses.
        var typeKey = s.String("rope_type") is not null ? "rope_type" : "type";
        var type = s.String(typeKey) ?? "default";
        // Phi-3's config class renames its legacy "su" and "yarn" to longrope.
        if (c.ModelType == "phi3" && type is "su" or "yarn") type = "longrope";
        if (!RopeParameters.SupportedTypes.Contains(type))
            throw s.Invalid(typeKey, $"is '{Shorten(type)}', a rope type this engine does not implement, so nothing was loaded. Supported: {Supported}");

        double theta = outerTheta;
        if (s.Double("rope_theta") is { } own)
        {
            s.Require(double.IsFinite(own) && own > 0, "rope_theta", $"is {Number(own)}; it must be a positive number such as 10000.0");
            theta = own;
        }
        var rope = new RopeParameters { Type = type, Theta = theta };
        if (type == "default") return rope;

        double? factor = s.Double("factor");
        if (factor is null && type is "linear" or "dynamic" or "llama3" or "yarn")
            throw s.Missing("factor");
        if (factor is { } given)
            s.Require(double.IsFinite(given) && given > 0, "factor", $"is {Number(given)}; it must be a positive number (the context is stretched by it)");
        rope = rope with { Factor = factor };

        if (type is "linear") return rope;
        if (type is "dynamic")
        {
            // transformers scales dynamic NTK against max_position_embeddings (it ignores a block's
            // original_max_position_embeddings), with the exponent dim / (dim - 2).
            if (context.RotaryDim is 2)
                throw s.Invalid("rope_type", "is 'dynamic', whose exponent dim / (dim - 2) needs more than 2 rotary dimensions");
            return rope;
        }

        int originalValue;
        if (original is { } top)
        {
            originalValue = top.Value;
            if (originalValue <= 0)
                throw new InvalidModelFolderException($"'{s.Path}': {top.Field} is {originalValue}; it must be positive. {Fix}", s.Path);
        }
        else
        {
            originalValue = s.Int("original_max_position_embeddings") ?? c.MaxPositions;
            s.Require(originalValue > 0, "original_max_position_embeddings", $"is {originalValue}; it must be positive");
        }
        rope = rope with { OriginalMaxPositions = originalValue };

        switch (type)
        {
            case "llama3":
            {
                double low = s.Double("low_freq_factor") ?? throw s.Missing("low_freq_factor");
                double high = s.Double("high_freq_factor") ?? throw s.Missing("high_freq_factor");
                s.Require(double.IsFinite(low) && low > 0, "low_freq_factor", $"is {Number(low)}; it must be a positive number");
                s.Require(double.IsFinite(high) && high > low, "high_freq_factor", $"is {Number(high)}; it must be greater than low_freq_factor ({Number(low)})");
                return rope with { LowFreqFactor = low, HighFreqFactor = high };
            }
            case "yarn":
                return rope with
                {
                    AttentionFactor = Positive(s, "attention_factor"),
                    // transformers treats 0 as unset for these (it reads them with "or").
                    BetaFast = Positive(s, "beta_fast"),
                    BetaSlow = Positive(s, "beta_slow"),
                    Mscale = NonNegative(s, "mscale"),
                    MscaleAllDim = NonNegative(s, "mscale_all_dim"),
                    Truncate = s.Bool("truncate"),
                };
            default: // longrope
                return rope with
                {
                    AttentionFactor = Positive(s, "attention_factor"),
                    ShortFactor = Factors(s, "short_factor", context.RotaryDim),
                    LongFactor = Factors(s, "long_factor", context.RotaryDim),
                };
        }
    }

    private static double? Positive(ModelConfigReader.Fields s, string name)
    {
        if (s.Double(name) is not { } value) return null;
        s.Require(double.IsFinite(value) && value > 0, name, $"is {Number(value)}; it must be a positive number");
        return value;
    }

    private static double? NonNegative(ModelConfigReader.Fields s, string name)
    {
        if (s.Double(name) is not { } value) return null;
        s.Require(double.IsFinite(value) && value >= 0, name, $"is {Number(value)}; it must be zero or a positive number");
        return value;
    }

    /// <summary>A longrope factor list: one positive number per rotary frequency (head_dim * partial_rotary_factor / 2).</summary>
    private static IReadOnlyList<double> Factors(ModelConfigReader.Fields s, string name, int? rotaryDim)
    {
        var list = s.Array(name) ?? throw s.Missing(name);
        var values = new List<double>(list.GetArrayLength());
        var bad = new List<string>();
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Number && item.TryGetDouble(out var v) && double.IsFinite(v) && v > 0)
                values.Add(v);
            else if (bad.Count < 3)
                bad.Add($"[{values.Count + bad.Count}] is {Shorten(item.GetRawText())}");
            else
                bad.Add("");
        }
        if (bad.Count > 0)
        {
            var more = bad.Count > 3 ? $" and {bad.Count - 3} more" : "";
            throw s.Invalid(name, $"holds entries that are not positive numbers ({string.Join(", ", bad.Take(3))}{more}); each must divide a frequency");
        }
        if (rotaryDim is { } dim && values.Count != dim / 2)
            throw s.Invalid(name, $"has {values.Count} entries; the rotary part of a head ({dim} dimensions: head_dim times partial_rotary_factor) needs {dim / 2}");
        return values;
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
