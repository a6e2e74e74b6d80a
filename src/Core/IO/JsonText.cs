using System.Globalization;
using System.Text;

namespace TrainableTokens.Core.IO;

/// <summary>
/// JSON string literals written the way the Python ecosystem writes them, so our files match byte for byte:
/// serde_json (safetensors headers) escapes only quotes, backslashes and control characters; Python's json.dumps
/// (index files) also escapes everything outside printable ASCII. System.Text.Json escapes differently.
/// </summary>
internal static class JsonText
{
    public static StringBuilder AppendString(this StringBuilder builder, string value, bool asciiOnly)
    {
        builder.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                default:
                    if (c < 0x20 || (asciiOnly && c > 0x7e))
                        builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else
                        builder.Append(c);
                    break;
            }
        }
        return builder.Append('"');
    }
}
