"""Thin DVC stage modules: read deps -> call d3 -> write outs."""
