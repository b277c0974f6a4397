"""The one thing pyproject.toml cannot say: the optional C extension.

``consent_mw.html._speedups`` takes the HTML rewriter's pass-through steps in C
(one function, ``skim``). It is optional: where it does not compile, the install
goes on and its pure-Python twin, ``consent_mw/html/_pure.py``, takes the same
steps with the same results (``CONSENT_MW_PURE_PYTHON=1`` asks for that too).
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
