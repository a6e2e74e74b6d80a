using System.Collections.Generic;
using System.Globalization;
using System.IO;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace TrainableTokens.Core.Configuration;

/// <summary>
/// Reads YAML text into a <see cref="ConfigNode"/> tree from the parser's events, so that every value keeps its line
/// and column and problems (a key written twice, a second document) become findings instead of exceptions. Nesting,
/// list length and the number of values (aliases counted as used) are bounded by <see cref="ConfigLimits"/>.
/// </summary>
internal static class YamlConfigParser
{
    /// <summary>The document's root, or null when the text is empty or not YAML (then a finding says why).</summary>
    public static ConfigNode? Parse(string text, ConfigReadState state)
    {
        if (text.Length > 0 && text[0] == '\uFEFF') text = text.Substring(1);
        // YamlDotNet stops at a NUL as if the text ended there, which would silently drop the rest of the file.
        var nul = text.IndexOf('\0');
        if (nul >= 0)
        {
            var (line, column) = Position(text, nul);
            state.Error("", line, column,
                "The file holds a NUL character here, so it is not YAML text (it may be UTF-16 or binary). Save it as UTF-8 text.");
            return null;
        }
        var parser = new PositionedParser(new Parser(new StringReader(text)));
        var reading = new Reading(parser, state);
        try
        {
            parser.Consume<StreamStart>();
            ConfigNode? root = null;
            var documents = 0;
            while (parser.TryConsume<DocumentStart>(out var start))
            {
                documents++;
                var node = reading.Node(1);
                parser.Consume<DocumentEnd>();
                if (documents == 1) root = node;
                else if (documents == 2)
                    state.Error("", (int)start.Start.Line, (int)start.Start.Column,
                        "The file holds more than one YAML document ('---'). Keep one document per config file.");
            }
            parser.Consume<StreamEnd>();
            return root;
        }
        catch (ConfigSyntaxException e)
        {
            state.Error("", e.Line, e.Column, e.Message);
            return null;
        }
        catch (YamlException e)
        {
            state.Error("", (int)e.Start.Line, (int)e.Start.Column, $"This is not valid YAML: {Reason(e)} Check the indentation and quoting at this line.");
            return null;
        }
        catch (System.Exception e) when (e is System.InvalidOperationException or System.ArgumentException or System.FormatException or System.OverflowException)
        {
            // YamlDotNet's scanner throws these on some malformed input (an unclosed [ or {, a bad escape) instead of a YamlException.
            state.Error("", (int)parser.Last.Line, (int)parser.Last.Column,
                "This is not valid YAML after this point: check for an unclosed [ or {, for quotes that do not match and for escapes such as \\x that are not complete.");
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

    /// <summary>One parse: the anchors defined so far and how many values the tree holds.</summary>
    private sealed class Reading
    {
        private readonly IParser _parser;
        private readonly ConfigReadState _state;
        private readonly Dictionary<string, ConfigNode> _anchors = new(System.StringComparer.Ordinal);
        private readonly HashSet<string> _open = new(System.StringComparer.Ordinal);
        private long _nodes;

        public Reading(IParser parser, ConfigReadState state)
        {
            _parser = parser;
            _state = state;
        }

        /// <summary>Reads the value at the parser; <paramref name="depth"/> counts the lists and mappings it is inside, plus one.</summary>
        public ConfigNode Node(int depth)
        {
            var current = _parser.Current ?? throw new YamlException("The YAML text ended in the middle of a value.");
            switch (current)
            {
                case AnchorAlias alias:
                {
                    _parser.MoveNext();
                    if (_open.Contains(alias.Value.Value))
                        throw new YamlException(alias.Start, alias.End, $"The alias *{ConfigLimits.Quote(alias.Value.Value)} is inside the value it refers to; a value cannot contain itself.");
                    if (!_anchors.TryGetValue(alias.Value.Value, out var anchored))
                        throw new YamlException(alias.Start, alias.End, $"The alias *{ConfigLimits.Quote(alias.Value.Value)} refers to no anchor defined before it.");
                    // An alias costs what its value costs wherever it is used: bounded like the rest, or a few lines could expand to billions.
                    if (depth - 1 + anchored.Height > ConfigLimits.MaxDepth) throw TooDeep(alias.Start);
                    Count(anchored.Weight, alias.Start);
                    return anchored;
                }
                case Scalar scalar:
                    _parser.MoveNext();
                    Count(1, scalar.Start);
                    return Remember(scalar.Anchor, ConfigNode.Scalar(KindOf(scalar), scalar.Value, (int)scalar.Start.Line, (int)scalar.Start.Column));
                case SequenceStart sequenceStart:
                {
                    if (depth > ConfigLimits.MaxDepth) throw TooDeep(sequenceStart.Start);
                    _parser.MoveNext();
                    Count(1, sequenceStart.Start);
                    Open(sequenceStart.Anchor);
                    var items = new List<ConfigNode>();
                    while (!_parser.TryConsume<SequenceEnd>(out _))
                    {
                        if (items.Count == ConfigLimits.MaxItems) throw TooLong(sequenceStart.Start, "list");
                        items.Add(Node(depth + 1));
                    }
                    return Remember(sequenceStart.Anchor, ConfigNode.Sequence(items, (int)sequenceStart.Start.Line, (int)sequenceStart.Start.Column));
                }
                case MappingStart mappingStart:
                {
                    if (depth > ConfigLimits.MaxDepth) throw TooDeep(mappingStart.Start);
                    _parser.MoveNext();
                    Count(1, mappingStart.Start);
                    Open(mappingStart.Anchor);
                    var entries = new List<ConfigEntry>();
                    var seen = new Dictionary<string, ConfigNode>(System.StringComparer.Ordinal);
                    while (!_parser.TryConsume<MappingEnd>(out _))
                    {
                        if (entries.Count == ConfigLimits.MaxItems) throw TooLong(mappingStart.Start, "mapping");
                        var key = Node(depth + 1);
                        var value = Node(depth + 1);
                        if (key.Shape == ConfigNodeShape.Scalar && seen.TryGetValue(key.Text, out var first))
                        {
                            var shown = ConfigLimits.Quote(key.Text);
                            _state.Error(shown, key.Line, key.Column,
                                $"'{shown}' is written twice in the same mapping (first at line {first.Line}). Keep one of them.");
                            continue;
                        }
                        if (key.Shape == ConfigNodeShape.Scalar) seen.Add(key.Text, key);
                        entries.Add(new ConfigEntry(key, value));
                    }
                    return Remember(mappingStart.Anchor, ConfigNode.Mapping(entries, (int)mappingStart.Start.Line, (int)mappingStart.Start.Column));
                }
                default:
                    throw new YamlException(current.Start, current.End, $"Unexpected {current.GetType().Name} in the YAML text.");
            }
        }

        private void Count(long nodes, Mark at)
        {
            _nodes += nodes;
            if (_nodes > ConfigLimits.MaxNodes)
                throw new ConfigSyntaxException((int)at.Line, (int)at.Column,
                    $"The file holds more than {ConfigLimits.MaxNodes.ToString("N0", CultureInfo.InvariantCulture)} values (aliases counted each time they are used), " +
                    "far more than any config needs. Check that this is the right file.");
        }

        private void Open(AnchorName anchor)
        {
            if (!anchor.IsEmpty) _open.Add(anchor.Value);
        }

        private ConfigNode Remember(AnchorName anchor, ConfigNode node)
        {
            if (anchor.IsEmpty) return node;
            _open.Remove(anchor.Value);
            _anchors[anchor.Value] = node;
            return node;
        }
    }

    private static ConfigSyntaxException TooDeep(Mark at) =>
        new((int)at.Line, (int)at.Column,
            $"Lists and mappings are nested more than {ConfigLimits.MaxDepth} levels deep here (aliases included); a config needs only a few levels. Check the brackets and indentation.");

    private static ConfigSyntaxException TooLong(Mark at, string what) =>
        new((int)at.Line, (int)at.Column,
            $"This {what} has more than {ConfigLimits.MaxItems.ToString("N0", CultureInfo.InvariantCulture)} items, far more than any config needs. Check that this is the right file.");

    private static ScalarKind KindOf(Scalar scalar)
    {
        // Quoted, literal (|) and folded (>) scalars, and explicit !!str, are text whatever they look like.
        if (scalar.Style != ScalarStyle.Plain) return ScalarKind.String;
        if (!scalar.Tag.IsEmpty) return scalar.Tag.Value is "tag:yaml.org,2002:str" or "!" ? ScalarKind.String : YamlPlainScalar.Resolve(scalar.Value);
        return YamlPlainScalar.Resolve(scalar.Value);
    }

    /// <summary>1-based line and column of a character of <paramref name="text"/>.</summary>
    private static (int Line, int Column) Position(string text, int index)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < index; i++)
        {
            if (text[i] != '\n') continue;
            line++;
            lineStart = i + 1;
        }
        return (line, index - lineStart + 1);
    }

    /// <summary>YamlDotNet's message without the "(Line: 3, Col: 5, Idx: 20) - (...)" prefix; the finding has the position.</summary>
    private static string Reason(YamlException e)
    {
        var message = e.Message;
        var cut = message.IndexOf("): ", System.StringComparison.Ordinal);
        if (message.StartsWith("(Line:", System.StringComparison.Ordinal) && cut > 0) message = message.Substring(cut + 3);
        message = message.Trim();
        if (message.Length > 200) message = message.Substring(0, 197) + "...";
        return message.EndsWith(".", System.StringComparison.Ordinal) ? message : message + ".";
    }
}
