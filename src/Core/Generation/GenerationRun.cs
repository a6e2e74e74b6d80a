using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Training.Data;
using TrainableTokens.Core.Tuners;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Generation;

/// <summary>
/// Generation from a model folder: every check that needs no weights first (settings, prompt, chat template,
/// positions, adapters against config.json (AdapterCompatibility)), then the model and adapters load and <see cref="TokenGenerator"/>
/// runs.
/// </summary>
public static class GenerationRun
{
    /// <summary>What was checked and worked out before loading: the prompt's ids, the stop ids and the tokenizer.</summary>
    public sealed class Plan : IDisposable
    {
        internal Plan(ModelConfig config, ModelTokenizer? tokenizer, List<long> promptIds, GenerationSettings settings)
            => (Config, Tokenizer, PromptIds, Settings) = (config, tokenizer, promptIds, settings);

        public ModelConfig Config { get; }
        public ModelTokenizer? Tokenizer { get; }
        public IReadOnlyList<long> PromptIds { get; }
        /// <summary>The request's settings with the eos ids filled in.</summary>
        public GenerationSettings Settings { get; }

        public void Dispose() => Tokenizer?.Dispose();
    }

    /// <summary>A model with its adapters applied, loaded once and used for several prompts (a pipeline of them).</summary>
    public sealed class LoadedModel : IDisposable
    {
        internal LoadedModel(CausalLanguageModel model, AdapterStack tuner, string key) => (Model, Tuner, Key) = (model, tuner, key);

        internal CausalLanguageModel Model { get; }
        internal AdapterStack Tuner { get; }
        /// <summary>What was loaded (folder, adapters, dtype, device): a request for anything else loads again.</summary>
        internal string Key { get; }

        public void Dispose()
        {
            Tuner.Dispose();
            Model.Dispose();
        }
    }

    public static GenerationResult Run(GenerationRequest request, Action<GeneratedToken>? onToken = null, CancellationToken cancel = default)
    {
        LoadedModel? loaded = null;
        try
        {
            return Run(request, ref loaded, onToken, cancel);
        }
        finally
        {
            loaded?.Dispose();
        }
    }

    /// <summary>As <see cref="Run(GenerationRequest, Action{GeneratedToken}?, CancellationToken)"/>, reusing <paramref name="loaded"/>
    /// when it holds the same model, adapters, dtype and device, and leaving what it loaded there for the next call
    /// (the caller disposes it). The checks of <see cref="Prepare"/> run first every time.</summary>
    public static GenerationResult Run(GenerationRequest request, ref LoadedModel? loaded, Action<GeneratedToken>? onToken = null, CancellationToken cancel = default)
    {
        using var plan = Prepare(request);
        var key = string.Join("\n", new[] { Path.GetFullPath(request.ModelFolder), request.Dtype, request.Device }.Concat(request.AdapterFolders.Select(Path.GetFullPath)));
        if (loaded is null || loaded.Key != key)
        {
            loaded?.Dispose();
            loaded = null;
            loaded = Load(request, key);
        }
        var tokenizer = plan.Tokenizer;
        Func<IReadOnlyList<int>, string>? decode = tokenizer is null ? null : ids => tokenizer.Decode(ids);
        var result = TokenGenerator.Generate(loaded.Model, plan.PromptIds, plan.Settings, decode, onToken, request.UseCache, cancel);
        return result with { Model = Path.GetFullPath(request.ModelFolder), Adapters = request.AdapterFolders.Select(Path.GetFullPath).ToList() };
    }

    private static LoadedModel Load(GenerationRequest request, string key)
    {
        var model = ModelLoader.Load(request.ModelFolder, ModelDtype.Parse(request.Dtype), new TorchSharp.torch.Device(request.Device));
        AdapterStack? tuner = null;
        try
        {
            tuner = AdapterStack.Load(model, request.AdapterFolders);
            return new LoadedModel(model, tuner, key);
        }
        catch
        {
            tuner?.Dispose();
            model.Dispose();
            throw;
        }
    }

    /// <summary>All checks that need no weights; throws the error a user can act on before anything heavy runs.</summary>
    public static Plan Prepare(GenerationRequest request)
    {
        request.Settings.Validate();
        int given = (request.Prompt is null ? 0 : 1) + (request.InputIds is null ? 0 : 1) + (request.Messages is null ? 0 : 1);
        if (given != 1)
            throw new ArgumentException("Give exactly one of a prompt text, input ids or chat messages.", nameof(request));
        var config = ModelConfigReader.ReadFolder(request.ModelFolder);
        Preflight.DeviceCheck.EnsureUsable(request.Device, request.Dtype);
        var hasTokenizer = File.Exists(Path.Combine(request.ModelFolder, TokenizerJson.FileName));
        if (!hasTokenizer && request.InputIds is null)
            throw new InvalidTokenizerException(
                $"'{request.ModelFolder}' has no {TokenizerJson.FileName}, so a text prompt or chat messages cannot be encoded. Give -InputId, or a model folder with its tokenizer.",
                Path.Combine(request.ModelFolder, TokenizerJson.FileName));
        var tokenizer = hasTokenizer ? ModelTokenizer.Load(request.ModelFolder) : null;
        try
        {
            var settings = request.Settings;
            var eos = settings.EosTokenIds.Count > 0 ? settings.EosTokenIds.ToList() : EosTokenIds.Read(request.ModelFolder, tokenizer?.EosTokenId);
            List<long> ids;
            if (request.Messages is { } messages)
            {
                var template = TemplateOf(tokenizer!);
                var text = template.Render(messages, "-Messages", null) + template.GenerationPrompt;
                ids = tokenizer!.Encode(text, addSpecialTokens: false).Select(i => (long)i).ToList();
                // A chat model ends its answer with the template's end-of-turn token, which is often not config.json's eos.
                if (settings.EosTokenIds.Count == 0 && tokenizer.TokenToId(template.EndOfTurn) is { } endOfTurn && !eos.Contains(endOfTurn)) eos.Add(endOfTurn);
            }
            else if (request.Prompt is { } prompt)
                ids = tokenizer!.Encode(prompt).Select(i => (long)i).ToList();
            else
                ids = request.InputIds!.ToList();
            if (ids.Count == 0)
                throw new InvalidGenerationSettingsException("The prompt has no tokens (an empty text encodes to none here); give some text or at least one id.", "Prompt");
            foreach (var id in ids)
                if (id < 0 || id >= config.VocabSize) throw new TokenIdOutOfRangeException(id, config.VocabSize);
            PromptLength.Check(config, ids.Count, settings.MaxNewTokens);
            if (settings.StopStrings.Count > 0 && tokenizer is null)
                throw new InvalidGenerationSettingsException($"Stop strings need the model's tokenizer to decode the output, and '{request.ModelFolder}' has no {TokenizerJson.FileName}.", "Stop");
            foreach (var folder in request.AdapterFolders) AdapterCompatibility.Ensure(folder, request.ModelFolder, config);
            AdapterCompatibility.EnsureDisjoint(request.AdapterFolders);
            return new Plan(config, tokenizer, ids, settings with { EosTokenIds = eos });
        }
        catch
        {
            tokenizer?.Dispose();
            throw;
        }
    }

    private static ChatTemplate TemplateOf(ModelTokenizer tokenizer)
    {
        var source = tokenizer.Config.ChatTemplatePath ?? Path.Combine(tokenizer.Folder, TokenizerConfig.FileName);
        if (string.IsNullOrWhiteSpace(tokenizer.Config.ChatTemplate))
            throw new ChatTemplateUnavailableException(
                $"-Messages needs a chat template, but '{source}' has none (no \"chat_template\", no {TokenizerConfig.ChatTemplateFileName}). " +
                "Give the conversation as -Prompt text written in the model's format, or use a tokenizer that has a chat template.", source);
        try
        {
            return ChatTemplate.For(tokenizer);
        }
        catch (InvalidDatasetException e)
        {
            throw new ChatTemplateUnavailableException(
                $"The chat template in '{source}' is not one this module can render (it renders plain ChatML, Qwen3, Llama 3 and Gemma templates, " +
                "without default system prompts, tools or dates). Give the conversation as -Prompt text written in the model's format.", source, e);
        }
    }
}
