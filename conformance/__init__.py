"""kms-conformance: conformance suite and reference mocks for cloud KMS key life-cycle APIs."""

__version__ = "0.1.0"
