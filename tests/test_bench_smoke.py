"""Each benchmark runs on tiny inputs and reports without errors (figures are not asserted)."""
import pytest

from bench import exports, overhead, rush


@pytest.mark.parametrize("bench, args", [
    (overhead, ["--seconds", "0.5", "--rounds", "1", "--threads", "1", "--database", "sqlite"]),
    (rush, ["--partners", "2", "--levels", "1,2", "--workers", "1", "--database", "sqlite"]),
    (exports, ["--sizes", "20,40", "--database", "sqlite"]),
])
def test_benchmark_runs_on_tiny_inputs(bench, args, capsys):
    assert bench.main(args) == 0
    output = capsys.readouterr().out
    assert "cores" in output and "errors" not in output.lower().replace("errors 0", "").replace("errors: 0", "")


def test_the_profiler_runs_a_journey_in_its_own_process():
    import subprocess
    import sys
    # Its own process: it configures the application through the environment.
    from bench.common import ROOT
    result = subprocess.run([sys.executable, "-m", "bench.profile", "--partners", "1", "--database", "sqlite", "--no-profile"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "1 journeys, per journey" in result.stdout and "POST transmit" in result.stdout
