using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using System.Text.Json;
using TrainableTokens.Core.Training.Data;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Turns what a PowerShell pipeline carries into training records: a string is a text record; an object or hashtable
/// with text, prompt/completion or messages (each message an object or hashtable with role and content) is checked
/// and read exactly like a JSONL line, so errors read the same. Returns engine objects as <see cref="object"/>.
/// </summary>
internal static class DatasetInput
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static object Record(object? input, int position)
    {
        var value = input is PSObject ps ? ps.BaseObject : input;
        if (value is string text) return DatasetRecord.FromText(text, DatasetRecord.PipelineSource, position);
        var fields = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in new[] { "text", "prompt", "completion", "messages" })
            if (Property(input, name, out var v)) fields[name] = name == "messages" ? Messages(v) : v?.ToString();
        using var doc = JsonDocument.Parse(JsonSerializer.Serialize(fields));
        return DatasetRecord.FromJson(doc.RootElement.Clone(), DatasetRecord.PipelineSource, position);
    }

    private static object? Messages(object? value)
    {
        var items = value is PSObject ps ? ps.BaseObject : value;
        if (items is string || items is not IEnumerable list) return items?.ToString();
        return list.Cast<object?>().Select(m => new Dictionary<string, object?>
        {
            ["role"] = Property(m, "role", out var role) ? role?.ToString() : null,
            ["content"] = Property(m, "content", out var content) ? content?.ToString() : null,
        }).ToList();
    }

    private static bool Property(object? input, string name, out object? value)
    {
        value = null;
        var baseObject = input is PSObject ps ? ps.BaseObject : input;
        if (baseObject is IDictionary dictionary)
        {
            foreach (DictionaryEntry entry in dictionary)
                if (string.Equals(entry.Key?.ToString(), name, StringComparison.OrdinalIgnoreCase))
                {
                    value = entry.Value is PSObject p ? p.BaseObject : entry.Value;
                    return true;
                }
            return false;
        }
        if (input is null) return false;
        var property = PSObject.AsPSObject(input).Properties[name];
        if (property is null) return false;
        value = property.Value is PSObject pv ? pv.BaseObject : property.Value;
        return true;
    }
}
