"""Sample Parquet bytes do not depend on how the rows arrive (chunking)."""

import numpy as np

from d3.io.parquet_stream import SampleWriter, read_series, sample_schema, sample_table


def _write(path, splits, n=23, months=4):
    schema = sample_schema(("x",), months)
    x = np.arange(n * months, dtype=float).reshape(n, months)
    idx = np.arange(n)
    with SampleWriter(path, schema, row_group_rows=5) as w:
        for a, b in zip(splits[:-1], splits[1:], strict=True):
            w.write(sample_table(schema, idx[a:b] // 7, idx[a:b] % 7, idx[a:b], {"x": x[a:b]}))
    return x


def test_bytes_independent_of_write_splits(tmp_path):
    x = _write(tmp_path / "a.parquet", [0, 23])
    _write(tmp_path / "b.parquet", [0, 1, 2, 9, 10, 22, 23])
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    back = read_series(tmp_path / "b.parquet", ["x"])
    assert np.array_equal(back["x"], x) and back["mc_index"].tolist() == list(range(23))
    assert np.array_equal(read_series(tmp_path / "a.parquet", ["x"], row_group=4)["x"], x[20:])


def test_written_files_are_readable_by_others_under_the_usual_umask(tmp_path):
    import os
    import stat

    from d3.io.writers import write_bytes_atomic

    old = os.umask(0o022)
    try:
        write_bytes_atomic(tmp_path / "report.md", b"x")
        # mkstemp would leave 0600; files are 0666 less the umask = 0644.
        assert stat.S_IMODE((tmp_path / "report.md").stat().st_mode) == 0o644
        os.umask(0o077)
        write_bytes_atomic(tmp_path / "private.md", b"x")
        assert stat.S_IMODE((tmp_path / "private.md").stat().st_mode) == 0o600
    finally:
        os.umask(old)
