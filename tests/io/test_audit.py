"""The run summary's DVC md5s: taken from dvc.lock only when the entry still describes the file
of this run, hashed otherwise (each path once); SHA256SUMS from one read per artefact."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from d3.io.audit import (
    DvcLock,
    Md5Source,
    dvc_lock_of_this_run,
    read_dvc_lock,
    recorded_paths,
    sha256sums_text,
    upstream_md5,
)
from d3.io.hashing import dvc_md5, dvcignore_patterns
from d3.registry import PROJECT_ROOT, STAGE_BY_NAME, STAGES, Roots
from tests.helpers import MINIMAL, ROOT, invoke

ABC_MD5 = "0bee89b07a248e27c83fc3d5951213c1"  # md5 of the 4 bytes b"abc\n"
LOCKED = "a" * 32  # a value no file here hashes to: seen in a result, it came from the lock


def changed_ns(path: Path) -> int:
    st = path.stat()
    return max(st.st_mtime_ns, st.st_ctime_ns)


@pytest.fixture
def roots(tmp_path) -> Roots:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "metrics.json").write_bytes(b"abc\n")
    return Roots(tmp_path / "inputs", tmp_path / "out", tmp_path / "params.yaml")


def entry(**fields) -> dict:
    return {"hash": "md5", "md5": LOCKED, "size": 4, **fields}


def source_with(roots: Roots, locked: dict, written_ns: int) -> Md5Source:
    return Md5Source(roots, DvcLock({"consolidate": {"outputs/metrics.json": locked}},
                                    written_ns))


def test_a_lock_entry_that_describes_the_file_is_recorded_as_dvc_wrote_it(roots):
    # Same size (4 bytes), not changed after the lock was written (≤ its time): trusted.
    source = source_with(roots, entry(), changed_ns(roots.out / "metrics.json"))
    assert source.md5("consolidate", "{out}/metrics.json") == LOCKED
    assert (source.from_lock, source.hashed) == (1, 0)


@pytest.mark.parametrize(("locked", "written_delta_ns", "why"), [
    (entry(size=5), 0, "size differs: 5 recorded, 4 on disk"),
    (entry(), -1, "the file changed 1 ns after the lock was written"),
    (entry(nfiles=1), 0, "recorded as a directory, a file on disk"),
    ({"md5": LOCKED, "size": 4}, 0, "no `hash: md5`: a DVC 2 entry (text hashed differently)"),
    (entry(md5=123), 0, "md5 not a string (YAML read it as a number)"),
])
def test_a_stale_lock_entry_is_not_trusted_the_file_is_hashed(roots, locked, written_delta_ns,
                                                              why):
    source = source_with(roots, locked, changed_ns(roots.out / "metrics.json")
                         + written_delta_ns)
    assert source.md5("consolidate", "{out}/metrics.json") == ABC_MD5, why
    assert (source.from_lock, source.hashed) == (0, 1)


def test_an_entry_of_another_stage_or_no_lock_at_all_means_hashing(roots):
    source = source_with(roots, entry(), changed_ns(roots.out / "metrics.json"))
    assert source.md5("report", "{out}/metrics.json") == ABC_MD5  # the lock has no such entry
    assert Md5Source(roots).md5("consolidate", "{out}/metrics.json") == ABC_MD5


def test_each_path_is_hashed_once_and_an_absent_one_is_null(roots):
    source = Md5Source(roots)
    for stage in ("consolidate", "report", "summary"):
        assert source.md5(stage, "{out}/metrics.json") == ABC_MD5
    assert source.md5("report", "{out}/absent.csv") is None
    assert source.hashed == 1


def test_a_directory_entry_needs_the_same_file_count_and_total_size(roots):
    charts = roots.out / "charts"
    charts.mkdir()
    (charts / "a.png").write_bytes(b"1")
    (charts / "b.png").write_bytes(b"22")
    (charts / "__pycache__").mkdir()
    (charts / "__pycache__" / "x.pyc").write_bytes(b"ignored by .dvcignore")
    newest = max(changed_ns(charts / "a.png"), changed_ns(charts / "b.png"))
    locked = {"hash": "md5", "md5": f"{LOCKED}.dir", "size": 1 + 2, "nfiles": 2}

    def md5(lock_entry: dict) -> str:
        source = Md5Source(roots, DvcLock({"report": {"outputs/charts": lock_entry}}, newest),
                           ignore=["__pycache__/"])
        return source.md5("report", "{out}/charts")

    assert md5(locked) == f"{LOCKED}.dir"
    computed = dvc_md5(charts, ["__pycache__/"])
    assert computed == {"md5": computed["md5"], "size": 3, "nfiles": 2}
    assert md5({**locked, "nfiles": 3}) == computed["md5"]  # a file deleted since
    assert md5({**locked, "size": 4}) == computed["md5"]  # a file grew by a byte since


def test_a_hand_written_lock_fragment_gives_exactly_its_md5s(roots, tmp_path):
    """public_pricing's entries as DVC writes them: its two outs and one data dep are taken
    from the fragment; a dep it does not list (the code) is hashed; absent files are null."""
    card = roots.out / "intermediate" / "public_price_card.json"
    market = roots.out / "validated" / "market.json"
    for path in (card, market):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"abc\n")
    lock = tmp_path / "dvc.lock"  # written after the files: its time is not older than theirs
    lock.write_text(f"""schema: '2.0'
stages:
  public_pricing:
    cmd: python -m stages.public_pricing
    deps:
    - path: outputs/validated/market.json
      hash: md5
      md5: {"b" * 32}
      size: 4
    outs:
    - path: outputs/intermediate/public_price_card.json
      hash: md5
      md5: {"c" * 32}
      size: 4
    - path: outputs/public_tap_prices_per_model.csv
      hash: md5
      md5: {"d" * 32}
      size: 9
""")
    source = Md5Source(roots, read_dvc_lock(lock))
    recorded = upstream_md5([STAGE_BY_NAME["public_pricing"]], source)["public_pricing"]
    assert recorded["outs"] == {"outputs/public_tap_prices_per_model.csv": None,  # absent
                                "outputs/intermediate/public_price_card.json": "c" * 32}
    assert recorded["deps"]["outputs/validated/market.json"] == "b" * 32
    assert recorded["deps"]["outputs/validated/variables.json"] is None
    assert recorded["deps"]["stages/public_pricing.py"] == dvc_md5(
        PROJECT_ROOT / "stages/public_pricing.py")["md5"]
    assert source.from_lock == 2


def test_dvc_lock_applies_only_when_dvc_runs_the_summary_on_the_default_paths(monkeypatch,
                                                                            tmp_path):
    monkeypatch.chdir(ROOT)  # DVC runs a stage in its wdir, the repository root
    dvc = {"DVC_STAGE": "summary", "DVC_ROOT": str(ROOT)}
    assert dvc_lock_of_this_run(Roots.dvc(), dvc) == ROOT / "dvc.lock"
    assert dvc_lock_of_this_run(Roots.dvc(), {}) is None  # by hand, or in-process by d3 run
    assert dvc_lock_of_this_run(Roots.dvc(), {**dvc, "DVC_STAGE": "report"}) is None
    assert dvc_lock_of_this_run(Roots.dvc(), {**dvc, "DVC_ROOT": str(tmp_path)}) is None
    elsewhere = Roots(Path("inputs"), tmp_path / "out", Path("params.yaml"))  # d3 run --out
    assert dvc_lock_of_this_run(elsewhere, dvc) is None
    monkeypatch.chdir(tmp_path)  # the same relative paths now name other directories
    assert dvc_lock_of_this_run(Roots.dvc(), dvc) is None


def test_every_recorded_path_is_a_dep_of_the_summary():
    """The summary reruns whenever a path it records changes, so no recorded md5 goes stale:
    each is one of its deps or lies in a directory dep."""
    summary = STAGE_BY_NAME["summary"]
    deps = {*summary.code_deps, *summary.data_deps}
    for stage in STAGES[:-1]:
        for path in (p for paths in recorded_paths(stage).values() for p in paths):
            assert path in deps or any(path.startswith(f"{d}/") for d in deps), (stage.name,
                                                                                path)


def test_sha256sums_lines_are_what_sha256sum_prints():
    sha = hashlib.sha256(b"abc\n").hexdigest()
    assert sha256sums_text({"b.csv": sha, "a/x.json": "00" * 32}) == (
        f"{sha}  b.csv\n{'00' * 32}  a/x.json\n")


@pytest.fixture(scope="module")
def dvc_env_run(tmp_path_factory) -> tuple[Path, list[dict]]:
    """``d3 run --out TMP`` of the minimal fixture with the environment DVC gives the summary
    stage of this project: the output directory is not the one dvc.lock describes, so every
    md5 must be hashed. Returns the output directory and the JSONL events."""
    out = tmp_path_factory.mktemp("d3_run_out")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DVC_STAGE", "summary")
        mp.setenv("DVC_ROOT", str(ROOT))
        mp.chdir(ROOT)
        result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out, [json.loads(line) for line in result.stdout.splitlines()
                 if line.startswith("{")]


def test_d3_run_out_elsewhere_records_the_md5_of_its_own_files(dvc_env_run):
    out, events = dvc_env_run
    recorded = json.loads((out / "run_summary.json").read_text())["dvc_md5"]
    ignore = dvcignore_patterns(PROJECT_ROOT)
    files = set()
    for stage, kinds in recorded.items():
        for path, md5 in {**kinds["deps"], **kinds["outs"]}.items():
            file = (out / path.removeprefix("outputs/") if path.startswith("outputs/")
                    else PROJECT_ROOT / path)
            assert md5 == (dvc_md5(file, ignore)["md5"] if file.exists() else None), (stage,
                                                                                       path)
            files.add(file)
    # Nothing from the lock; each distinct path hashed once (the minimal run writes them all).
    (event,) = [e for e in events if e["event"] == "dvc_md5_recorded"]
    assert (event["from_lock"], event["hashed"]) == (0, len(files))
    # The committed dvc.lock (the shipped inputs) holds another metrics.json than this run's.
    locked = read_dvc_lock(ROOT / "dvc.lock").stages["consolidate"]["outputs/metrics.json"]
    assert recorded["consolidate"]["outs"]["outputs/metrics.json"] != locked["md5"]
