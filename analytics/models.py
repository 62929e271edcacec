# Rollups and reports behind the dashboard.
