"""The one thing pyproject.toml cannot say: the optional C extension.

``consent_mw.html._speedups`` takes the HTML rewriter's pass-through steps in C.
It is optional: where it does not compile, the install goes on and the same
steps run in Python
(``CONSENT_MW_PURE_PYTHON=1`` asks for that too).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "consent_mw.html._speedups",
            sources=["src/consent_mw/html/_speedups.c"],
            optional=True,
        )
    ]
)
