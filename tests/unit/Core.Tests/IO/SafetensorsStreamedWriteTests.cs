using System;
using System.Collections.Generic;
using System.IO;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Runtime;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.IO;

public class SafetensorsStreamedWriteTests
{
    [Fact]
    public void Streamed_writing_gives_the_same_bytes_and_loads_each_tensor_once_when_due()
    {
        TorchRuntime.EnsureLoaded();
        using var temp = new TempFolder();
        using var a = arange(12, ScalarType.Float32).reshape(3, 4);
        using var b = ones(5, ScalarType.BFloat16);
        SafetensorsWriter.Write(temp.File("eager.safetensors"), new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b }, new Dictionary<string, string> { ["format"] = "pt" });
        var loads = new List<string>();
        SafetensorsWriter.WriteStreamed(temp.File("streamed.safetensors"), new[]
        {
            new TensorSource("a", SafetensorsDType.F32, new long[] { 3, 4 }, () => { loads.Add("a"); return a.clone(); }),
            new TensorSource("b", SafetensorsDType.BF16, new long[] { 5 }, () => { loads.Add("b"); return b.clone(); }),
        }, new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Equal(File.ReadAllBytes(temp.File("eager.safetensors")), File.ReadAllBytes(temp.File("streamed.safetensors")));
        Assert.Equal(new[] { "a", "b" }, loads);
    }

    [Fact]
    public void A_tensor_that_differs_from_its_declaration_leaves_no_file()
    {
        TorchRuntime.EnsureLoaded();
        using var temp = new TempFolder();
        var e = Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.WriteStreamed(temp.File("x.safetensors"), new[]
        {
            new TensorSource("a", SafetensorsDType.F32, new long[] { 2 }, () => zeros(3, ScalarType.Float32)),
        }));
        Assert.Contains("declared F32 [2]", e.Message);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }
}
