using System;
using System.Text;

namespace TrainableTokens.Generators.Emit;

/// <summary>Writes C# with four-space indentation, so generated files read like hand-written ones.</summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder _text = new();
    private int _depth;

    public CodeWriter Line(string line = "")
    {
        if (line.Length == 0) _text.Append('\n');
        else _text.Append(' ', 4 * _depth).Append(line).Append('\n');
        return this;
    }

    /// <summary>Writes <paramref name="header"/>, an opening brace, the body one level deeper, and the closing brace.</summary>
    public CodeWriter Block(string header, Action body, string close = "}")
    {
        Line(header);
        Line("{");
        _depth++;
        body();
        _depth--;
        Line(close);
        return this;
    }

    public void Indent() => _depth++;

    public void Outdent() => _depth--;

    public override string ToString() => _text.ToString();
}
