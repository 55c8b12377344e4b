"""The conformance checks, written once against the vendor-profile interface.

``test_state_machine``: every row of the profile's state table.
``test_probes``: one changed thing per request (auth, validation, 404 vs 400, shapes).
``test_generated``: Schemathesis cases for every selected operation of the spec.
"""
