"""Socket.IO handlers: transport only (authenticate, validate, call the service, ack, emit)."""
