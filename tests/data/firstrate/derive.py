"""Makes the derived files of this directory from the real FirstRate samples in ..:
hourly and daily bars by resampling the 1-minute sample, an unadjusted variant, and the
zip. Run from this directory: python3 derive.py"""

import zipfile
from decimal import Decimal
from pathlib import Path

here = Path(__file__).parent
minute = (here.parent / "AAPL_1min_sample_headerless.txt").read_bytes()
five = (here.parent / "AAPL_5min_sample.csv").read_bytes()
rows = [line.split(",") for line in minute.decode().splitlines()]


def bars(key):
    """Bins labelled by their start: open first, high max, low min, close last, volume sum
    (the original text of each chosen price, so the values are exactly the sample's)."""
    out = {}
    for t, o, h, l, c, v in rows:
        k = key(t)
        if k not in out:
            out[k] = [o, h, l, c, int(v)]
        else:
            b = out[k]
            b[1] = max(b[1], h, key=Decimal)
            b[2] = min(b[2], l, key=Decimal)
            b[3] = c
            b[4] += int(v)
    return "".join(f"{k},{o},{h},{l},{c},{v}\r\n" for k, (o, h, l, c, v) in out.items())


(here / "AAPL_full_1min_adjsplit.txt").write_bytes(minute)
(here / "AAPL_full_5min_adjsplit.txt").write_bytes(five.split(b"\n", 1)[1])
# the first three days with prices x4, as a 4:1 split leaves unadjusted prices
first_days = sorted({t[:10] for t, *_ in rows})[:3]
(here / "AAPL_full_1min_UNADJUSTED.txt").write_text(
    "".join(
        f"{t},{','.join(str(Decimal(p) * 4) for p in (o, h, l, c))},{v}\r\n"
        for t, o, h, l, c, v in rows
        if t[:10] in first_days
    ),
    newline="",
)
with zipfile.ZipFile(here / "stock_A_full_adjsplit_hour_day.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("AAPL_full_1hour_adjsplit.txt", bars(lambda t: t[:13] + ":00:00"))
    z.writestr("AAPL_full_1day_adjsplit.txt", bars(lambda t: t[:10]))
