"""Build the optional compiled access-log scanner; everything else is in pyproject.toml.

`optional=True`: where no C compiler is available the install still succeeds and triage
falls back to the pure-polars parser (slower, same results).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "warroom.triage._scan",
            ["src/warroom/triage/_scan.c"],
            extra_compile_args=["-O3", "-std=c99", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
