"""D3: deterministic Monte Carlo financial plan for a small GPU-inference business."""

__version__ = "0.1.0"
