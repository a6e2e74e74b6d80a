namespace TrainableTokens.Core.Configuration;

/// <summary>How serious a finding is: an error stops a run before it starts; a warning does not.</summary>
public enum ConfigSeverity
{
    Error,
    Warning,
}
