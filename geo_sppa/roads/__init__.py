"""Road safety: cluster rules, time windows, the radius and network scans, site names, costs."""
