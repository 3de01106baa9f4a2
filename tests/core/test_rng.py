"""Keyed streams: the seed is blake2b of the canonical key, never Python's hash()."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from d3.core.rng import params_stream, sim_stream, stream_key, stream_seed


def test_stream_seed_is_blake2b_of_the_canonical_key():
    key = "d3-rng-v1|42|sim|public_tap|new_customers|3|1"
    assert stream_key(42, "sim", "public_tap", "new_customers", 3, 1) == key
    expected = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=16).digest(), "little")
    assert stream_seed(42, "sim", "public_tap", "new_customers", 3, 1) == expected


def test_same_key_same_numbers_other_key_other_numbers():
    a = sim_stream(7, "public_tap", "churn", 0, 0).random(5)
    assert np.array_equal(a, sim_stream(7, "public_tap", "churn", 0, 0).random(5))
    for other in (sim_stream(7, "public_tap", "churn", 0, 1), sim_stream(7, "public_tap",
                  "churn", 1, 0), sim_stream(8, "public_tap", "churn", 0, 0),
                  params_stream(7, "public_tap", "churn", 0, 0)):
        assert not np.array_equal(a, other.random(5))


def test_unknown_namespace_is_rejected():
    with pytest.raises(ValueError, match="namespace"):
        stream_key(1, "noise", "public_tap", "x", 0, 0)


def test_mc_iteration_reads_a_fixed_row_of_the_block():
    # Iteration k is row k of a (simulations_per_run, months) block: drawing the block in one
    # call gives the same row k whatever else is computed from the same block.
    block = sim_stream(1, "public_tap", "noise", 0, 0).standard_normal((4, 6))
    again = sim_stream(1, "public_tap", "noise", 0, 0).standard_normal((4, 6))
    assert np.array_equal(block[2], again[2])
