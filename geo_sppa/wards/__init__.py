"""Ward statistics: LSOA to ward, deprivation, incident rates, outliers, funnel, autocorrelation."""
