using System;
using System.Collections.Generic;

namespace TrainableTokens.Core.Generation;

/// <summary>
/// Turns the growing list of generated ids into text pieces for streaming and finds stop strings. The whole output is
/// decoded each step (tokenizers join pieces, e.g. bytes of one character, only in context), and text is released only
/// once it can no longer become part of a stop string or of an unfinished character.
/// </summary>
internal sealed class TextStream
{
    private readonly Func<IReadOnlyList<int>, string> _decode;
    private readonly IReadOnlyList<string> _stops;
    private int _released;

    public TextStream(Func<IReadOnlyList<int>, string> decode, IReadOnlyList<string> stops) => (_decode, _stops) = (decode, stops);

    /// <summary>The output's text so far (cut before a stop string once one is found).</summary>
    public string Text { get; private set; } = "";

    /// <summary>The stop string found, or null.</summary>
    public string? Stop { get; private set; }

    /// <summary>Decodes <paramref name="ids"/> and returns the newly released text.</summary>
    public string Update(IReadOnlyList<int> ids)
    {
        var text = _decode(ids);
        int cut = -1;
        foreach (var s in _stops)
        {
            // Search only where a match could be new: from the released text on (a stop string spans at most its length).
            int from = Math.Max(0, Math.Min(_released, text.Length) - s.Length + 1);
            int at = text.IndexOf(s, from, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) (cut, Stop) = (at, s);
        }
        if (cut >= 0)
        {
            Text = text[..cut];
            return Release(Text.Length);
        }
        Text = text;
        int safe = text.Length;
        if (safe > 0 && text[safe - 1] == '\uFFFD') safe--; // an unfinished multi-byte character
        int hold = 0; // the longest end of the text that begins a stop string
        foreach (var s in _stops)
            for (int n = Math.Min(s.Length - 1, safe); n > hold; n--)
                if (string.CompareOrdinal(text, safe - n, s, 0, n) == 0)
                {
                    hold = n;
                    break;
                }
        return Release(safe - hold);
    }

    /// <summary>Everything not yet released (at the end of generation).</summary>
    public string Flush() => Release(Text.Length);

    private string Release(int upTo)
    {
        if (upTo <= _released) return "";
        var piece = Text.Length >= upTo ? Text[_released..upTo] : "";
        _released = upTo;
        return piece;
    }
}
