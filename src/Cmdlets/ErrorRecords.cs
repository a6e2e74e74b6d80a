using System;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core;

namespace TrainableTokens.Cmdlets;

/// <summary>Turns engine exceptions into PowerShell error records with stable ids and categories.</summary>
internal static class ErrorRecords
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ErrorRecord From(Exception exception)
    {
        if (exception is TrainableTokensException known)
            return new ErrorRecord(known, known.ErrorId, Category(known.Kind), known.Target);
        return new ErrorRecord(exception, "UnexpectedError", ErrorCategory.NotSpecified, null);
    }

    private static ErrorCategory Category(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        ErrorKind.InvalidData => ErrorCategory.InvalidData,
        ErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        ErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        ErrorKind.NotInstalled => ErrorCategory.NotInstalled,
        ErrorKind.WriteError => ErrorCategory.WriteError,
        ErrorKind.OperationStopped => ErrorCategory.OperationStopped,
        _ => ErrorCategory.NotSpecified,
    };
}
