"""Compiled tick loop of the threshold autoscaler (AUTOSCALER.md, ``mode: threshold``).

Replicas are a stack of ``ready_at`` times in the order they were added. Warm-up is the same
for every replica, so ``ready_at`` never decreases along the stack: the ready replicas are a
prefix, and "remove warming replicas first, most recently added first, then ready ones" is a
pop from the top.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def threshold_kernel(demand, cap, dt, target_pct, min_r, max_r, up_pct, down_pct, step_up,
                     step_down, window_s, warmup_s, cooldown_s, count_pending, util_cap,
                     initial, max_events):
    n = demand.shape[0]
    total_out = np.empty(n, np.int64)
    ready_out = np.empty(n, np.int64)
    util_out = np.empty(n, np.float64)
    ev_tick = np.empty(max_events, np.int64)
    ev_prev = np.empty(max_events, np.int64)
    ev_new = np.empty(max_events, np.int64)
    ev_up = np.empty(max_events, np.bool_)
    ev_cap = np.empty(max_events, np.float64)
    ev_util = np.empty(max_events, np.float64)
    stack = np.empty(max(max_r, initial) + 1, np.float64)
    for k in range(initial):
        stack[k] = 0.0
    total = initial
    ready = 0
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
        d = demand[i]
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
        total_out[i] = total
        ready_out[i] = ready
        util_out[i] = u
        allowed = (not acted) or (t - last_action >= cooldown_s)
        if allowed and 100.0 * ema > up_pct and total < max_r:
            add = min(step_up, max_r - total)
            for k in range(add):
                stack[total + k] = t + warmup_s
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
    return (total_out, ready_out, util_out, ev_tick[:n_events], ev_prev[:n_events],
            ev_new[:n_events], ev_up[:n_events], ev_cap[:n_events], ev_util[:n_events])


@numba.njit(cache=True)
def tick_sums(demand, ready, total, cap):
    """(Σ demand over ticks with capacity, Σ capacity, violation ticks, Σ replicas, max)."""
    served_demand = 0.0
    capacity = 0.0
    violations = 0
    replica_ticks = 0
    most = 0
    for i in range(demand.shape[0]):
        e = ready[i] * cap
        if e > 0:
            served_demand += demand[i]
            capacity += e
        if demand[i] > e:
            violations += 1
        replica_ticks += total[i]
        if total[i] > most:
            most = total[i]
    return served_demand, capacity, violations, replica_ticks, most


@numba.njit(cache=True)
def oracle_replica_ticks(demand, per_replica, ahead, min_r, max_r, tolerance):
    """Σ over ticks of clamp(ceil(d(t + warm-up) / per_replica), min, max)."""
    n = demand.shape[0]
    out = 0
    for i in range(n):
        j = i + ahead if i + ahead < n else n - 1
        need = np.ceil(demand[j] / per_replica - tolerance)
        need = max(need, 0.0)
        need = min(max(need, min_r), max_r)
        out += int(need)
    return out
