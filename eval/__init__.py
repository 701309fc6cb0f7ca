"""eval: offline evaluation suites (datasets, one module per metric, runner, reports).

Empty until the evaluation harness lands (issue 4); the package exists so the layout is fixed.
"""

__all__: list[str] = []
