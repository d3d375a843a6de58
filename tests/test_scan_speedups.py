"""Faster paths of the site scan give what the simple per-site code gave."""

import pandas as pd
import pytest

from geo_sppa.roads.scan import _label_indexes
from geo_sppa.roads.sites import counts_by_year


@pytest.mark.parametrize(
    "lists",
    [[[3, 1], [], [7]], [["a", "b"], ["c"]], [[], []], [], [[1, "x"], [2]]],
    ids=["ints with an empty site", "strings", "all empty", "no sites", "mixed"],
)
def test_label_indexes_match_one_index_per_list(lists):
    """Each site's labels come back as ``pd.Index(labels)`` would build them, dtype included."""
    got = _label_indexes(lists)
    assert [repr(i) for i in got] == [repr(pd.Index(m)) for m in lists]


def test_counts_by_year_drops_years_outside_the_span():
    """Collisions outside the years are not counted; sites with none get zeros."""
    frame = pd.DataFrame({"year": [2019, 2020, 2020, 2018]}, index=[10, 11, 12, 13])
    table = counts_by_year([pd.Index([10, 11, 13]), pd.Index([])], frame, (2019, 2020), "n_")
    assert table.to_dict("list") == {"n_2019": [1, 0], "n_2020": [1, 0]}
    assert str(table["n_2019"].dtype) == "int64"
