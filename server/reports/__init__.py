"""Weekly, monthly and yearly reports for the mayor.

periods.py parses 2026-W47 / 2026-11 / 2026 into Asia/Jakarta boundaries;
figures.py computes every figure with SQL aggregates (a handful of scans, never
a Python loop over tickets); render.py turns the figures into HTML with inline
SVG charts (svg.py), CSV per table and a short text summary, in Indonesian or
English (i18n.py).
"""
