Feature: Validation contract of d3 validate and d3 run
  A bad input is refused before anything is computed: exit code 2 and, on stderr, one line
  `FILE:LOCATION: message — hint` per problem (SPEC §2). `d3 run` validates first, so a refused
  run leaves no trace: its --out directory is not even created (ARCHITECTURE.md, stage contract).
  Row numbers are CSV line numbers (the header is row 1).

  Background:
    Given a writable copy of the minimal fixture

  Scenario Outline: <problem> is refused with exit code 2 and nothing is written
    Given <breakage>
    When "d3 validate" checks the copy
    Then it exits with code 2
    And stderr has exactly one error line: "<line>"
    When "d3 run" runs the copy into a fresh --out directory
    Then it exits with code 2
    And stderr has exactly one error line: "<line>"
    And the --out directory does not exist

    Examples:
      | problem                  | breakage                                                                                | line                                                                                                                                                                                                                         |
      | a negative GPU price     | row 3 of "inputs/operator/curated_gpu.csv" has price_per_gpu_hr = -2.5                  | inputs/operator/curated_gpu.csv:row 3 (alpha/H100 SXM): price_per_gpu_hr must be > 0, got -2.5 — use a value > 0                                                                                                             |
      | an unknown key           | "inputs/operator/public_tap.yaml" has the key autoscaling.target_utilisation_pct = 70   | inputs/operator/public_tap.yaml:autoscaling.target_utilisation_pct: unknown key — did you mean `target_utilization_pct`?                                                                                                     |
      | a missing file           | "inputs/facts/gpu_specs.csv" is missing                                                 | inputs/facts/gpu_specs.csv:(file): file not found — create it (docs/INPUTS.md describes its columns)                                                                                                                         |
      | min instances above max  | "inputs/operator/public_tap.yaml" has the key autoscaling.min_instances_per_model = 5   | inputs/operator/public_tap.yaml:autoscaling.min_instances_per_model: min_instances_per_model 5 is above max_instances_per_model 4 — make min ≤ max                                                                           |
      | thresholds not down < up | "inputs/operator/public_tap.yaml" has the key autoscaling.scale_down_threshold_pct = 80 | inputs/operator/public_tap.yaml:autoscaling.scale_down_threshold_pct: scale-down threshold 80 must be below the scale-up threshold 80 (0 < down < up ≤ 100) — lower scale_down_threshold_pct or raise scale_up_threshold_pct |

  Scenario: The unbroken copy validates
    When "d3 validate" checks the copy
    Then it exits with code 0
    And stderr has no error line
