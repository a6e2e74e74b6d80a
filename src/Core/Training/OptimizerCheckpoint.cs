using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using TrainableTokens.Core.IO;
using static TorchSharp.torch;
using AdamWState = TorchSharp.Modules.AdamW.State;

namespace TrainableTokens.Core.Training;

/// <summary>
/// AdamW's moments and step counts at a checkpoint, as <c>optimizer.safetensors</c> (k x d float32 per moment, so a few
/// KB to MB): without them a resumed run would restart its moments from zero and train differently.
/// </summary>
internal static class OptimizerCheckpoint
{
    public const string FileName = "optimizer.safetensors";

    public static void Save(TorchSharp.Modules.AdamW optimizer, string folder)
    {
        using var scope = NewDisposeScope();
        var tensors = new List<KeyValuePair<string, Tensor>>();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["optimizer"] = "AdamW" };
        var states = optimizer.state_dict().State;
        for (var i = 0; i < states.Count; i++)
        {
            var s = (AdamWState)states[i];
            tensors.Add(new($"state.{i}.exp_avg", s.exp_avg.detach().to(ScalarType.Float32).cpu().contiguous()));
            tensors.Add(new($"state.{i}.exp_avg_sq", s.exp_avg_sq.detach().to(ScalarType.Float32).cpu().contiguous()));
            metadata[$"state.{i}.step"] = s.step.ToString(CultureInfo.InvariantCulture);
        }
        SafetensorsWriter.Write(Path.Combine(folder, FileName), tensors, metadata);
    }

    public static void Load(TorchSharp.Modules.AdamW optimizer, string folder)
    {
        var path = Path.Combine(folder, FileName);
        Exception Invalid(string why) => new TrainingFailedException("InvalidCheckpoint", ErrorKind.InvalidData,
            $"'{path}' {why}. Resume from another checkpoint, or start afresh without resume_from_checkpoint.", path);
        if (!File.Exists(path)) throw Invalid("does not exist (the checkpoint has no optimizer state)");
        using var file = SafetensorsFile.Open(path);
        var dict = optimizer.state_dict();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (var i = 0; i < dict.State.Count; i++)
        {
            var s = (AdamWState)dict.State[i];
            foreach (var (name, target) in new[] { ($"state.{i}.exp_avg", s.exp_avg), ($"state.{i}.exp_avg_sq", s.exp_avg_sq) })
            {
                if (!file.Contains(name)) throw Invalid($"has no tensor '{name}'");
                var stored = file.Load(name);
                if (!stored.shape.AsSpan().SequenceEqual(target.shape)) throw Invalid($"holds '{name}' of shape [{string.Join(", ", stored.shape)}], not [{string.Join(", ", target.shape)}]");
                target.copy_(stored.to(target.dtype));
            }
            if (!file.Metadata.TryGetValue($"state.{i}.step", out var step) || !long.TryParse(step, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                throw Invalid($"has no valid 'state.{i}.step' in its metadata");
            s.step = n;
        }
        optimizer.load_state_dict(dict);
    }
}
