"""aws-connector-wizard: prepare AWS for a certificate-lifecycle connector, exactly."""

__version__ = "0.1.0"
