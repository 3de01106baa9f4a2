"""What both product lines share: the configured operators, the catalogue, the block loop."""
