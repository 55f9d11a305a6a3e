"""The benchmarks chart (docs/benchmarks.png): handshake time and bytes per reading, side by side.

Input is structured data, never Markdown: ``{"handshake_ms": [(label, ms)], "bytes_per_reading":
[(label, bytes)]}`` as gathered by tools.bench.chart_series from the sections' ``data["chart"]``.
Needs matplotlib (the `bench` extra: ``pip install -e '.[bench]'``); without it this fails loudly.
"""

BYTES_PER_READING_TARGET = 40  # issue 8: <= 40 bytes per reading with CCM_8 in batches

PANELS = (
    ("handshake_ms", "TLS-PSK handshake time (median ms)", None),
    ("bytes_per_reading", "Bytes per reading (labels say: on the wire, or payload only)", BYTES_PER_READING_TARGET),
)


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("sensorkit bench: the chart needs matplotlib: pip install -e '.[bench]'") from None
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def write_chart(series, path):
    """Draw one horizontal bar panel per series into the PNG `path`; returns the bars drawn per panel."""
    if not any(series.get(k) for k, _, _ in PANELS):
        raise ValueError("no handshake or bytes-per-reading figures to chart")
    plt = _pyplot()
    rows = max(len(series.get(k, ())) for k, _, _ in PANELS)
    fig, axes = plt.subplots(1, len(PANELS), figsize=(13, 1.6 + 0.45 * rows), squeeze=False)
    drawn = {}
    for ax, (key, title, target) in zip(axes[0], PANELS):
        pairs = list(series.get(key, ()))
        ax.set_title(title, fontsize=10)
        drawn[key] = len(pairs)
        if not pairs:
            ax.text(0.5, 0.5, "no figures (section not run or not available)", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        labels = [label for label, _ in pairs]
        values = [value for _, value in pairs]
        ypos = list(range(len(pairs)))
        bars = ax.barh(ypos, values, color="#4878a8")
        ax.set_yticks(ypos)
        ax.set_yticklabels(labels, fontsize=8)
        ax.invert_yaxis()  # first pair on top
        ax.bar_label(bars, labels=["%g" % round(v, 1) for v in values], fontsize=8, padding=2)
        if target is not None:
            ax.axvline(target, color="#c44e52", linestyle="--", linewidth=1, label="target <= %g" % target)
            ax.legend(loc="lower right", fontsize=8)
        ax.set_xlim(0, max(values + ([target] if target else [])) * 1.2)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return drawn
