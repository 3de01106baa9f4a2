"""Deterministic writers: the grid label column."""

def test_grid_labelled_inserts_the_label_after_grid_index_and_streams_rows():
    from d3.io.writers import grid_labelled

    labels = {0: "pub_target_margin=45%", 1: "pub_target_margin=55%"}
    header, rows = grid_labelled(("month", "grid_index", "eur"),
                                 iter([["1", "1", "2.50"], ["2", "0", "3.00"]]), labels)
    assert header == ("month", "grid_index", "grid_label", "eur")
    assert list(rows) == [["1", "1", "pub_target_margin=55%", "2.50"],
                          ["2", "0", "pub_target_margin=45%", "3.00"]]
    # A table without grid_index passes through unchanged.
    header, rows = grid_labelled(("month", "eur"), [("1", "2.50")], labels)
    assert header == ("month", "eur") and list(rows) == [["1", "2.50"]]
