using System;
using System.IO;
using System.Linq;
using System.Text;
using TrainableTokens.Generators.JsonSchema;
using TrainableTokens.Generators.Schema;

// Usage: TrainableTokens.SchemaExport <folder of *.schema.yaml> <output folder>
if (args.Length != 2)
{
    Console.Error.WriteLine("Usage: TrainableTokens.SchemaExport <schemas folder> <output folder>");
    return 2;
}
var files = Directory.GetFiles(args[0], "*" + SchemaParser.FileSuffix).OrderBy(f => f, StringComparer.Ordinal).ToList();
var parsed = files.Select(f => SchemaParser.Parse(f, File.ReadAllText(f))).ToList();
var (usable, setDiagnostics) = SchemaSet.Resolve(parsed.Select(p => p.Schema).OfType<ConfigSchema>());
var diagnostics = parsed.SelectMany(p => p.Diagnostics).Concat(setDiagnostics).ToList();
foreach (var diagnostic in diagnostics) Console.Error.WriteLine(diagnostic);
if (diagnostics.Count > 0) return 1;

Directory.CreateDirectory(args[1]);
foreach (var schema in usable.Values.OrderBy(s => s.ClassName, StringComparer.Ordinal))
{
    var path = Path.Combine(args[1], JsonSchemaWriter.FileNameOf(schema.ClassName));
    File.WriteAllText(path, JsonSchemaWriter.Write(schema, usable), new UTF8Encoding(false));
    Console.WriteLine($"JSON Schema: {path}");
}
return 0;
