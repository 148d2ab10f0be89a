"""The read side: every number shown to people, computed in one place.

The API's stats endpoints and the dashboard call these functions; a router or a view never
computes a KPI. Each function takes a `Scope` (a workspace, optionally one program, a period of
business-time days) and returns frozen dataclasses. They read the tables with aggregate queries
for now; rollups maintained from domain events can replace their insides later without
changing their signatures. The definitions are in docs/analytics.md (and `definitions.py`,
shown on the Overview page).
"""
