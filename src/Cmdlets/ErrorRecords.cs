using System;
using System.IO;
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
        return exception switch
        {
            TrainableTokensException known => new ErrorRecord(known, known.ErrorId, Category(known.Kind), known.Target),
            DirectoryNotFoundException or FileNotFoundException => new ErrorRecord(exception, "PathNotFound", ErrorCategory.ObjectNotFound, null),
            UnauthorizedAccessException => new ErrorRecord(exception, "AccessDenied", ErrorCategory.PermissionDenied, null),
            IOException => new ErrorRecord(exception, "IOError", ErrorCategory.WriteError, null),
            ArgumentException => new ErrorRecord(exception, "InvalidArgument", ErrorCategory.InvalidArgument, null),
            _ => new ErrorRecord(exception, "UnexpectedError", ErrorCategory.NotSpecified, null),
        };
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
