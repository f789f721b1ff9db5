"""The benchmark scripts' own logic: mode coverage (smoke run, trajectory, figure) and the Fashion report merge."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch

from .conftest import REPO


def load_script(monkeypatch, name: str):
    """benchmarks/<name>.py as a module (benchmarks/ is not a package; its scripts import each other)."""
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def mode_coverage(monkeypatch):
    return load_script(monkeypatch, "mode_coverage")


def test_fashion_report_merges_earlier_sessions_runs(monkeypatch, tmp_path):
    xicfg_fashion = load_script(monkeypatch, "xicfg_fashion")
    earlier = tmp_path / "first.json"
    earlier.write_text(
        json.dumps(
            {
                "date": "2026-12-06",
                "cpu": "cpu A",
                "matmul_peak_gflops": 300.0,
                "runs": [{"run": "xicfg-s0", "steps": 1}, {"run": "wgan-gp-s0", "steps": 2}],
            }
        )
    )
    runs = xicfg_fashion.merge_runs([{"run": "xicfg-s0", "steps": 9}, {"run": "xicfg-s1", "steps": 3}], [earlier])
    assert [entry["run"] for entry in runs] == ["wgan-gp-s0", "xicfg-s0", "xicfg-s1"]
    assert runs[1]["steps"] == 9  # measured now wins over the earlier entry of the same run
    assert runs[0]["measured"] == {"date": "2026-12-06", "cpu": "cpu A", "matmul_peak_gflops": 300.0}
    assert "measured" not in runs[2]


def test_trajectory_ends_at_the_final_measurement(mode_coverage, tmp_path):
    """--eval-every records the EMA generator every N steps; its last row is the run's final result."""
    out, figure = tmp_path / "runs.json", tmp_path / "trajectory.png"
    argv = ["--quick", "--data", "ring-8", "--losses", "non-saturating", "--eval-every", "5"]
    mode_coverage.main([*argv, "--json", str(out), "--trajectory-figure", str(figure)])
    report = json.loads(out.read_text())
    run = report["runs"][0]
    assert report["cpu"]
    assert [row["step"] for row in run["trajectory"]] == [5, 10, 15, 20]
    last = run["trajectory"][-1]
    for key in ("modes", "high_quality", "near_miss", "off_mode", "spread_ratio"):
        assert last[key] == run[key], key
    assert figure.stat().st_size > 0 and figure.read_bytes()[:4] == b"\x89PNG"


def test_merged_runs_keep_their_trajectories(mode_coverage, tmp_path):
    """Runs split over processes merge into one summary, and their trajectories into one figure."""
    argv = ["--quick", "--data", "ring-8", "--losses", "non-saturating", "--eval-every", "10"]
    for seed in (0, 1):
        panels = ["--figure", str(tmp_path / "samples.png")] if seed == 0 else []
        mode_coverage.main([*argv, *panels, "--first-seed", str(seed), "--json", str(tmp_path / f"seed{seed}.json")])
    figure, redrawn = tmp_path / "merged.png", tmp_path / "redrawn.png"
    parts = [str(tmp_path / "seed0.json"), str(tmp_path / "seed1.json")]
    # seed 1 as a process given its own core writes it (--threads 1): the thread count is not a setting that
    # changes what is measured, so it merges; another step count is, and does not
    report = json.loads((tmp_path / "seed1.json").read_text())
    (tmp_path / "seed1.json").write_text(json.dumps({**report, "settings": {**report["settings"], "threads": 1}}))
    (tmp_path / "other.json").write_text(json.dumps({**report, "settings": {**report["settings"], "steps": 7}}))
    with pytest.raises(SystemExit, match="different settings"):
        mode_coverage.main(["--merge", parts[0], str(tmp_path / "other.json")])
    outputs = ["--json", str(tmp_path / "all.json"), "--trajectory-figure", str(figure), "--figure", str(redrawn)]
    merged = mode_coverage.main(["--merge", *parts, *outputs])
    assert [run["seed"] for run in merged["runs"]] == [0, 1] and merged["summary"][0]["modes_per_seed"]
    assert all(len(run["trajectory"]) == 2 for run in merged["runs"]) and figure.is_file()
    # the first seed kept its 500 samples, so the merged results redraw the samples picture
    assert len(merged["runs"][0]["samples"]) == 500 and "samples" not in merged["runs"][1]
    assert redrawn.read_bytes()[:4] == b"\x89PNG"
    plain = mode_coverage.main(["--quick", "--data", "ring-8", "--losses", "non-saturating", "--json", parts[0]])
    assert "trajectory" not in plain["runs"][0]
    with pytest.raises(SystemExit, match="no trajectory"):
        mode_coverage.main(["--merge", parts[0], "--trajectory-figure", str(figure)])
    with pytest.raises(SystemExit, match="no run kept its samples"):
        mode_coverage.main(["--merge", parts[0], "--figure", str(redrawn)])


def test_trajectory_options_are_checked(mode_coverage):
    """A trajectory figure without --eval-every, or a negative interval, is a usage error."""
    with pytest.raises(SystemExit):
        mode_coverage.parse_args(["--trajectory-figure", "t.png"])
    with pytest.raises(SystemExit):
        mode_coverage.parse_args(["--eval-every", "-1"])


def test_compare_tabulates_settings_side_by_side(mode_coverage, tmp_path, capsys):
    """--compare reads result files of different settings into one table and a figure with a row per setting."""
    argv = ["--quick", "--data", "ring-8", "--losses", "non-saturating", "--figure", str(tmp_path / "s.png")]
    for k in (0, 1):
        mode_coverage.main([*argv, "--method", "unrolled", "--method-option", f"unroll_steps={k}",
                            "--json", str(tmp_path / f"k{k}.json")])  # fmt: skip
    figure = tmp_path / "compare.png"
    groups = [f"K={k}={tmp_path / f'k{k}.json'}" for k in (0, 1)]
    result = mode_coverage.main(["--compare", *groups, "--figure", str(figure)])
    assert [row["setting"] for row in result["rows"]] == ["K=0", "K=1"]
    assert all(row["data"] == "ring-8" and len(row["modes_per_seed"]) == 1 for row in result["rows"])
    assert "| K=1 | ring-8 |" in capsys.readouterr().out
    assert figure.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(SystemExit, match="LABEL=PATH"):
        mode_coverage.main(["--compare", "no-label-here"])
    with pytest.raises(SystemExit, match="no result file"):
        mode_coverage.main(["--compare", f"K=9={tmp_path / 'missing.json'}"])


def test_fsr_report_gathers_the_modes_of_the_same_budget(monkeypatch, tmp_path, capsys):
    """Modes trained by separate processes join one report, in the script's order; another budget is left out."""
    fsr_experiment = load_script(monkeypatch, "fsr_experiment")
    budget, config = {"level_steps": 3, "batch_size": 8, "loss": "default"}, {"image_size": 16}
    for mode, level_steps in (("joint", 3), ("layerwise", 3), ("random-frozen", 5)):
        summary = {"budget": {**budget, "level_steps": level_steps}, "config": config, "result": {"mode": mode}}
        (tmp_path / f"{mode}.summary.json").write_text(json.dumps(summary))
    gathered = fsr_experiment.gather(tmp_path, budget, config)
    assert list(gathered) == ["layerwise", "joint"]
    assert "random-frozen.summary.json: another budget" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore:fsr layerwise")  # 2-step runs end below the top level on purpose
def test_fsr_samples_show_each_modes_pyramid_and_samples_from_the_same_latents(monkeypatch, tmp_path):
    """A row per run: the first latent's levels upscaled (the last is sample 0 itself), a gap, then the samples."""
    import ganzoo

    fsr_experiment = load_script(monkeypatch, "fsr_experiment")
    tiny = {"z_dim": 8, "image_size": 16, "g_width": 4, "g_max": 16, "d_width": 4, "d_max": 16}
    images = torch.randint(0, 256, (16, 3, 16, 16), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    runs = {}
    for mode in ("joint", "layerwise"):
        runs[mode] = tmp_path / mode
        ganzoo.train("fsr", ganzoo.InMemoryData(images), method_options={"mode": mode}, steps=2, batch_size=4,
                     progress=False, device="cpu", out_dir=runs[mode], **tiny)  # fmt: skip
    rows = fsr_experiment.sample_rows(runs, n=3, seed=5)
    assert list(rows) == ["joint", "layerwise"]
    for mode, row in rows.items():
        samples = ganzoo.load(runs[mode]).sample(3, seed=5, output="numpy")  # [3, 16, 16, 3] uint8
        assert row.shape == (16, 3 * 16 + 4 + 3 * 16, 3) and row.dtype == np.uint8
        assert (row[:, 48:52] == 255).all()
        np.testing.assert_array_equal(row[:, 32:48], samples[0])  # the pyramid's top level is sample 0
        for k in range(3):
            np.testing.assert_array_equal(row[:, 52 + 16 * k : 68 + 16 * k], samples[k])
    assert not np.array_equal(rows["joint"][:, 52:], rows["layerwise"][:, 52:])
    path = fsr_experiment.samples_figure(runs, tmp_path, n=3)
    assert path.read_bytes()[:4] == b"\x89PNG"
