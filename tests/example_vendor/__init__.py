"""Example KMS: a fourth vendor in one folder, registered by one entry-point line.

``tests/test_example_vendor.py`` registers it (a ``kms_conformance.vendors`` entry point in a
throw-away distribution on ``PYTHONPATH``) and runs the whole suite on it, proving that adding a
vendor needs this folder and nothing else: a three-operation spec, a profile, a catalogue, a mock.
"""

from pathlib import Path

from conformance.vendors import Vendor

VENDOR = Vendor(name="example", package=__name__, spec=Path(__file__).parent / "spec.yaml")
