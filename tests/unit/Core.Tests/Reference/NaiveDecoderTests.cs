using System;
using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Core.Tests.Reference;

/// <summary>
/// Proves the reference itself: on every case transformers recorded (tests/fixtures/reference), NaiveDecoder's logits
/// and every hidden state match transformers' to 1e-5 in float32 (the embedding to 1e-6) and to the bf16 tolerance the
/// engine's tests use in bfloat16 (the embedding exactly).
/// </summary>
public sealed class NaiveDecoderTests(Xunit.Abstractions.ITestOutputHelper output)
{
    public static IEnumerable<object[]> Cases => FixtureCase.Names("reference");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reference_matches_what_transformers_recorded(string name)
    {
        var c = FixtureCase.Read("reference", name);
        var (logits, hidden) = NaiveDecoder.Forward(c.ModelFolder, c.InputIds.Select(i => (int)i).ToArray(), c.Dtype);
        var recorded = NaiveSafetensors.ReadFile(c.ReferenceFile);
        bool f32 = c.Dtype == "float32";

        double logitDiff = MaxDiff(logits, recorded["logits"]);
        Assert.True(logitDiff <= (f32 ? 1e-5 : c.LogitTolerance), $"{name}: logits differ by {logitDiff:E3}");
        output.WriteLine($"{name}: logits differ by {logitDiff:E3}, max |logit| {recorded["logits"].Values.Max(Math.Abs):F3}");
        int count = recorded.Keys.Count(k => k.StartsWith("hidden_states.", StringComparison.Ordinal));
        Assert.Equal(count, hidden.Count);
        Assert.True(MaxDiff(hidden[0], recorded["hidden_states.0"]) <= (f32 ? 1e-6 : 0), $"{name}: the embedding output differs");
        for (int i = 1; i < count; i++)
        {
            double diff = MaxDiff(hidden[i], recorded[$"hidden_states.{i}"]);
            Assert.True(diff <= (f32 ? 1e-5 : c.LogitTolerance), $"{name}: hidden_states.{i} differs by {diff:E3}");
        }
    }

    internal static double MaxDiff(double[,] mine, NaiveTensor theirs)
    {
        Assert.Equal(mine.Length, theirs.Values.Length);
        int cols = mine.GetLength(1);
        double max = 0;
        for (int i = 0; i < mine.GetLength(0); i++)
            for (int j = 0; j < cols; j++) max = Math.Max(max, Math.Abs(mine[i, j] - theirs.Values[i * cols + j]));
        return max;
    }
}
