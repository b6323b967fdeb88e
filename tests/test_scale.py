"""At national scale: every Caf page runs as many SQL statements with 3 times the data."""
from bench.caf import load, pages, statements_per_request
from tests.conftest import _empty_tables


def test_no_caf_page_runs_more_statements_with_more_data(database_url, migrated_engine, tmp_path):
    env = {"SURVEY_SECRET_KEY": "test-secret", "SURVEY_UPLOAD_DIR": str(tmp_path / "uploads")}
    counts = []
    for size in (60, 180):
        _empty_tables(migrated_engine)
        data = load(database_url, size, campaigns=3)
        counts.append(statements_per_request(database_url, env, data))
    _empty_tables(migrated_engine)
    small, large = counts
    assert set(small) == {name for name, *_ in pages(data)}
    assert {name: large[name] for name in small if large[name] != small[name]} == {}, (small, large)
    # The reminder preview does meet responses asked for a correction (planned and new), whose delay it reads.
    assert small["reminder preview, national"] > 0
