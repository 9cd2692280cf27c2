"""Data quality: the exchange calendar against an independent oracle, the session filter
on half days and holidays, and ``Store.check`` on real files and on injected faults."""

import re

import exchange_calendars as xcals
import pandas as pd
import pandas.testing as pdt
import pytest

import barstore

COLS = ["open", "high", "low", "close", "volume"]


def test_calendar_agrees_with_exchange_calendars_on_every_day_2000_to_2030():
    ours = barstore.sessions("2000-01-01", "2030-12-31")
    oracle = xcals.get_calendar("XNYS", start="2000-01-01", end="2030-12-31").schedule
    expected = pd.DataFrame({
        "open": oracle["open"].dt.tz_convert("America/New_York").dt.tz_localize(None),
        "close": oracle["close"].dt.tz_convert("America/New_York").dt.tz_localize(None),
    })
    expected.index = pd.DatetimeIndex(oracle.index.tz_localize(None), name="date")
    assert len(ours) == 7794
    pdt.assert_frame_equal(ours.astype("datetime64[ns]"), expected.astype("datetime64[ns]"),
                           check_freq=False, check_index_type=False)
    # the oracle's own half days: 13:00 closes
    assert (ours["close"].dt.hour == 13).sum() == 69


def test_plain_calendar_is_every_weekday():
    plain = barstore.sessions("2024-11-25", "2024-12-01", calendar="plain")
    assert list(plain.index.strftime("%Y-%m-%d")) == [
        "2024-11-25", "2024-11-26", "2024-11-27", "2024-11-28", "2024-11-29"]
    with pytest.raises(barstore.InputError, match='invalid calendar "lse": use us'):
        barstore.sessions("2024-01-01", "2024-01-02", calendar="lse")


def minute_file(path, days):
    """Writes full 04:00-19:59 minute bars for ``days`` (exchange time); returns them."""
    frames = []
    for day in days:
        idx = pd.date_range(f"{day} 04:00", f"{day} 19:59", freq="1min")
        price = 100 + (idx.hour * 60 + idx.minute) / 1000
        frames.append(pd.DataFrame({"open": price, "high": price + 0.05, "low": price - 0.05,
                                    "close": price + 0.01, "volume": 100.0}, index=idx))
    df = pd.concat(frames)
    df.index = df.index.as_unit("ns").rename("timestamp")
    with open(path, "w") as f:
        for t, r in df.iterrows():
            f.write(f"{t:%Y-%m-%d %H:%M:%S},{r.open},{r.high},{r.low},{r.close},{r.volume:.0f}\n")
    return df


def test_regular_session_follows_half_days_and_holidays(store, tmp_path):
    # Wednesday before Thanksgiving, Thanksgiving (closed), the half day after it
    src = tmp_path / "HALF_full_1min_adjsplit.txt"
    df = minute_file(src, ["2024-11-27", "2024-11-28", "2024-11-29"])
    store.load(src, progress=False)
    regular = store.read("HALF", session="regular")
    per_day = regular.groupby(regular.index.date).size()
    assert {str(d): n for d, n in per_day.items()} == {"2024-11-27": 390, "2024-11-29": 210}
    assert regular.index.max() == pd.Timestamp("2024-11-29 12:59")
    pdt.assert_frame_equal(regular, df.loc[regular.index], check_freq=False)
    # the notebook's rule keeps 09:30-16:00 inclusive on every date, holidays included
    notebook = store.read("HALF").between_time("09:30", "16:00")
    assert len(notebook) == 3 * 391


def test_check_names_the_holes_of_a_real_file(store, data):
    store.load(data / "2006-01-02-volume-min-001.txt", progress=False, pattern="{symbol}-01-02-volume-min-001.txt")
    days = store.check("2006").set_index("date")
    # SOURCES.md: days have 362-390 bars in the 09:30-15:59 window; the file also has
    # bars on US holidays: New Year's Day observed, Martin Luther King Day, Presidents' Day
    assert days.loc["2006-01-03", "missing_runs"] == ["11:24", "12:27", "13:22"]
    assert days.loc["2006-01-03", ["expected", "present", "missing"]].tolist() == [390, 387, 3]
    closed = days[~days["trading"]]
    assert list(closed.index.strftime("%Y-%m-%d")) == ["2006-01-02", "2006-01-16", "2006-02-20"]
    assert closed["findings"].tolist() == [f"{n} bars on a closed day" for n in (584, 653, 656)]
    trading = days[days.trading]
    assert trading["present"].between(362, 390).all() and trading["present"].max() == 390
    # the same counts from the file itself
    raw = pd.read_csv(data / "2006-01-02-volume-min-001.txt", skiprows=1, header=None)
    ts = pd.to_datetime(raw[0] + " " + raw[1])
    regular = ts[(ts.dt.strftime("%H:%M") >= "09:30") & (ts.dt.strftime("%H:%M") < "16:00")]
    counts = regular.groupby(regular.dt.strftime("%Y-%m-%d")).size()
    assert trading["present"].to_dict() == {pd.Timestamp(d): n for d, n in counts.items()
                                            if pd.Timestamp(d) in trading.index}
    assert trading["flagged"].sum() == (trading["missing"] > 0).sum()


def test_check_flags_exactly_an_injected_split_and_spike(store, data, tmp_path):
    text = (data / "AAPL_1min_sample_headerless.txt").read_text()
    raw = pd.read_csv(data / "AAPL_1min_sample_headerless.txt", header=None,
                      names=["timestamp", *COLS])
    ts = pd.to_datetime(raw["timestamp"])
    before_split = ts < pd.Timestamp("2024-05-06")
    spike = ts == pd.Timestamp("2024-05-08 11:00")
    for c in ["open", "high", "low", "close"]:
        raw.loc[before_split, c] *= 2
        raw.loc[spike, c] *= 1.3
    src = tmp_path / "AAPL_full_1min_UNADJUSTED.txt"
    raw.to_csv(src, header=False, index=False)
    assert text.count("\n") == len(raw)
    store.load(src, progress=False)
    days = store.check("AAPL")
    flagged = days[days.flagged]
    assert list(flagged["date"].dt.strftime("%Y-%m-%d")) == ["2024-05-06", "2024-05-08"]
    assert flagged["split"].fillna("-").tolist() == ["2:1", "-"]
    # close to close: x1.3 over the previous minute's own small move
    assert flagged["jumps"].iloc[0] == []
    [spike] = flagged["jumps"].iloc[1]
    assert re.fullmatch(r"spike 11:00 \+(29|30)\.\d%", spike), spike
    assert (days["missing"] == 0).all() and len(days) == 11
    # untouched, the sample has nothing to flag
    store.load(data / "AAPL_1min_sample_headerless.txt", progress=False, adjustment="adjsplit")
    clean = store.check("AAPL", adjustment="adjsplit")
    assert not clean["flagged"].any()
    assert clean["present"].sum() == 4290 and clean["outside"].sum() == 8507 - 4290
