#!/usr/bin/env python3
"""Draws benches/load.sh's results as an SVG bar chart: each pipeline's requests/s beside the
two-core crypto ceiling of the same run, and optionally an earlier build's requests/s.

Each pipeline's bars share one scale, its ceiling's (or its largest bar's), so a pipeline of 3 000
requests/s reads as well as one of 60 000; the numbers are on the bars.

    python3 benches/chart.py target/load/results.json docs/load.svg [--before before.json]

Plain SVG from the standard library, so the chart needs nothing installed to be redrawn.
"""

import argparse
import json
from html import escape

BAR_HEIGHT = 16
BAR_GAP = 3
GROUP_GAP = 22
LABEL_WIDTH = 390
PLOT_WIDTH = 420
RIGHT_MARGIN = 190
TOP = 58
COLOURS = {"ceiling": "#c9ced6", "before": "#e3a857", "after": "#2f6db5"}


def load(path):
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def short_name(pipeline):
    return f"({pipeline['id']}) {pipeline['name'].replace(' (RS256 inside)', '').replace(' (ES256 inside)', '')}"


def bars_of(results, before):
    """Per pipeline: its label and the (series, value, caption) bars to draw, top to bottom."""
    earlier = {p["id"]: p for p in before["pipelines"]} if before else {}
    groups = []
    for pipeline in results["pipelines"]:
        ceiling = pipeline["ceiling"]
        bars = [("ceiling", ceiling, f"ceiling {ceiling:,.0f}/s")]
        if pipeline["id"] in earlier:
            rps = earlier[pipeline["id"]]["rps"]
            bars.append(("before", rps, f"{rps:,.0f}/s ({100 * rps / ceiling:.0f} %)"))
        rps = pipeline["rps"]
        bars.append(("after", rps, f"{rps:,.0f}/s ({100 * rps / ceiling:.0f} %)"))
        groups.append((short_name(pipeline), bars))
    cached = results.get("cached")
    by_id = {p["id"]: p for p in results["pipelines"]}
    if cached and "d" in by_id:
        ceiling = by_id["d"]["ceiling"]
        groups.append(("cached repeat of (d), no crypto", [
            ("ceiling", ceiling, f"(d)'s ceiling {ceiling:,.0f}/s"),
            ("after", cached["rps"], f"{cached['rps']:,.0f}/s"),
        ]))
    return groups


def svg(results, before):
    groups = bars_of(results, before)
    height = TOP + sum(len(bars) * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP for _, bars in groups) + 10
    width = LABEL_WIDTH + PLOT_WIDTH + RIGHT_MARGIN
    machine = results["machine"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">tokenbridge /exchange, '
        f'requests/s at {results["connections"]} connections, each pipeline to its own scale</text>',
        f'<text x="10" y="38" fill="#555">{escape(results["date"])}, {machine["nproc"]} CPUs '
        f'({escape(machine["cpu"])}); ceiling: openssl speed -multi 2 in this run; '
        f'% of this run\'s ceiling</text>',
    ]
    legend_x = 10
    for series, caption in (("ceiling", "crypto ceiling"), ("before", "earlier build"),
                            ("after", "this build")):
        if series == "before" and not before:
            continue
        out.append(f'<rect x="{legend_x}" y="44" width="10" height="10" fill="{COLOURS[series]}"/>')
        out.append(f'<text x="{legend_x + 14}" y="53">{caption}</text>')
        legend_x += 120
    y = TOP
    for label, bars in groups:
        scale = PLOT_WIDTH / max(value for _, value, _ in bars)
        group_height = len(bars) * (BAR_HEIGHT + BAR_GAP)
        out.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + group_height / 2 + 4:.0f}" '
                   f'text-anchor="end">{escape(label)}</text>')
        for series, value, caption in bars:
            bar_width = max(1.0, value * scale)
            out.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{bar_width:.1f}" '
                       f'height="{BAR_HEIGHT}" fill="{COLOURS[series]}"/>')
            out.append(f'<text x="{LABEL_WIDTH + bar_width + 4:.1f}" y="{y + BAR_HEIGHT - 4}" '
                       f'fill="#333">{escape(caption)}</text>')
            y += BAR_HEIGHT + BAR_GAP
        y += GROUP_GAP
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="benches/load.sh's results.json")
    parser.add_argument("output", help="the SVG file to write")
    parser.add_argument("--before", help="an earlier build's results.json, drawn beside")
    args = parser.parse_args()
    results = load(args.results)
    before = load(args.before) if args.before else None
    with open(args.output, "w", encoding="utf-8") as file:
        file.write(svg(results, before))


if __name__ == "__main__":
    main()
