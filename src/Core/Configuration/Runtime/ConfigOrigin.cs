namespace TrainableTokens.Core.Configuration;

/// <summary>Where a config object was read from: the read's state, its own node (for positions) and its field path.</summary>
internal sealed record ConfigOrigin(ConfigReadState State, ConfigNode? Node, string Path);
