using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace TrainableTokens.Core.Training;

/// <summary>
/// Draws a run's history as a small standalone SVG: training loss (the logged interval means) and evaluation loss
/// against the optimiser step, with axes, ticks, labels and a legend. Hand-written SVG 1.1, so any browser shows it.
/// </summary>
internal static class LossCurveSvg
{
    public const string FileName = "loss_curve.svg";

    private const double Width = 720, Height = 420, Left = 70, Right = 20, Top = 56, Bottom = 60;
    private const string TrainColour = "#1f77b4", EvalColour = "#ff7f0e";

    public static string Render(IReadOnlyList<TrainingLogEntry> history, int totalSteps)
    {
        var train = history.Where(e => e.Loss is not null).Select(e => (X: (double)e.Step, Y: e.Loss!.Value)).ToList();
        var eval = history.Where(e => e.EvalLoss is not null).Select(e => (X: (double)e.Step, Y: e.EvalLoss!.Value)).ToList();
        var all = train.Concat(eval).ToList();
        var maxX = Math.Max(1, Math.Max(totalSteps, all.Count == 0 ? 1 : (int)all.Max(p => p.X)));
        double minY = all.Count == 0 ? 0 : all.Min(p => p.Y), maxY = all.Count == 0 ? 1 : all.Max(p => p.Y);
        if (maxY - minY < 1e-9) { minY -= 0.5; maxY += 0.5; }
        var pad = (maxY - minY) * 0.05;
        minY = Math.Max(0, minY - pad);
        maxY += pad;
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double Px(double x) => Left + x / maxX * plotW;
        double Py(double y) => Top + (maxY - y) / (maxY - minY) * plotH;

        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{N(Width)}\" height=\"{N(Height)}\" viewBox=\"0 0 {N(Width)} {N(Height)}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append("<title>Training and evaluation loss</title>\n");
        svg.Append($"<rect x=\"0\" y=\"0\" width=\"{N(Width)}\" height=\"{N(Height)}\" fill=\"white\"/>\n");
        svg.Append($"<text x=\"{N(Width / 2)}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">Loss by optimiser step</text>\n");
        // Grid and ticks: five steps on each axis at round values.
        foreach (var y in Ticks(minY, maxY))
        {
            svg.Append($"<line x1=\"{N(Left)}\" y1=\"{N(Py(y))}\" x2=\"{N(Width - Right)}\" y2=\"{N(Py(y))}\" stroke=\"#e0e0e0\"/>\n");
            svg.Append($"<text x=\"{N(Left - 6)}\" y=\"{N(Py(y) + 4)}\" text-anchor=\"end\">{Label(y)}</text>\n");
        }
        foreach (var x in Ticks(0, maxX).Where(x => x == Math.Floor(x)))
        {
            svg.Append($"<line x1=\"{N(Px(x))}\" y1=\"{N(Top + plotH)}\" x2=\"{N(Px(x))}\" y2=\"{N(Top + plotH + 5)}\" stroke=\"black\"/>\n");
            svg.Append($"<text x=\"{N(Px(x))}\" y=\"{N(Top + plotH + 18)}\" text-anchor=\"middle\">{Label(x)}</text>\n");
        }
        svg.Append($"<line x1=\"{N(Left)}\" y1=\"{N(Top)}\" x2=\"{N(Left)}\" y2=\"{N(Top + plotH)}\" stroke=\"black\"/>\n");
        svg.Append($"<line x1=\"{N(Left)}\" y1=\"{N(Top + plotH)}\" x2=\"{N(Width - Right)}\" y2=\"{N(Top + plotH)}\" stroke=\"black\"/>\n");
        svg.Append($"<text x=\"{N(Left + plotW / 2)}\" y=\"{N(Height - 20)}\" text-anchor=\"middle\">step</text>\n");
        svg.Append($"<text x=\"18\" y=\"{N(Top + plotH / 2)}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {N(Top + plotH / 2)})\">loss</text>\n");
        Series(svg, "train loss", train, TrainColour, Px, Py);
        Series(svg, "eval loss", eval, EvalColour, Px, Py);
        // Legend above the plot, on the right, where no curve can run through it.
        var legend = new List<(string, string)> { ("train loss", TrainColour) };
        if (eval.Count > 0) legend.Add(("eval loss", EvalColour));
        for (var i = 0; i < legend.Count; i++)
        {
            var (name, colour) = legend[i];
            var x = Width - Right - (legend.Count - i) * 110;
            svg.Append($"<line x1=\"{N(x)}\" y1=\"40\" x2=\"{N(x + 20)}\" y2=\"40\" stroke=\"{colour}\" stroke-width=\"2\"/>\n");
            svg.Append($"<text x=\"{N(x + 26)}\" y=\"44\">{name}</text>\n");
        }
        if (all.Count == 0)
            svg.Append($"<text x=\"{N(Left + plotW / 2)}\" y=\"{N(Top + plotH / 2)}\" text-anchor=\"middle\" fill=\"#808080\">no loss logged yet</text>\n");
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static void Series(StringBuilder svg, string name, List<(double X, double Y)> points, string colour, Func<double, double> px, Func<double, double> py)
    {
        if (points.Count == 0) return;
        svg.Append($"<g fill=\"{colour}\" stroke=\"{colour}\"><title>{name}</title>\n");
        if (points.Count > 1)
            svg.Append($"<polyline fill=\"none\" stroke-width=\"2\" points=\"{string.Join(" ", points.Select(p => $"{N(px(p.X))},{N(py(p.Y))}"))}\"/>\n");
        // Markers only where they can be told apart.
        if (points.Count <= 200)
            foreach (var p in points) svg.Append($"<circle cx=\"{N(px(p.X))}\" cy=\"{N(py(p.Y))}\" r=\"2.5\"/>\n");
        svg.Append("</g>\n");
    }

    /// <summary>Round tick values (1, 2 or 5 times a power of ten apart) from <paramref name="low"/> to <paramref name="high"/>.</summary>
    private static IEnumerable<double> Ticks(double low, double high)
    {
        var raw = (high - low) / 5;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * magnitude).First(s => s >= raw);
        for (var v = Math.Ceiling(low / step) * step; v <= high + step * 1e-9; v += step) yield return Math.Round(v / step) * step;
    }

    private static string Label(double value) => value.ToString(Math.Abs(value) >= 100 ? "0" : "0.###", CultureInfo.InvariantCulture);

    private static string N(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
