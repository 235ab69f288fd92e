"""Participatory budgets (issue 6): budgets, projects, race-proof ballots, outcomes by a declared rule.

This package's `__init__` imports nothing, so that the pure outcome rules in `budgets.outcomes`
(`python -m budgets.outcomes recompute FILE.pb`) run with the standard library alone. The Flask
component is registered by `budgets.component`, listed in `COMPONENTS` as "budgets.component".
"""
