"""Ward statistics, one concept per module.

``geography`` (LSOA -> ward, points -> ward, overlaps), ``deprivation`` (ward IMD), ``incidents``
(categories and counts by ward), ``rates`` (the ward table: ``ward_rates``, ``ward_table``),
``model`` (the deprivation model and its leave-one-out refits), ``outliers`` (flags, the combined
report and ``ward_outliers``), ``funnel``, ``autocorrelation`` (Moran's I, Gi*), ``disclosure``.
"""
