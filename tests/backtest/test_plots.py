"""The backtest plots' axes: prices as plain USDT (no offset notation) and UTC clock time."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from asnd.backtest.plots import plain_axes, utc_time_axis

T_DAYS = 1_733_011_200 / 86_400  # 2024-12-01T00:00:00Z as a matplotlib date


def test_a_five_second_run_reads_in_clock_seconds_and_plain_prices() -> None:
    fig = Figure(figsize=(9, 3))
    ax = fig.add_subplot()
    seconds = [T_DAYS + k / 86_400 for k in range(6)]
    ax.plot(seconds, [60001.5, 60001.7, 60001.6, 60002.0, 60001.9, 60002.1])
    plain_axes(ax)
    utc_time_axis(ax)
    FigureCanvasAgg(fig).draw()  # type: ignore[no-untyped-call]
    assert ax.yaxis.get_offset_text().get_text() == "", "no +6e4 offset"
    prices = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert all(p.replace("\u2212", "-").startswith("6000") for p in prices), prices
    times = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert "00:00:02" in times, times
    assert ax.xaxis.get_offset_text().get_text() == "2024-Dec-01 00:00"
