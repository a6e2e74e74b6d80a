using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Generation;

namespace TrainableTokens.Core.Tests.Generation;

/// <summary>Streaming text: nothing is released that a stop string or an unfinished character could still take back.</summary>
public sealed class TextStreamTests
{
    /// <summary>Each id is one piece of text; -1 is half a character (decoders show it as U+FFFD until the rest comes).</summary>
    private static TextStream Stream(string[] pieces, params string[] stops) =>
        new(ids => string.Concat(ids.Select((id, i) => id == -1 ? (i == ids.Count - 1 ? "\uFFFD" : "") : id == -2 ? "é" : pieces[id])), stops);

    [Fact]
    public void Text_that_may_begin_a_stop_string_waits_and_is_released_when_it_does_not()
    {
        var pieces = new[] { "Hello", " wo", "rld", " EN", "D", "!" };
        var stream = Stream(pieces, " END");
        var out1 = new List<string> { stream.Update(new[] { 0 }), stream.Update(new[] { 0, 1 }), stream.Update(new[] { 0, 1, 2 }) };
        Assert.Equal(new[] { "Hello", " wo", "rld" }, out1);
        Assert.Equal("", stream.Update(new[] { 0, 1, 2, 3 }));   // " EN" could be " END"
        Assert.Equal("", stream.Update(new[] { 0, 1, 2, 3, 4 })); // it is
        Assert.Equal(" END", stream.Stop);
        Assert.Equal("Hello world", stream.Text);
        Assert.Equal("", stream.Flush());
    }

    [Fact]
    public void A_held_prefix_that_goes_another_way_is_released()
    {
        var stream = Stream(new[] { "a", " EN", "joy" }, " END");
        Assert.Equal("a", stream.Update(new[] { 0 }));
        Assert.Equal("", stream.Update(new[] { 0, 1 }));
        Assert.Equal(" ENjoy", stream.Update(new[] { 0, 1, 2 }));
        Assert.Null(stream.Stop);
    }

    [Fact]
    public void Half_a_character_waits_for_its_other_half()
    {
        var stream = Stream(new[] { "caf" });
        Assert.Equal("caf", stream.Update(new[] { 0 }));
        Assert.Equal("", stream.Update(new[] { 0, -1 }));
        Assert.Equal("é", stream.Update(new[] { 0, -1, -2 }));
    }

    [Fact]
    public void The_earliest_of_several_stop_strings_wins()
    {
        var stream = Stream(new[] { "one. two! three" }, "!", ".");
        Assert.Equal("one", stream.Update(new[] { 0 }));
        Assert.Equal(".", stream.Stop);
        Assert.Equal("one", stream.Text);
    }
}
