"""The external ABIS: the MOSIP ABIS interface over RabbitMQ (adapter, signed URLs, reference ABIS)."""
