"""Channel adapters: each turns its platform's payload into an InboundMessage and renders replies."""
