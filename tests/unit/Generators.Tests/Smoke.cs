using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Generators.Tests;

public class Smoke
{
    [Fact]
    public void Generated_types_exist()
    {
        var config = RunConfig.FromYaml("trainable_tokens:\n  token_indices: [5, 6]\n");
        Assert.Empty(config.Validate());
    }
}
