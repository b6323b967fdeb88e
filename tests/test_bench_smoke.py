"""Each benchmark runs on tiny inputs and reports without errors (figures are not asserted)."""
import pytest

from bench import caf, exports, mail_senders, overhead, reading, rush


@pytest.mark.parametrize("bench, args", [
    (overhead, ["--seconds", "0.5", "--rounds", "1", "--threads", "1", "--database", "sqlite"]),
    (rush, ["--partners", "2", "--levels", "1,2", "--workers", "1", "--database", "sqlite"]),
    (exports, ["--sizes", "20,40", "--database", "sqlite"]),
    (caf, ["--sizes", "60,120", "--requests", "1", "--levels", "1,2", "--workers", "1", "--database", "sqlite"]),
    (reading, ["--sizes", "20", "--database", "sqlite"]),
    (mail_senders, ["--sent", "200", "--pending", "100", "--projects", "10", "--database", "sqlite"]),
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
    assert "  receipt        n=   1" in result.stdout  # sent to the SMTP server, checked there


def test_the_rush_reads_each_kind_of_request_back_from_the_servers_log(capsys):
    assert rush.main(["--partners", "2", "--levels", "1", "--workers", "1", "--slices", "1", "--database", "sqlite"]) == 0
    output = capsys.readouterr().out
    for kind, count in (("GET page", 16), ("POST page", 14), ("POST page + file", 2), ("POST transmit", 2),
                        ("open link", 2), ("GET summary", 2)):
        line = next(line for line in output.splitlines() if line.startswith(f"  {kind:18} n="))
        assert f"n={count:5}" in line
        server_p50 = float(line.split("in the server: p50")[1].split("ms")[0])
        assert server_p50 > 0, line  # a time read from gunicorn's log, for every kind


def test_an_a_a_rush_serves_the_engine_twice_and_checks_both_servers_receipts(capsys):
    assert rush.main(["--partners", "2", "--levels", "1", "--workers", "1", "--against", "engine", "--against-workers", "2",
                      "--slices", "1", "--database", "sqlite"]) == 0
    output = capsys.readouterr().out
    assert "gunicorn 1 workers each (engine-b 2)" in output
    assert "database check: OK, 20 transmitted" in output  # 2 measured + 8 warm-up journeys per server
    assert "  engine-b c= 1" in output and "ratio engine / engine-b at c=1:" in output


def test_the_caf_benchmark_measures_every_page_and_counts_its_statements(capsys):
    assert caf.main(["--sizes", "60,120", "--requests", "1", "--levels", "1", "--workers", "1", "--threads", "2",
                     "--database", "sqlite"]) == 0
    output = capsys.readouterr().out
    assert "SQL statements per request equal at every size" in output
    assert "gunicorn 1 workers x 2 threads" in output and "MiB PSS" in output
    for name, *_ in caf.pages(caf.Data()):
        lines = [line for line in output.splitlines() if line.startswith(f"  {name:36} ")]
        assert len(lines) == 2, name  # one per size
        assert all(int(line[2 + 36:].split()[0]) > 0 for line in lines), lines  # statements counted
