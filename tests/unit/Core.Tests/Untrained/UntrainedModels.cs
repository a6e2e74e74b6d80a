using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Untrained;

/// <summary>Model folders with untrained rows made on purpose: a tensor of the safetensors files is rewritten after an edit.</summary>
internal static class UntrainedModels
{
    public static string Llama3 => Examples.Llama3;
    public static string QuickstartData => Examples.QuickstartData;

    /// <summary>Rewrites the file that holds <paramref name="name"/> (one file or a shard) with <paramref name="edit"/> applied to that tensor.</summary>
    public static void EditTensor(string folder, string name, Action<Tensor> edit)
    {
        string file;
        using (var checkpoint = Checkpoint.OpenFolder(folder)) file = checkpoint.Info(name).File;
        List<KeyValuePair<string, Tensor>> all;
        Dictionary<string, string> metadata;
        using (var source = SafetensorsFile.Open(file))
        {
            all = source.Tensors.Select(t => new KeyValuePair<string, Tensor>(t.Name, source.Load(t.Name))).ToList();
            metadata = source.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        }
        try
        {
            using (no_grad()) edit(all.Single(kv => kv.Key == name).Value);
            SafetensorsWriter.Write(file, all, metadata);
        }
        finally
        {
            foreach (var kv in all) kv.Value.Dispose();
        }
    }

    /// <summary>Rows 10 to 12 get one shared value, row 5 becomes zero, row 20 a thousandth of a thousandth of itself.</summary>
    public static void MakeUntrainedRows(Tensor weight)
    {
        weight[5L].zero_();
        using var shared = arange(weight.shape[1], ScalarType.Float32).mul(0.01).add(0.1).to(weight.dtype);
        foreach (var row in new[] { 10L, 11L, 12L }) weight[row].copy_(shared);
        weight[20L].mul_(1e-5);
    }

    /// <summary>A copy of the tiny Llama 3 model (real tokenizer) whose reserved special tokens 10002 to 10255 share one row,
    /// as in Llama 3 itself; <paramref name="untied"/> gives it an LM head of its own (a copy of the embedding).</summary>
    public static string Llama3WithReservedRows(string folder, bool untied = false)
    {
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(Llama3)) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        EditTensor(folder, "model.embed_tokens.weight", w =>
        {
            using var shared = w[10002L].clone();
            for (long id = 10002; id < 10256; id++) w[id].copy_(shared);
        });
        if (untied)
        {
            var configPath = Path.Combine(folder, ModelConfigReader.FileName);
            var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
            config["tie_word_embeddings"] = false;
            File.WriteAllText(configPath, config.ToJsonString());
            var file = Path.Combine(folder, Checkpoint.SingleFileName);
            List<KeyValuePair<string, Tensor>> all;
            using (var source = SafetensorsFile.Open(file))
                all = source.Tensors.Select(t => new KeyValuePair<string, Tensor>(t.Name, source.Load(t.Name))).ToList();
            var head = all.Single(kv => kv.Key == "model.embed_tokens.weight").Value.clone();
            all.Add(new("lm_head.weight", head));
            SafetensorsWriter.Write(file, all, new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var kv in all) kv.Value.Dispose();
        }
        return folder;
    }
}
