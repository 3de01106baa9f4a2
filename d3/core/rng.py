"""Keyed random streams (SPEC §4).

Every random number D3 uses comes from a ``numpy.random.Generator(PCG64)`` whose seed is a
blake2b hash of ``(master_seed, namespace, scope, name, grid_index, replicate_index)``. A
stream therefore depends only on its key: adding a variable, changing the chunk size or the
worker count, or running blocks in another order cannot change any draw.

Namespaces: ``params`` (variable draws; name = variable_id) and ``sim`` (outcome noise;
name = the series, e.g. ``public.new_customers``). Within a ``sim`` stream, Monte Carlo
iteration ``k`` is row ``k`` of a block of shape ``(simulations_per_run, months)`` drawn in one
call, so iteration k always reads the same position.

Two namespaces serve a whole grid point rather than one block (``replicate_index`` is then
always 0): ``lhs`` (the Latin hypercube strata of one variable's replicates, name =
variable_id) and ``ranks`` (the Iman–Conover score order of one variable, name =
variable_id). Each grid point's replicates are drawn together from them, never per chunk.
``bootstrap`` serves resampling for standard errors (name = the statistic resampled).
"""

from __future__ import annotations

import hashlib

import numpy as np

NAMESPACES = ("params", "sim", "lhs", "ranks", "bootstrap")
_KEY_VERSION = "d3-rng-v1"


def stream_key(
    master_seed: int, namespace: str, scope: str, name: str, grid_index: int, replicate_index: int
) -> str:
    """The canonical text that is hashed into a stream seed."""
    if namespace not in NAMESPACES:
        raise ValueError(f"unknown RNG namespace {namespace!r}; expected one of {NAMESPACES}")
    return "|".join(
        (_KEY_VERSION, str(int(master_seed)), namespace, scope, name,
         str(int(grid_index)), str(int(replicate_index)))
    )


def stream_seed(
    master_seed: int, namespace: str, scope: str, name: str, grid_index: int, replicate_index: int
) -> int:
    """128-bit seed: blake2b of :func:`stream_key` (never Python's salted ``hash()``)."""
    key = stream_key(master_seed, namespace, scope, name, grid_index, replicate_index)
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest(), "little")


def stream(
    master_seed: int, namespace: str, scope: str, name: str, grid_index: int, replicate_index: int
) -> np.random.Generator:
    """A fresh PCG64 generator for one key."""
    seed = stream_seed(master_seed, namespace, scope, name, grid_index, replicate_index)
    return np.random.Generator(np.random.PCG64(seed))


def sim_stream(
    master_seed: int, scope: str, series: str, grid_index: int, replicate_index: int
) -> np.random.Generator:
    """Outcome-noise stream of one series for one ``(grid_index, replicate_index)`` block."""
    return stream(master_seed, "sim", scope, series, grid_index, replicate_index)


def params_stream(
    master_seed: int, scope: str, variable_id: str, grid_index: int, replicate_index: int
) -> np.random.Generator:
    """Variable-draw stream of one variable for one block."""
    return stream(master_seed, "params", scope, variable_id, grid_index, replicate_index)


def lhs_stream(master_seed: int, scope: str, variable_id: str, grid_index: int
               ) -> np.random.Generator:
    """Latin hypercube stream of one variable for one grid point (all its replicates):
    key ``(lhs, scope, variable_id, grid_index, 0)``."""
    return stream(master_seed, "lhs", scope, variable_id, grid_index, 0)


def ranks_stream(master_seed: int, scope: str, variable_id: str, grid_index: int
                 ) -> np.random.Generator:
    """Iman–Conover score-order stream of one variable for one grid point: key
    ``(ranks, scope, variable_id, grid_index, 0)``."""
    return stream(master_seed, "ranks", scope, variable_id, grid_index, 0)


def bootstrap_stream(master_seed: int, scope: str, name: str, grid_index: int
                     ) -> np.random.Generator:
    """Bootstrap resampling stream of one statistic (``name``) for one grid point: key
    ``(bootstrap, scope, name, grid_index, 0)``."""
    return stream(master_seed, "bootstrap", scope, name, grid_index, 0)
