using System.Collections.Generic;
using System.IO;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace TrainableTokens.Core.Configuration;

/// <summary>
/// Reads YAML text into a <see cref="ConfigNode"/> tree from the parser's events, so that every value keeps its line
/// and column and problems (a key written twice, a second document) become findings instead of exceptions.
/// </summary>
internal static class YamlConfigParser
{
    /// <summary>The document's root, or null when the text is empty or not YAML (then a finding says why).</summary>
    public static ConfigNode? Parse(string text, ConfigReadState state)
    {
        var parser = new PositionedParser(new Parser(new StringReader(text)));
        var anchors = new Dictionary<string, ConfigNode>(System.StringComparer.Ordinal);
        try
        {
            parser.Consume<StreamStart>();
            ConfigNode? root = null;
            var documents = 0;
            while (parser.TryConsume<DocumentStart>(out var start))
            {
                documents++;
                var node = ReadNode(parser, anchors, state);
                parser.Consume<DocumentEnd>();
                if (documents == 1) root = node;
                else if (documents == 2)
                    state.Error("", (int)start.Start.Line, (int)start.Start.Column,
                        "The file holds more than one YAML document ('---'). Keep one document per config file.");
            }
            parser.Consume<StreamEnd>();
            return root;
        }
        catch (YamlException e)
        {
            state.Error("", (int)e.Start.Line, (int)e.Start.Column, $"This is not valid YAML: {Reason(e)} Check the indentation and quoting at this line.");
            return null;
        }
        catch (System.InvalidOperationException)
        {
            // YamlDotNet's scanner throws this on some malformed input (an unclosed [ or {) instead of a YamlException.
            state.Error("", (int)parser.Last.Line, (int)parser.Last.Column,
                "This is not valid YAML after this point: check for an unclosed [ or { and for quotes that do not match.");
            return null;
        }
    }

    /// <summary>The parser, remembering where the last event it gave started, for errors that come without a position.</summary>
    private sealed class PositionedParser : IParser
    {
        private readonly IParser _inner;

        public PositionedParser(IParser inner)
        {
            _inner = inner;
        }

        public Mark Last { get; private set; } = Mark.Empty;

        public ParsingEvent? Current => _inner.Current;

        public bool MoveNext()
        {
            if (_inner.Current is { } current) Last = current.Start;
            return _inner.MoveNext();
        }
    }

    private static ConfigNode ReadNode(IParser parser, Dictionary<string, ConfigNode> anchors, ConfigReadState state)
    {
        var current = parser.Current ?? throw new YamlException("The YAML text ended in the middle of a value.");
        switch (current)
        {
            case AnchorAlias alias:
                parser.MoveNext();
                if (anchors.TryGetValue(alias.Value.Value, out var anchored)) return anchored;
                throw new YamlException(alias.Start, alias.End, $"The alias *{alias.Value.Value} refers to no anchor defined before it.");
            case Scalar scalar:
                parser.MoveNext();
                return Remember(anchors, scalar.Anchor, ConfigNode.Scalar(KindOf(scalar), scalar.Value, (int)scalar.Start.Line, (int)scalar.Start.Column));
            case SequenceStart sequenceStart:
            {
                parser.MoveNext();
                var items = new List<ConfigNode>();
                while (!parser.TryConsume<SequenceEnd>(out _)) items.Add(ReadNode(parser, anchors, state));
                return Remember(anchors, sequenceStart.Anchor, ConfigNode.Sequence(items, (int)sequenceStart.Start.Line, (int)sequenceStart.Start.Column));
            }
            case MappingStart mappingStart:
            {
                parser.MoveNext();
                var entries = new List<ConfigEntry>();
                var seen = new Dictionary<string, ConfigNode>(System.StringComparer.Ordinal);
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    var key = ReadNode(parser, anchors, state);
                    var value = ReadNode(parser, anchors, state);
                    if (key.Shape == ConfigNodeShape.Scalar && seen.TryGetValue(key.Text, out var first))
                    {
                        state.Error(key.Text, key.Line, key.Column,
                            $"'{key.Text}' is written twice in the same mapping (first at line {first.Line}). Keep one of them.");
                        continue;
                    }
                    if (key.Shape == ConfigNodeShape.Scalar) seen.Add(key.Text, key);
                    entries.Add(new ConfigEntry(key, value));
                }
                return Remember(anchors, mappingStart.Anchor, ConfigNode.Mapping(entries, (int)mappingStart.Start.Line, (int)mappingStart.Start.Column));
            }
            default:
                throw new YamlException(current.Start, current.End, $"Unexpected {current.GetType().Name} in the YAML text.");
        }
    }

    private static ScalarKind KindOf(Scalar scalar)
    {
        // Quoted, literal (|) and folded (>) scalars, and explicit !!str, are text whatever they look like.
        if (scalar.Style != ScalarStyle.Plain) return ScalarKind.String;
        if (!scalar.Tag.IsEmpty) return scalar.Tag.Value is "tag:yaml.org,2002:str" or "!" ? ScalarKind.String : YamlPlainScalar.Resolve(scalar.Value);
        return YamlPlainScalar.Resolve(scalar.Value);
    }

    private static ConfigNode Remember(Dictionary<string, ConfigNode> anchors, AnchorName anchor, ConfigNode node)
    {
        if (!anchor.IsEmpty) anchors[anchor.Value] = node;
        return node;
    }

    /// <summary>YamlDotNet's message without the "(Line: 3, Col: 5, Idx: 20) - (...)" prefix; the finding has the position.</summary>
    private static string Reason(YamlException e)
    {
        var message = e.Message;
        var cut = message.IndexOf("): ", System.StringComparison.Ordinal);
        if (message.StartsWith("(Line:", System.StringComparison.Ordinal) && cut > 0) message = message.Substring(cut + 3);
        message = message.Trim();
        return message.EndsWith(".", System.StringComparison.Ordinal) ? message : message + ".";
    }
}
