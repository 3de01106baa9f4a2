"""Compiled tick loop of the threshold autoscaler (AUTOSCALER.md, ``mode: threshold``).

Replicas are a stack of ``ready_at`` times in the order they were added. Warm-up is the same
for every replica, so ``ready_at`` never decreases along the stack: the ready replicas are a
prefix, and "remove warming replicas first, most recently added first, then ready ones" is a
pop from the top.

Demand comes as values that each hold for ``repeat`` ticks (the hourly trace with its ticks
per hour, or a per-tick trace with ``repeat = 1``), so a KPI-only run never builds the
million-tick arrays. Every tick goes through :func:`count_tick` and :func:`add_run`, the one
place the KPIs' sums and the utilisation runs (for the p95) are accumulated.
"""

from __future__ import annotations

import numba
import numpy as np

# Accumulators of a run, in this order: Σ demand and Σ ready capacity over ticks with a ready
# replica (floats, summed in tick order), violation ticks, Σ replicas, most replicas (ints).
NO_TICKS = (0.0, 0.0, 0, 0, 0)


@numba.njit(cache=True, nogil=True, inline="always")  # inlined: scalars stay in registers
def count_tick(acc, d, ready, total, cap):
    """``acc`` (:data:`NO_TICKS` order) with one tick added: its demand and ready capacity
    when a replica is ready, a violation when demand exceeds ready capacity, its replicas."""
    served, capacity, violations, replica_ticks, most = acc
    e = ready * cap
    if e > 0:
        served += d
        capacity += e
    if d > e:
        violations += 1
    replica_ticks += total
    if total > most:
        most = total
    return (served, capacity, violations, replica_ticks, most)


@numba.njit(cache=True, nogil=True, inline="always")
def add_run(run_values, run_counts, k, u):
    """Append utilisation ``u`` to the ``k`` runs of equal values so far; the new run count
    (the p95 reads the runs as a multiset: the order of ticks does not matter to it)."""
    if k > 0 and run_values[k - 1] == u:
        run_counts[k - 1] += 1
        return k
    run_values[k] = u
    run_counts[k] = 1
    return k + 1


@numba.njit(cache=True, nogil=True)
def threshold_kernel(demand, repeat, cap, dt, target_pct, min_r, max_r, up_pct, down_pct,
                     step_up, step_down, window_s, warmup_s, cooldown_s, count_pending, util_cap,
                     initial, max_events, store):
    """The threshold autoscaler over ``demand.shape[0] × repeat`` ticks. Returns the per-tick
    replicas and utilisation and the events (empty unless ``store``), the event count, and
    the accumulators of :func:`count_tick` and the utilisation runs of :func:`add_run`."""
    n = demand.shape[0] * repeat
    kept = n if store else 0
    total_out = np.empty(kept, np.int64)
    ready_out = np.empty(kept, np.int64)
    util_out = np.empty(kept, np.float64)
    room = max_events if store else 0
    ev_tick = np.empty(room, np.int64)
    ev_prev = np.empty(room, np.int64)
    ev_new = np.empty(room, np.int64)
    ev_up = np.empty(room, np.bool_)
    ev_cap = np.empty(room, np.float64)
    ev_util = np.empty(room, np.float64)
    acc = NO_TICKS
    runs = 0
    run_values = np.empty(n, np.float64)  # pages are touched only as runs are written
    run_counts = np.empty(n, np.int64)
    stack = np.empty(max(max_r, initial) + 1, np.float64)
    for k in range(initial):
        stack[k] = 0.0
    total = initial
    ready = 0
    h = 0
    left = repeat
    n_events = 0
    last_action = -1.0
    acted = False
    ema = 0.0
    alpha = 1.0 if window_s <= 0 else min(1.0, dt / window_s)
    for i in range(n):
        t = i * dt
        while ready < total and stack[ready] <= t:
            ready += 1
        if ready > total:
            ready = total
        if left == 0:  # the next demand value (cheaper than i // repeat at every tick)
            h += 1
            left = repeat
        left -= 1
        d = demand[h]
        e = ready * cap
        if ready > 0:
            u = d / e
        elif d > 0:
            u = util_cap
        else:
            u = 0.0
        if u > util_cap:
            u = util_cap
        if count_pending:
            if total > 0:
                ud = d / (total * cap)
            elif d > 0:
                ud = util_cap
            else:
                ud = 0.0
            if ud > util_cap:
                ud = util_cap
        else:
            ud = u
        ema = ud if window_s <= 0 or i == 0 else ema + alpha * (ud - ema)
        if store:
            total_out[i] = total
            ready_out[i] = ready
            util_out[i] = u
        acc = count_tick(acc, d, ready, total, cap)
        if ready > 0:
            runs = add_run(run_values, run_counts, runs, u)
        allowed = (not acted) or (t - last_action >= cooldown_s)
        if allowed and 100.0 * ema > up_pct and total < max_r:
            add = min(step_up, max_r - total)
            for k in range(add):
                stack[total + k] = t + warmup_s
            if store:
                ev_tick[n_events] = i
                ev_prev[n_events] = total
                ev_new[n_events] = total + add
                ev_up[n_events] = True
                ev_cap[n_events] = e
                ev_util[n_events] = u
            n_events += 1
            total += add
            last_action = t
            acted = True
        elif allowed and 100.0 * ema < down_pct and total > min_r:
            remove = min(step_down, total - min_r)
            if store:
                ev_tick[n_events] = i
                ev_prev[n_events] = total
                ev_new[n_events] = total - remove
                ev_up[n_events] = False
                ev_cap[n_events] = e
                ev_util[n_events] = u
            n_events += 1
            total -= remove
            if ready > total:
                ready = total
            last_action = t
            acted = True
    stored = n_events if store else 0
    return (total_out, ready_out, util_out, ev_tick[:stored], ev_prev[:stored],
            ev_new[:stored], ev_up[:stored], ev_cap[:stored], ev_util[:stored], n_events,
            acc, run_values[:runs], run_counts[:runs])


@numba.njit(cache=True, nogil=True)
def tick_accumulators(demand, ready, total, util, cap):
    """:func:`count_tick` and :func:`add_run` over stored per-tick series (the proportional
    mode's): the accumulators and the utilisation runs."""
    n = demand.shape[0]
    acc = NO_TICKS
    runs = 0
    run_values = np.empty(n, np.float64)
    run_counts = np.empty(n, np.int64)
    for i in range(n):
        acc = count_tick(acc, demand[i], ready[i], total[i], cap)
        if ready[i] > 0:
            runs = add_run(run_values, run_counts, runs, util[i])
    return acc, run_values[:runs], run_counts[:runs]


@numba.njit(cache=True, nogil=True)
def oracle_replica_ticks(demand, repeat, per_replica, ahead, min_r, max_r, tolerance):
    """Σ over the ``demand.shape[0] × repeat`` ticks of
    clamp(ceil(d(t + warm-up) / per_replica), min, max), warm-up = ``ahead`` ticks; the last
    ``ahead`` ticks look at the final demand. Each value's need is computed once and counted
    for the ticks that look at it (an integer sum: the grouping cannot change it)."""
    n = demand.shape[0] * repeat
    out = 0
    for h in range(demand.shape[0]):
        lo = max(h * repeat, ahead)  # ticks j = i + ahead of this value, i ≥ 0
        hi = (h + 1) * repeat
        if hi > lo:
            out += (hi - lo) * _need(demand[h], per_replica, min_r, max_r, tolerance)
    # ticks i ≥ n − ahead look past the end: at the final demand
    return out + min(ahead, n) * _need(demand[-1], per_replica, min_r, max_r, tolerance)


@numba.njit(cache=True, nogil=True, inline="always")
def _need(d, per_replica, min_r, max_r, tolerance):
    """clamp(ceil(d / per_replica), min, max), ceil with the project's tolerance."""
    need = np.ceil(d / per_replica - tolerance)
    need = max(need, 0.0)
    need = min(max(need, min_r), max_r)
    return int(need)
