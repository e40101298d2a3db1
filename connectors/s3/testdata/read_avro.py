"""Reads the Avro object container files named on the command line with
Apache Avro's Python reader (Debian's python3-avro) and prints, per file,
its codec, schema and records as one JSON line (bytes as base64, dates and
times as ISO strings, decimals as strings)."""
import base64
import datetime
import decimal
import json
import sys

from avro.datafile import DataFileReader
from avro.io import DatumReader


def plain(v):
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


for path in sys.argv[1:]:
    with open(path, "rb") as f:
        r = DataFileReader(f, DatumReader())
        codec = r.get_meta("avro.codec").decode()
        schema = json.loads(r.get_meta("avro.schema").decode())
        records = [plain(x) for x in r]
        r.close()
    print(json.dumps({"path": path, "codec": codec, "schema": schema, "records": records}))
