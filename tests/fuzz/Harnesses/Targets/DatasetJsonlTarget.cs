using TrainableTokens.Core.Training.Data;

namespace TrainableTokens.Fuzz.Targets;

/// <summary>A JSON Lines dataset, every record read through <see cref="DatasetReader.ReadFile"/>.</summary>
public sealed class DatasetJsonlTarget : FuzzTarget
{
    public override string Name => "dataset-jsonl";
    public override string FileName => "fuzz.jsonl";

    public override void Parse(string folder, string path)
    {
        foreach (var record in DatasetReader.ReadFile(path)) _ = record.Format;
    }
}
